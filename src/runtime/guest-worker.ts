/**
 * Entry point of a guest worker thread: instantiates the program with the WASI imports wired to
 * the deputy's channel, runs `_start`, and reports how it ended.
 */
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { OsmoError } from '../core/errors.js';
import type { SerializedError } from '../core/errors.js';
import { Errno, errnoName, MODULE_NAME } from '../wasi/abi.js';
import { createWasiImports } from '../wasi/imports.js';
import type { GuestContext, SyscallTracer } from '../wasi/imports.js';
import { ChannelClient, ChannelStopped, Ctl } from './channel.js';
import type { GuestSyscalls } from '../wasi/guest-syscalls.js';
import { createChannelPort } from './channel-port.js';
import { withDirectWrites } from './direct-writes.js';
import { createGuestClocks } from './guest-clocks.js';
import type { GuestOutcome, GuestStart, ImagePlan, WorkerMessage } from './guest-messages.js';
import { restoreGuestImage, writeGuestImage } from './guest-image.js';
import { GuestPreemption, SuspendRequested } from './preemption.js';
import { readMarker } from '../instrument/contract.js';
import { TICK_MODULE } from '../instrument/contract.js';
import { signalInfo } from './signals.js';
import { describeTrap } from './trap.js';

/** Thrown to unwind the guest's stack when it ends itself. */
class GuestEnd extends Error {
  constructor(readonly outcome: GuestOutcome) {
    super(outcome.kind);
  }
}

async function run(start: GuestStart): Promise<GuestOutcome | undefined> {
  const client = new ChannelClient(start.channel);
  const port = countOutput(withDirectWrites(createChannelPort(client), client.layout.control));
  const clocks = createGuestClocks(start.clocks);
  const preemptible = readMarker(start.module) !== undefined;
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
        // Woken for a suspension: unwind out of this sleep (a rewind sleeps again).
        if (preemptible && Atomics.load(client.layout.control, Ctl.SUSPEND) !== 0) {
          throw new SuspendRequested();
        }
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
  const wasi = createWasiImports(
    port,
    ctx,
    () => {
      if (bound.memory === undefined)
        throw new OsmoError('E_INTERNAL', 'guest memory used before instantiation');
      return bound.memory;
    },
    tracer,
  );
  const marker = readMarker(start.module);
  const preemption = marker
    ? new GuestPreemption(marker, client.layout.control, (why) =>
        parent.postMessage({
          kind: 'image-failed',
          error: { code: 'E_MEMORY_LIMIT', message: why },
        } satisfies WorkerMessage),
      )
    : undefined;
  const imports: WebAssembly.Imports = preemption
    ? { [MODULE_NAME]: preemption.wrapImports(wasi), [TICK_MODULE]: preemption.tickImports() }
    : { [MODULE_NAME]: wasi };
  const instance = new WebAssembly.Instance(start.module, imports);
  const memory = instance.exports.memory as WebAssembly.Memory;
  bound.memory = memory;
  preemption?.attach(instance);
  if (preemption && start.checkpointAtTicks !== undefined)
    preemption.suspendAtTicks(start.checkpointAtTicks);
  if (start.restoreFrom !== undefined) {
    if (!preemption)
      throw new OsmoError(
        'E_BAD_WASM',
        'only a preemptible (instrumented) program can be restored',
      );
    const counters = restoreGuestImage(start.restoreFrom, start.moduleHash, memory, preemption);
    output.stdout = counters.stdoutBytes ?? 0n;
    output.stderr = counters.stderrBytes ?? 0n;
    parent.postMessage({ kind: 'restored' } satisfies WorkerMessage);
  }
  const entry = instance.exports._start as () => void;
  for (;;) {
    try {
      entry();
    } catch (error) {
      if (error instanceof GuestEnd) return error.outcome;
      if (error instanceof ChannelStopped) return { kind: 'exit', code: 0 }; // the deputy decided the outcome
      if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError)
        return describeTrap(error);
      throw error;
    }
    if (!preemption?.unwound()) return { kind: 'exit', code: 0 };
    // Stopped at a suspension point: the deputy decides what happens to the image.
    parent.postMessage({
      kind: 'suspended',
      self: Atomics.load(client.layout.control, Ctl.SUSPEND) === 0,
    } satisfies WorkerMessage);
    const plan = await nextPlan();
    try {
      const written = await writeGuestImage(
        plan.file,
        memory,
        preemption,
        clocks,
        start.moduleHash,
        plan.deputy,
        { stdoutBytes: output.stdout, stderrBytes: output.stderr },
      );
      parent.postMessage({ kind: 'image-written', ...written } satisfies WorkerMessage);
      if (plan.then === 'stop') return undefined;
    } catch (error) {
      // Disk full or the like: the program goes on as if nothing happened.
      parent.postMessage({ kind: 'image-failed', error: serialize(error) } satisfies WorkerMessage);
    }
    preemption.rewindInPlace();
  }
}

/** Bytes the program has written to stdout and stderr (recorded in images: tests compare output). */
const output = { stdout: 0n, stderr: 0n };

function countOutput(port: GuestSyscalls): GuestSyscalls {
  const write = port.fdWrite.bind(port);
  port.fdWrite = (fd, data) => {
    const r = write(fd, data);
    if (r.ok && fd === 1) output.stdout += BigInt(r.value);
    if (r.ok && fd === 2) output.stderr += BigInt(r.value);
    return r;
  };
  return port;
}

function serialize(error: unknown): SerializedError {
  return error instanceof OsmoError
    ? error.toJSON()
    : { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

const parentOrNull = parentPort;
if (parentOrNull === null) throw new Error('guest-worker must run in a worker thread');
const parent = parentOrNull;

/** The deputy's next ImagePlan (the worker's JS is free while its program is unwound). */
function nextPlan(): Promise<ImagePlan> {
  return new Promise((resolve) => parent.once('message', (plan: ImagePlan) => resolve(plan)));
}

// The worker may be started before its program is known (worker-pool.ts): wait for it.
parent.once('message', (start: GuestStart) => {
  run(start).then(
    (outcome) => parent.postMessage(outcome ?? ({ kind: 'stopped' } satisfies WorkerMessage)),
    (error: unknown) =>
      parent.postMessage({ kind: 'error', error: serialize(error) } satisfies WorkerMessage),
  );
});
