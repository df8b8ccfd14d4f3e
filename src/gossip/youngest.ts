/**
 * The k youngest entries of a vector, kept incrementally so building a fixed window costs O(k)
 * instead of a scan over all n entries every interval.
 *
 * Why incremental upkeep is exact: an entry's birth time only ever grows (an update is accepted
 * only if newer), and entries leave the vector only by expiring, i.e. by being the oldest. So an
 * entry that falls out of the top k can never need to come back without a new offer, and when
 * the tail of the list expires every entry outside it has expired too.
 */
/** Below this many entries a loop moves them faster than copyWithin's call (fixed windows). */
const BLOCK_MOVE_MIN = 32;

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
    // test too: failing it proves the slot is absent and lets most offers skip the search.
    if (len === cap && !(birth > births[len - 1]!)) return;
    let present = 0;
    while (present < len && slots[present] !== slot) present++;
    if (present < len) {
      // Close the gap; it is re-inserted at its new, younger position below.
      this.shift(present + 1, len, -1);
      len--;
    } else if (len === cap) {
      len--; // Evict the oldest.
    }
    // Births are sorted descending: the new one goes before the first older one (binary search,
    // and block moves: a threshold window's list may hold up to 256 entries).
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (births[mid]! < birth) hi = mid;
      else lo = mid + 1;
    }
    this.shift(lo, len, 1);
    slots[lo] = slot;
    births[lo] = birth;
    payloads[lo] = payload;
    this.len = len + 1;
  }

  /** Moves entries [from, to) by `by` places (±1): element by element when few, else in blocks. */
  private shift(from: number, to: number, by: 1 | -1): void {
    if (from >= to) return;
    const slots = this.slots;
    const births = this.births;
    const payloads = this.payloads;
    const blocks = to - from > BLOCK_MOVE_MIN;
    if (blocks) {
      slots.copyWithin(from + by, from, to);
      births.copyWithin(from + by, from, to);
    }
    if (by > 0) {
      for (let k = to; k > from; k--) {
        if (!blocks) {
          slots[k] = slots[k - 1]!;
          births[k] = births[k - 1]!;
        }
        payloads[k] = payloads[k - 1];
      }
    } else {
      for (let k = from; k < to; k++) {
        if (!blocks) {
          slots[k - 1] = slots[k]!;
          births[k - 1] = births[k]!;
        }
        payloads[k - 1] = payloads[k];
      }
    }
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
