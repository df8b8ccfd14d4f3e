/**
 * Instrumentation in a worker thread of its own (./instrument-worker.ts), so that the thread
 * asking for it stays free for its event loop: binaryen takes seconds of CPU per module.
 */
import { Worker } from 'node:worker_threads';
import { OsmoError } from '../core/errors.js';
import type { SerializedError } from '../core/errors.js';

export interface InstrumentJob {
  bytes: Uint8Array;
  tickInterval: number;
}

export type InstrumentReply = { bytes: Uint8Array; ms: number } | { error: SerializedError };

/** The instrumented module and binaryen's time, or the instrumenter's error (OsmoError). */
export function instrumentOffThread(
  job: InstrumentJob,
): Promise<{ bytes: Uint8Array; ms: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./instrument-worker.js', import.meta.url), {
      workerData: job,
      stdout: false,
      stderr: false,
    });
    let replied = false;
    worker.once('message', (reply: InstrumentReply) => {
      replied = true;
      if ('error' in reply) reject(OsmoError.fromJSON(reply.error));
      else resolve(reply);
    });
    worker.once('error', (error) => {
      replied = true;
      reject(new OsmoError('E_INTERNAL', `the instrumenter's thread failed: ${error.message}`));
    });
    worker.once('exit', (code) => {
      if (!replied)
        reject(
          new OsmoError(
            'E_INTERNAL',
            `the instrumenter's thread ended (code ${code}) without an answer`,
          ),
        );
    });
  });
}
