/** A node as the balancing policy sees it, for tests: one reference CPU, 8 of 16 GiB free. */
import type { NodeView } from '../../src/balance/policy.js';

export const GB = 2 ** 30;

export function nodeView(name: string, runQueue: number, over: Partial<NodeView> = {}): NodeView {
  return {
    name,
    cpus: 1,
    speed: 10_000,
    runQueue,
    freeMemBytes: 8 * GB,
    totalMemBytes: 16 * GB,
    accepting: true,
    ...over,
  };
}
