/**
 * The k youngest entries of a vector, kept incrementally so building a fixed window costs O(k)
 * instead of a scan over all n entries every interval.
 *
 * Why incremental upkeep is exact: an entry's birth time only ever grows (an update is accepted
 * only if newer), and entries leave the vector only by expiring, i.e. by being the oldest. So an
 * entry that falls out of the top k can never need to come back without a new offer, and when
 * the tail of the list expires every entry outside it has expired too.
 */
export class YoungestList<T> {
  private readonly slots: Int32Array;
  /**
   * The entry's payload (its record), kept here so building a window reads only this small,
   * cache-resident list and never the big per-slot arrays.
   */
  private readonly payloads: (T | undefined)[];
  /** Birth times (ms, on the owner's clock), sorted descending: index 0 is the youngest. */
  private readonly births: Float64Array;
  private len = 0;

  constructor(readonly capacity: number) {
    this.slots = new Int32Array(capacity);
    this.births = new Float64Array(capacity);
    this.payloads = new Array<T | undefined>(capacity).fill(undefined);
  }

  get length(): number {
    return this.len;
  }

  slotAt(i: number): number {
    return this.slots[i] ?? -1;
  }

  payloadAt(i: number): T | undefined {
    return this.payloads[i];
  }

  birthAt(i: number): number {
    return this.births[i] ?? -Infinity;
  }

  /** Tells the list that `slot` now has birth time `birth` (larger than any earlier offer). */
  offer(slot: number, birth: number, payload: T): void {
    const cap = this.capacity;
    if (cap === 0) return;
    const slots = this.slots;
    const births = this.births;
    const payloads = this.payloads;
    let len = this.len;
    // A slot already in the list had an older birth ≥ the tail, so its new birth passes this
    // test too: failing it proves the slot is absent and lets most offers skip the scan.
    if (len === cap && !(birth > births[len - 1]!)) return;
    let i = 0;
    while (i < len && slots[i] !== slot) i++;
    if (i < len) {
      // Already present: close the gap, then re-insert at its new, younger position.
      for (; i < len - 1; i++) {
        slots[i] = slots[i + 1]!;
        births[i] = births[i + 1]!;
        payloads[i] = payloads[i + 1];
      }
      len--;
    } else if (len === cap) {
      len--; // Evict the oldest.
    }
    let j = len;
    while (j > 0 && births[j - 1]! < birth) {
      slots[j] = slots[j - 1]!;
      births[j] = births[j - 1]!;
      payloads[j] = payloads[j - 1];
      j--;
    }
    slots[j] = slot;
    births[j] = birth;
    payloads[j] = payload;
    this.len = len + 1;
  }

  /** Drops entries born before `oldestBirth` (expired); they are at the tail. */
  expire(oldestBirth: number): void {
    while (this.len > 0 && this.births[this.len - 1]! < oldestBirth)
      this.payloads[--this.len] = undefined;
  }

  /** Forgets `slot` entirely (administrative removal); the caller must refill from the vector. */
  remove(slot: number): boolean {
    const len = this.len;
    let i = 0;
    while (i < len && this.slots[i] !== slot) i++;
    if (i === len) return false;
    for (; i < len - 1; i++) {
      this.slots[i] = this.slots[i + 1]!;
      this.births[i] = this.births[i + 1]!;
      this.payloads[i] = this.payloads[i + 1];
    }
    this.payloads[len - 1] = undefined;
    this.len = len - 1;
    return true;
  }
}
