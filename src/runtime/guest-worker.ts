/**
 * Entry point of a guest worker thread: instantiates the program with the WASI imports wired to
 * the deputy's channel, runs `_start`, and reports how it ended.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { OsmoError, serializeError } from '../core/errors.js';
import { Errno, errnoName, MODULE_NAME } from '../wasi/abi.js';
import { createWasiImports } from '../wasi/imports.js';
import type { GuestContext, SyscallTracer } from '../wasi/imports.js';
import { ChannelClient, ChannelStopped, Ctl, noteMemorySize } from './channel.js';
import type { GuestSyscalls } from '../wasi/guest-syscalls.js';
import { createChannelPort } from './channel-port.js';
import { withDirectWrites } from './direct-writes.js';
import { createGuestClocks, originsAfterImage } from './guest-clocks.js';
import type {
  GuestOutcome,
  GuestStart,
  ImagePlan,
  ImageStreamMessage,
  WorkerMessage,
} from './guest-messages.js';
import type * as GuestImageCode from './guest-image.js';
import type { GuestImageParts } from './guest-image.js';
import type { ImageSink } from '../snapshot/index.js';
import { GuestPreemption, SuspendRequested } from './preemption.js';
import { readMarker } from '../instrument/contract.js';
import { TICK_MODULE } from '../instrument/contract.js';
import { signalInfo } from './signals.js';
import { ReentrySchedule } from './tier-up.js';
import { describeTrap } from './trap.js';

/**
 * The code that writes and reads images (a third of this thread's code, with node:zlib and
 * node:crypto), loaded when a program is first stopped or restored: most runs never stop, and
 * compiling it before the program starts cost warm start ~4 ms on the critical path
 * (BENCHMARKS.md, "Warm start"). A runner's worker, idle until an image comes, loads it at once
 * (worker-pool.ts `forImages`).
 */
let imageCode: Promise<typeof GuestImageCode> | undefined;
const loadImageCode = (): Promise<typeof GuestImageCode> =>
  (imageCode ??= import('./guest-image.js'));
if ((workerData as { forImages?: boolean } | undefined)?.forImages === true)
  void loadImageCode().catch(() => undefined); // a failure is reported where the code is used

/** Thrown to unwind the guest's stack when it ends itself. */
class GuestEnd extends Error {
  constructor(readonly outcome: GuestOutcome) {
    super(outcome.kind);
  }
}

