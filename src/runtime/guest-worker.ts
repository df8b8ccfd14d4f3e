/**
 * Entry point of a guest worker thread: instantiates the program with the WASI imports wired to
 * the deputy's channel, runs `_start`, and reports how it ended.
 */
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { OsmoError } from '../core/errors.js';
import { Errno, errnoName, MODULE_NAME } from '../wasi/abi.js';
import { createWasiImports } from '../wasi/imports.js';
import type { GuestContext, SyscallTracer } from '../wasi/imports.js';
import { ChannelClient, ChannelStopped } from './channel.js';
import { createChannelPort } from './channel-port.js';
import { withDirectWrites } from './direct-writes.js';
import { createGuestClocks } from './guest-clocks.js';
import type { GuestOutcome, GuestStart } from './guest-messages.js';
import { signalInfo } from './signals.js';
import { describeTrap } from './trap.js';

/** Thrown to unwind the guest's stack when it ends itself. */
class GuestEnd extends Error {
  constructor(readonly outcome: GuestOutcome) {
    super(outcome.kind);
  }
}

function run(start: GuestStart): GuestOutcome {
  const client = new ChannelClient(start.channel);
  const port = withDirectWrites(createChannelPort(client), client.layout.control);
  const clocks = createGuestClocks(start.clocks);
  const ctx: GuestContext = {
    args: start.args,
    env: start.env,
    clockTime: (id) => clocks.time(id),
    clockResolution: (id) => clocks.resolution(id),
    randomFill(dest) {
      // getRandomValues takes at most 64 KiB at a time.
      for (let off = 0; off < dest.length; off += 65536) {
        crypto.getRandomValues(dest.subarray(off, Math.min(dest.length, off + 65536)));
      }
    },
    sleep(ns) {
      const until = process.hrtime.bigint() + ns;
      for (;;) {
        const left = until - process.hrtime.bigint();
        if (left <= 0n) return;
        client.sleep(Number(left) / 1e6);
      }
    },
    exit(code) {
      throw new GuestEnd({ kind: 'exit', code });
    },
    raise(signal) {
      if (signal === 0) return Errno.SUCCESS;
      const info = signalInfo(signal);
      if (info === undefined) return Errno.INVAL;
      if (info.action === 'ignore') return Errno.SUCCESS;
      throw new GuestEnd({ kind: 'signal', signal: info.name, posix: info.posix });
    },
  };
  const tracer: SyscallTracer | undefined = start.strace
    ? {
        now: () => process.hrtime.bigint(),
        record(name, args, errno, ns) {
          const shown = args.map((a) => (typeof a === 'bigint' ? `${a}` : String(a))).join(', ');
          const result = errno < 0 ? '' : ` = ${errno} ${errnoName(errno)}`;
          writeSync(
            2,
            `[strace] ${name}(${shown})${result} <${(Number(ns) / 1e3).toFixed(1)} µs>\n`,
          );
        },
      }
    : undefined;

  // The imports need the memory, which exists only once the instance does.
  const bound: { memory?: WebAssembly.Memory } = {};
  const imports = createWasiImports(
    port,
    ctx,
    () => {
      if (bound.memory === undefined)
        throw new OsmoError('E_INTERNAL', 'guest memory used before instantiation');
      return bound.memory;
    },
    tracer,
  );
  const instance = new WebAssembly.Instance(start.module, { [MODULE_NAME]: imports });
  bound.memory = instance.exports.memory as WebAssembly.Memory;
  const entry = instance.exports._start as () => void;
  try {
    entry();
    return { kind: 'exit', code: 0 };
  } catch (error) {
    if (error instanceof GuestEnd) return error.outcome;
    if (error instanceof ChannelStopped) return { kind: 'exit', code: 0 }; // the deputy decided the outcome
    if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError)
      return describeTrap(error);
    throw error;
  }
}

const port = parentPort;
if (port === null) throw new Error('guest-worker must run in a worker thread');
// The worker may be started before its program is known (worker-pool.ts): wait for it.
port.once('message', (start: GuestStart) => {
  let outcome: GuestOutcome;
  try {
    outcome = run(start);
  } catch (error) {
    outcome = {
      kind: 'error',
      error:
        error instanceof OsmoError
          ? error.toJSON()
          : { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) },
    };
  }
  port.postMessage(outcome);
});
