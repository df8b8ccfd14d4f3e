/**
 * Instruments one module off the main thread (./off-thread.ts): binaryen runs for seconds on a
 * program new to the cache, and the main thread of `osmo run` must go on answering its control
 * socket meanwhile (`osmo ps` lists the program as starting).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '../core/errors.js';
import { instrumentWith } from './instrument.js';
import { loadBinaryen } from './load-binaryen.js';
import type { InstrumentJob, InstrumentReply } from './off-thread.js';

const job = workerData as InstrumentJob;
let reply: InstrumentReply;
try {
  const made = instrumentWith(await loadBinaryen(), job.bytes, { tickInterval: job.tickInterval });
  reply = { bytes: made.bytes, ms: made.stats.ms };
} catch (error) {
  reply = { error: serializeError(error) };
}
// Copied, not transferred: a few MB at most, once per module.
parentPort?.postMessage(reply);
