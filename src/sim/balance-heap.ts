/**
 * A binary min-heap whose items know their position, so that any item can leave or change its
 * key in O(log n). The balancing simulator keeps the jobs of a node by finishing point and the
 * nodes by next completion this way: re-timing a node then costs no stale event in a queue.
 */
export interface HeapItem {
  heapPos: number;
}

export class IndexedHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return item.heapPos >= 0 && this.items[item.heapPos] === item;
  }

  push(item: T): void {
    this.items.push(item);
    item.heapPos = this.items.length - 1;
    this.up(item.heapPos);
  }

  remove(item: T): void {
    const i = item.heapPos;
    const last = this.items.pop()!;
    item.heapPos = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapPos = i;
    this.update(last);
  }

  /** Restores the order after `item`'s key changed. */
  update(item: T): void {
    this.up(item.heapPos);
    this.down(item.heapPos);
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.less(item, p)) break;
      items[i] = p;
      p.heapPos = i;
      i = parent;
    }
    items[i] = item;
    item.heapPos = i;
  }

  private down(i: number): void {
    const items = this.items;
    const item = items[i]!;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.less(child, item)) break;
      items[i] = child;
      child.heapPos = i;
      i = c;
    }
    items[i] = item;
    item.heapPos = i;
  }
}
