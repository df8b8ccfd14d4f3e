/**
 * A guest worker started before it is needed. Booting a worker thread (its own Node realm and
 * module graph) takes ~50 ms; started first thing, it boots on the second core while the main
 * thread loads the CLI and compiles the program, which is what keeps warm start under 100 ms.
 * Deliberately light on imports: bin/osmo.js loads this before anything else.
 */
import { Worker } from 'node:worker_threads';

export const DEFAULT_GUEST_STACK_MB = 64;

let spare: Worker | undefined;

function newGuestWorker(stackSizeMb: number, forImages = false): Worker {
  return new Worker(new URL('./guest-worker.js', import.meta.url), {
    resourceLimits: { stackSizeMb },
    workerData: { forImages },
    stdout: false,
    stderr: false,
  });
}

/**
 * Starts a guest worker now, to be taken by the next {@link takeGuestWorker}. `forImages`: it
 * will most likely restore an image (a guest runner's), so it loads the image code while it
 * waits rather than when the image comes (guest-worker.ts).
 */
export function prestartGuestWorker(options: { forImages?: boolean } = {}): void {
  spare ??= newGuestWorker(DEFAULT_GUEST_STACK_MB, options.forImages);
}

/** The pre-started worker if its stack fits, else a new one. It waits for a GuestStart message. */
export function takeGuestWorker(stackSizeMb = DEFAULT_GUEST_STACK_MB): Worker {
  if (spare !== undefined && stackSizeMb === DEFAULT_GUEST_STACK_MB) {
    const w = spare;
    spare = undefined;
    return w;
  }
  return newGuestWorker(stackSizeMb);
}
