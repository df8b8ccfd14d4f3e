/** The real monotonic clock (never wall time: NTP steps must not age or rejuvenate entries). */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';

export const systemClock: Clock = { now: () => performance.now() };