async function run(start: GuestStart): Promise<GuestOutcome | undefined> {
  const client = new ChannelClient(start.channel);
  channel = client;
  const channelPort = createChannelPort(client);
  settleReadAhead = () => channelPort.settleReadAhead();
  const port = countOutput(withDirectWrites(channelPort, client.layout.control));
  // Replaced once an image streamed in tells where its clocks stood.
  let clocks = createGuestClocks(start.clocks);
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
          const line = `[strace] ${name}(${shown})${result} <${(Number(ns) / 1e3).toFixed(1)} µs>\n`;
          if (start.straceToHost === true) toHost({ kind: 'trace', line } satisfies WorkerMessage);
          else writeSync(2, line);
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
      noteMemorySize(client.layout.control, bound.memory);
      return bound.memory;
    },
    tracer,
  );
  const marker = readMarker(start.module);
  const preemption = marker
    ? new GuestPreemption(
        marker,
        client.layout.control,
        (why) =>
          toHost({
            kind: 'image-failed',
            error: { code: 'E_MEMORY_LIMIT', message: why },
          } satisfies WorkerMessage),
        start.reentry === true ? new ReentrySchedule(() => performance.now()) : undefined,
      )
    : undefined;
  const imports: WebAssembly.Imports = preemption
    ? { [MODULE_NAME]: preemption.wrapImports(wasi), [TICK_MODULE]: preemption.tickImports() }
    : { [MODULE_NAME]: wasi };
  const instance = new WebAssembly.Instance(start.module, imports);
  const memory = instance.exports.memory as WebAssembly.Memory;
  bound.memory = memory;
  noteMemorySize(client.layout.control, memory);
  preemption?.attach(instance);
  if (preemption && start.checkpointAtTicks !== undefined)
    preemption.suspendAtTicks(start.checkpointAtTicks);
  if (start.restoreFrom !== undefined || start.restoreStream === true) {
    if (!preemption)
      throw new OsmoError(
        'E_BAD_WASM',
        'only a preemptible (instrumented) program can be restored',
      );
    let counters: Record<string, bigint>;
    if (start.restoreFrom === undefined) {
      try {
        const { restoreGuestImageStream } = await loadImageCode();
        counters = await restoreGuestImageStream(
          () => mailbox.nextImageMessage(),
          start.moduleHash,
          memory,
          preemption,
        );
      } catch (error) {
        // Nothing ran: the host thread keeps the program where it was and ends this worker.
        toHost({
          kind: 'restore-failed',
          error: serializeError(error),
        } satisfies WorkerMessage);
        return undefined;
      }
      clocks = createGuestClocks(originsAfterImage(counters));
    } else {
      const { restoreGuestImage } = await loadImageCode();
      counters = restoreGuestImage(start.restoreFrom, start.moduleHash, memory, preemption);
    }
    output.stdout = counters.stdoutBytes ?? 0n;
    output.stderr = counters.stderrBytes ?? 0n;
    noteMemorySize(client.layout.control, memory); // the image's size, grown into the memory
    toHost({ kind: 'restored' } satisfies WorkerMessage);
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
    if (preemption.reentry()) continue; // for V8's optimised code (./tier-up.ts)
    // Stopped at a suspension point: the deputy decides what happens to the image. The code
    // for it loads meanwhile.
    void loadImageCode().catch(() => undefined);
    toHost({
      kind: 'suspended',
      self: Atomics.load(client.layout.control, Ctl.SUSPEND) === 0,
    } satisfies WorkerMessage);
    const parts = (deputy: unknown): GuestImageParts => ({
      memory,
      preemption,
      clocks,
      moduleHash: start.moduleHash,
      deputy,
      extraCounters: { stdoutBytes: output.stdout, stderrBytes: output.stderr },
    });
    if ((await heldUntilDecided(parts)) === 'stop') return undefined;
    preemption.rewindInPlace();
  }
}

/**
 * The program is stopped, its memory intact: carry out the deputy's plans until one says go on
 * ('resume') or end this worker ('stop').
 */
