/**
 * A window that would not fit in one datagram is cut to the longest prefix that does: the own
 * entry first, then the youngest others, which are the ones a window exists to spread. A window
 * built by count (fixed) or by age (threshold) can outgrow the datagram limit when records are
 * long or, for a threshold window, when a cold start makes every entry young at once; sending
 * its youngest part keeps the node gossiping where dropping it would silence it.
 */
import { encodeWindow } from './codec.js';
import type { WindowMessage } from './types.js';

export interface FittedWindow {
  readonly bytes: Uint8Array;
  /** Entries sent, the own entry included (fewer than the window had when it was cut). */
  readonly kept: number;
}

/** The window encoded within `maxBytes`, cut if need be; undefined if not even the own entry fits. */
export function encodeWindowWithin(
  message: WindowMessage,
  maxBytes: number,
): FittedWindow | undefined {
  const whole = encodeWindow(message);
  if (whole.length <= maxBytes) return { bytes: whole, kept: message.records.length };
  const prefix = (k: number): Uint8Array =>
    encodeWindow({
      ...message,
      records: message.records.slice(0, k),
      agesMs: Array.from(message.agesMs).slice(0, k),
    });
  // Encoded size grows with k: the largest k that fits, by bisection (a rare path).
  let lo = 0;
  let hi = message.records.length - 1;
  let best: Uint8Array | undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    const bytes = prefix(mid);
    if (bytes.length <= maxBytes) {
      lo = mid;
      best = bytes;
    } else {
      hi = mid - 1;
    }
  }
  // No prefix fitted (lo is still 0): not even the own entry.
  return best === undefined ? undefined : { bytes: best, kept: lo };
}
