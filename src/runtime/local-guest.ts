/**
 * Runs a guest in a worker thread of this process, serving its system calls on this thread's
 * event loop through the SharedArrayBuffer channel (docs/adr/0001-process-model.md).
 */
import { OsmoError } from '../core/errors.js';
import type { RequestHandler } from './channel.js';
import { ChannelServer, createChannelBuffer, layoutOf } from './channel.js';
import { DirectWriteGrants, revokingHandler } from './direct-writes.js';
import type { ClockOrigins } from './guest-clocks.js';
import type { GuestOutcome, GuestStart } from './guest-messages.js';
import { takeGuestWorker } from './worker-pool.js';

export interface LocalGuestOptions {
  module: WebAssembly.Module;
  args: string[];
  env: string[];
  handler: RequestHandler;
  clocks?: ClockOrigins;
  strace?: boolean;
  /** Let the guest thread write stdout/stderr itself (direct-writes.ts); default true. */
  directStdioWrites?: boolean;
  /** Native stack of the guest thread; deep recursion needs more than Node's default. */
  stackSizeMb?: number;
}

export interface LocalGuest {
  /** Settles when the guest ends, however it ends. */
  readonly outcome: Promise<GuestOutcome>;
  /** Stops the guest at once (signals); the outcome then settles as given. */
  kill(outcome: GuestOutcome): Promise<void>;
}

export function startLocalGuest(options: LocalGuestOptions): LocalGuest {
  const sab = createChannelBuffer();
  let settle: (o: GuestOutcome) => void = () => undefined;
  const outcome = new Promise<GuestOutcome>((resolve) => {
    settle = resolve;
  });
  let settled = false;
  const finish = (o: GuestOutcome): void => {
    if (settled) return;
    settled = true;
    server.stop();
    settle(o);
  };
  const grants = new DirectWriteGrants(layoutOf(sab).control);
  if (options.directStdioWrites ?? true) grants.grantStdio();
  const server = new ChannelServer(sab, revokingHandler(options.handler, grants), (error) =>
    finish({ kind: 'error', error: toSerialized(error) }),
  );
  const start: GuestStart = {
    module: options.module,
    channel: sab,
    args: options.args,
    env: options.env,
    clocks: options.clocks ?? { monotonicOffsetNs: 0n, cpuOffsetNs: 0n },
    strace: options.strace ?? false,
  };
  const worker = takeGuestWorker(options.stackSizeMb);
  worker.postMessage(start);
  worker.on('message', (o: GuestOutcome) => finish(o));
  worker.on('error', (error) => finish({ kind: 'error', error: toSerialized(error) }));
  worker.on('exit', (code) =>
    finish({
      kind: 'error',
      error: {
        code: 'E_INTERNAL',
        message: `guest thread ended without an outcome (exit ${code})`,
      },
    }),
  );
  server.start();
  return {
    outcome,
    async kill(o) {
      finish(o);
      await worker.terminate();
    },
  };
}

function toSerialized(
  error: unknown,
): { code: 'E_INTERNAL'; message: string } | ReturnType<OsmoError['toJSON']> {
  if (error instanceof OsmoError) return error.toJSON();
  return { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