async function heldUntilDecided(
  parts: (deputy: unknown) => GuestImageParts,
): Promise<'resume' | 'stop'> {
  for (;;) {
    const plan = await mailbox.nextPlan();
    if (plan.kind === 'resume' || plan.kind === 'stop') return plan.kind;
    try {
      const { writeGuestImage, streamGuestImage } = await loadImageCode();
      const written =
        plan.kind === 'write-image'
          ? await writeGuestImage(plan.file, parts(plan.deputy))
          : await streamGuestImage(mailbox.pieceSink(), parts(plan.deputy));
      toHost({ kind: 'image-written', ...written } satisfies WorkerMessage);
      if (plan.kind === 'write-image' && plan.then !== 'hold') return plan.then;
    } catch (error) {
      // Disk full or the like: the program goes on as if nothing happened, unless held.
      toHost({ kind: 'image-failed', error: serializeError(error) } satisfies WorkerMessage);
      if (plan.kind === 'write-image' && plan.then !== 'hold') return 'resume';
    }
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

const parentOrNull = parentPort;
if (parentOrNull === null) throw new Error('guest-worker must run in a worker thread');
const parent = parentOrNull;

/** The guest's channel, once it runs: messages to the host thread wait for its posted writes. */
let channel: ChannelClient | undefined;
/** Pays the deputy's offsets for reads served from bytes read ahead (./read-ahead.ts). */
let settleReadAhead: (() => void) | undefined;

/**
 * A message to the host thread, after the guest's posted writes (./posted-writes.ts) and the
 * offsets its reads owe (./read-ahead.ts) have been taken: an exit, a suspension or an image
 * never overtakes a write the program made before it, and the deputy's offsets are what it read.
 */
function toHost(message: WorkerMessage, transfer?: ArrayBuffer[]): void {
  try {
    settleReadAhead?.();
    channel?.settle();
  } catch {
    // The deputy stopped the guest: nothing waits for its answers any more.
  }
  parent.postMessage(message, transfer);
}

/**
 * Image pieces streamed out and not yet acknowledged by the host thread. Each goes through one of
 * these shared buffers, reused from move to move: a fresh buffer per piece would cost a page
 * fault per 4 KiB (measured: a third of a 256 MiB move).
 */
const PIECE_SLOTS = 4;
const SLOT_BYTES = 4 * 1024 * 1024 + 4096;

/**
 * Messages from the host thread after the start: plans, image bytes coming in, and the
 * acknowledgements of image bytes going out (the worker's JS is free while its program is
 * unwound or not yet restored).
 */
class Mailbox {
  private readonly plans: ImagePlan[] = [];
  private readonly images: ImageStreamMessage[] = [];
  private wake: (() => void) | undefined;
  private readonly slots: Uint8Array[] = [];
  private readonly freeSlots: number[] = [];
  private unacknowledged = 0;

  deliver(m: ImagePlan | ImageStreamMessage): void {
    if (m.kind === 'image-ack') {
      this.unacknowledged--;
      if (m.slot !== undefined) this.freeSlots.push(m.slot);
    } else if (m.kind === 'image-piece' || m.kind === 'image-end' || m.kind === 'image-abort')
      this.images.push(m);
    else this.plans.push(m);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async nextPlan(): Promise<ImagePlan> {
    for (;;) {
      const plan = this.plans.shift();
      if (plan !== undefined) return plan;
      await this.changed();
    }
  }

  async nextImageMessage(): Promise<ImageStreamMessage> {
    for (;;) {
      const m = this.images.shift();
      if (m !== undefined) return m;
      await this.changed();
    }
  }

  /**
   * Where a streamed image goes: copies of the live memory, gathered into shared slots (many small
   * chunks of a sparse memory travel as one piece), PIECE_SLOTS in flight at most. `flush` sends
   * the last, partly filled slot.
   */
  pieceSink(): ImageSink & { flush(): void } {
    let slot: number | undefined;
    let filled = 0;
    const post = (): void => {
      if (slot === undefined) return;
      const data = this.slots[slot]!.subarray(0, filled);
      toHost({ kind: 'image-piece', data, slot } satisfies WorkerMessage);
      slot = undefined;
      filled = 0;
    };
    return {
      write: async (buffers) => {
        let length = 0;
        for (const b of buffers) length += b.length;
        if (slot !== undefined && filled + length > SLOT_BYTES) post();
        if (slot === undefined) {
          while (this.unacknowledged >= PIECE_SLOTS) await this.changed();
          this.unacknowledged++;
          if (length > SLOT_BYTES) {
            // Too large for a slot (a big STACK section): a buffer of its own.
            const data = new Uint8Array(length);
            copyInto(data, 0, buffers);
            toHost({ kind: 'image-piece', data } satisfies WorkerMessage, [data.buffer]);
            return;
          }
          slot = this.freeSlot();
        }
        copyInto(this.slots[slot]!, filled, buffers);
        filled += length;
        if (filled === SLOT_BYTES) post();
      },
      flush: post,
    };
  }

  /** A shared buffer nobody else uses now (fewer than PIECE_SLOTS are in flight). */
  private freeSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    this.slots.push(new Uint8Array(new SharedArrayBuffer(SLOT_BYTES)));
    return this.slots.length - 1;
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
}

const mailbox = new Mailbox();

function copyInto(target: Uint8Array, at: number, buffers: readonly Uint8Array[]): void {
  for (const b of buffers) {
    target.set(b, at);
    at += b.length;
  }
}

// The worker may be started before its program is known (worker-pool.ts): wait for it.
parent.once('message', (start: GuestStart) => {
  const deliver = (m: ImagePlan | ImageStreamMessage): void => mailbox.deliver(m);
  parent.on('message', deliver);
  // Once the program is over, nothing more is listened for: the thread may end.
  const over = (last: WorkerMessage): void => {
    parent.off('message', deliver);
    toHost(last);
  };
  run(start).then(
    (outcome) => over(outcome ?? { kind: 'stopped' }),
    (error: unknown) => over({ kind: 'error', error: serializeError(error) }),
  );
});
