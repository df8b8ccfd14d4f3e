/**
 * How the demo ends early: a node or job failed (exit 1, one line naming which), or a signal
 * asked it to stop (128 + the signal's number). Every wait in the demo can be cut short by the
 * abort signal the SIGINT/SIGTERM/SIGHUP handlers raise.
 */

/** A node or a job failed: one line that names it. */
export class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

/** Stopped by a signal. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason as Error;
}

/** `promise`, or the abort reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined); // nobody waits for it any more
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
