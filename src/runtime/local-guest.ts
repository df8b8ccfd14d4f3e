/**
 * Runs a guest in a worker thread of this process, serving its system calls on this thread's
 * event loop through the SharedArrayBuffer channel (docs/adr/0001-process-model.md), and — for a
 * preemptible (instrumented) program — checkpoints, freezes and continues it.
 */
import type { Worker } from 'node:worker_threads';
import { OsmoError, serializeError } from '../core/errors.js';
import type { RequestHandler } from './channel.js';
import { ChannelServer, createChannelBuffer, Ctl, layoutOf, notedMemoryBytes } from './channel.js';
import { DirectWriteGrants, revokingHandler } from './direct-writes.js';
import { POSTED_OP_BIT, PostedWriteFlags } from './posted-writes.js';
import { SUSPEND_ERRNO } from './preemption.js';
import { cancelWaitWhenPossible } from './cancel-wait.js';
import { LoopHold } from './loop-hold.js';
import { encodeResponse } from '../protocol/syscall-codec.js';
import type { ClockOrigins } from './guest-clocks.js';
import type {
  GuestOutcome,
  GuestStart,
  ImagePlan,
  ImageStreamMessage,
  WorkerMessage,
} from './guest-messages.js';
import { takeGuestWorker } from './worker-pool.js';

export interface LocalGuestOptions {
  module: WebAssembly.Module;
  moduleHash: string;
  args: string[];
  env: string[];
  handler: RequestHandler;
  clocks?: ClockOrigins;
  strace?: boolean;
  /** Where strace lines go when not to this process's stderr (a runner sends them home). */
  onTrace?: (line: string) => void;
  /** Let the guest thread write stdout/stderr itself (direct-writes.ts); default true. */
  directStdioWrites?: boolean;
  /** Native stack of the guest thread; deep recursion needs more than Node's default. */
  stackSizeMb?: number;
  /** Start from this image instead of from `_start`. */
  restoreFrom?: string;
  /** Start from an image fed through {@link LocalGuest.imageFeed}. */
  restoreStream?: boolean;
  /**
   * Do not start here yet: the program starts on another node (osmo run -b chose one). Until
   * {@link LocalGuest.startHere}, or an image comes home, there is no thread here.
   */
  deferStart?: boolean;
  /** The guest checkpoints itself at these tick counts (reproducible moments, for tests). */
  checkpointAtTicks?: bigint[];
  /** Re-enter an instrumented program early for V8's optimised code (tier-up.ts reentryAllowed). */
  reentry?: boolean;
  /** Where a checkpoint the guest took by itself goes, and the deputy's state for it. */
  selfCheckpoint?: () => { file: string; deputy: DeputyStateOf };
  /**
   * Makes the deputy's waiting reads and polls give up without consuming anything; false when
   * one cannot be taken back (HostBackend.cancelWaits). Lets a guest blocked in such a call be
   * suspended at once instead of when the call returns.
   */
  cancelWaits?: () => boolean;
}

/** launch(): restore from an image fed through imageFeed(). */
const FROM_STREAM = Symbol('image stream');

/** Calls that only wait and consume nothing until they complete: safe to abandon and redo. */

/**
 * While a suspension is wanted, a new request is not performed: it is answered with
 * SUSPEND_ERRNO, the guest unwinds inside that call and, rewound, issues it again.
 */
function suspendingHandler(handler: RequestHandler, control: Int32Array): RequestHandler {
  return (request, length, response, isCurrent) => {
    const op = request.getUint16(0, true);
    // A posted write is never answered "suspend": nobody would read it (./posted-writes.ts).
    if (Atomics.load(control, Ctl.SUSPEND) !== 0 && (op & POSTED_OP_BIT) === 0) {
      return encodeResponse(response, op, SUSPEND_ERRNO);
    }
    return handler(request, length, response, isCurrent);
  };
}

/**
 * The deputy's part of an image (fd table, args, env…), asked for once the program has stopped
 * and may return a promise. What the deputy holds then is what the program saw: asked any
 * earlier, a call served between the request and the stop would be missing from it (for a
 * program away, the calls still on their way over the link: a restart re-read or skipped them).
 */
export type DeputyStateOf = () => unknown;

/** For a move's image: the deputy stays where it is, with its own state. */
export const NO_DEPUTY_STATE: DeputyStateOf = () => null;

export interface ImageWritten {
  file: string;
  bytes: number;
  ms: number;
}

export type GuestState = 'running' | 'checkpointing' | 'frozen';

/** Where the bytes of an image being streamed in go (LocalGuest.imageFeed), in order. */
export interface ImageFeed {
  /**
   * The next bytes. A piece that is a whole ArrayBuffer of its own (a large link frame) is handed
   * over, not copied: the caller must not use it afterwards.
   */
  push(piece: Uint8Array): void;
  end(): void;
  /** The bytes stopped coming: the restore fails and nothing runs. */
  abort(why: string): void;
}

/**
 * Takes one piece of an image streamed out; resolves once it no longer needs the piece's bytes
 * (the buffer is then reused for a later piece).
 */
export type ImageConsumer = (piece: Uint8Array) => void | Promise<void>;

export class LocalGuest {
  /** Settles when the program ends, however it ends. */
  readonly outcome: Promise<GuestOutcome>;
  private settle: (o: GuestOutcome) => void = () => undefined;
  private settled = false;
  /** The guest thread; none while the program has not started here (deferStart). */
  private worker: Worker | undefined;
  private readonly server: ChannelServer;
  private readonly control: Int32Array;
  private stateNow: GuestState = 'running';
  /** Resolves the pending suspension step, if any. */
  private onEvent: ((m: WorkerMessage) => void) | undefined;
  private frozenImage: string | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  /** The current worker is ending on purpose (freeze): its exit is not a crash. */
  private expectExit = false;
  /** Holds the event loop while the program has no worker here (frozen, or started elsewhere). */
  private readonly noWorkerHold = new LoopHold();
  private onRestored: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Takes the pieces of an image being streamed out. */
  private onPiece: ((data: Uint8Array, slot: number | undefined) => void) | undefined;
  /** Stopped at a suspension point, memory intact, waiting for resumeHeld or releaseHeld. */
  private held = false;
  private readonly servedBy: RequestHandler;
  /** Which fds the guest may post its writes to (./posted-writes.ts; set by a runner). */
  readonly postedWrites: PostedWriteFlags;

  constructor(private readonly options: LocalGuestOptions) {
    this.outcome = new Promise<GuestOutcome>((resolve) => (this.settle = resolve));
    const sab = createChannelBuffer();
    this.control = layoutOf(sab).control;
    const grants = new DirectWriteGrants(this.control);
    this.postedWrites = new PostedWriteFlags(this.control);
    if (options.directStdioWrites ?? true) grants.grantStdio();
    this.servedBy = revokingHandler(options.handler, grants);
    const handler = suspendingHandler(this.servedBy, this.control);
    this.server = new ChannelServer(sab, handler, (error) =>
      this.finish({ kind: 'error', error: serializeError(error) }),
    );
    this.server.start();
    if (options.deferStart === true) {
      // Not started: as a frozen program without an image, an image coming home can start it.
      this.stateNow = 'frozen';
      this.noWorkerHold.hold();
      return;
    }
    this.worker = this.launch(
      sab,
      options.restoreStream === true ? FROM_STREAM : options.restoreFrom,
      options.clocks,
    );
  }

  /** Starts a program created with deferStart here, from its beginning (its start elsewhere failed). */
  startHere(): void {
    if (this.worker !== undefined || this.settled) return;
    this.worker = this.launch(this.server.layout.sab, undefined, this.options.clocks);
    this.stateNow = 'running';
    this.noWorkerHold.release();
  }

  private get thread(): Worker {
    if (this.worker === undefined)
      throw new OsmoError('E_USAGE', 'the program has not started on this node');
    return this.worker;
  }

  get state(): GuestState {
    return this.stateNow;
  }

  /** The image a freeze wrote here, while the program stays frozen. */
  get frozenImageFile(): string | undefined {
    return this.stateNow === 'frozen' ? this.frozenImage : undefined;
  }

  /** The program's linear memory, as it last noted it; 0 while frozen (its image holds it). */
  get memoryBytes(): number {
    return this.stateNow === 'frozen' ? 0 : notedMemoryBytes(this.control);
  }

  /** Stopped for a move, memory intact (streamImage), until resumed or released. */
  get isHeld(): boolean {
    return this.held;
  }

  /** Writes an image and lets the program go on. */
  checkpoint(file: string, deputy: DeputyStateOf): Promise<ImageWritten> {
    return this.serialize(() => this.suspendTo(file, deputy, 'resume'));
  }

  /** Writes an image and ends the worker (memory freed); {@link continue} resumes it. */
  freeze(file: string, deputy: DeputyStateOf): Promise<ImageWritten> {
    return this.serialize(async () => {
      const written = await this.suspendTo(file, deputy, 'stop');
      this.frozenImage = file;
      this.stateNow = 'frozen';
      this.noWorkerHold.hold();
      return written;
    });
  }

  /** Resumes a frozen program in a new worker from its image; its clocks continue. */
  continue(clocks: ClockOrigins): Promise<void> {
    return this.resumeFrom(undefined, clocks);
  }

  /**
   * Resumes a frozen program from `file` (default: the image it was frozen into) — the image
   * may have been taken elsewhere (the program comes back from another node). Resolves once the
   * image is loaded into the new instance; rejects if it could not be.
   */
  resumeFrom(file: string | undefined, clocks: ClockOrigins): Promise<void> {
    return this.serialize(async () => {
      const image = file ?? this.frozenImage;
      if (this.stateNow !== 'frozen' || image === undefined) {
        throw new OsmoError('E_USAGE', 'the process is not frozen');
      }
      try {
        await this.relaunch(image, clocks);
      } finally {
        this.noWorkerHold.release();
      }
    });
  }

  /**
   * Resumes a frozen program from an image that arrives in pieces: give them to
   * {@link imageFeed} right after this call. Resolves once the image is loaded whole; if it is
   * not (cut short, damaged), rejects and the program stays frozen here as it was.
   */
  resumeFromStream(): Promise<void> {
    if (this.stateNow !== 'frozen' || this.held)
      return Promise.reject(new OsmoError('E_USAGE', 'the process is not frozen'));
    return this.relaunch(FROM_STREAM, undefined).then(() => this.noWorkerHold.release());
  }

  /** A new worker for the frozen program; resolves once it has loaded its image. */
  private relaunch(
    from: string | typeof FROM_STREAM,
    clocks: ClockOrigins | undefined,
  ): Promise<void> {
    Atomics.store(this.control, Ctl.SUSPEND, 0);
    this.expectExit = false;
    const restored = this.whenRestored();
    this.worker = this.launch(this.server.layout.sab, from, clocks);
    this.frozenImage = undefined;
    this.stateNow = 'running';
    return restored;
  }

  /** Where the bytes of the image go when the current worker restores from a stream. */
  imageFeed(): ImageFeed {
    const worker = this.thread;
    const post = (m: ImageStreamMessage, transfer?: ArrayBuffer[]): void =>
      worker.postMessage(m, transfer);
    return {
      push(piece) {
        const whole =
          piece.byteOffset === 0 &&
          piece.byteLength === piece.buffer.byteLength &&
          piece.buffer instanceof ArrayBuffer;
        // Otherwise a copy of its own: the piece is a view of a socket's buffer.
        const data = whole ? piece : new Uint8Array(piece);
        post({ kind: 'image-piece', data }, [data.buffer as ArrayBuffer]);
      },
      end: () => post({ kind: 'image-end' }),
      abort: (why) => post({ kind: 'image-abort', why }),
    };
  }

  /**
   * Stops the program and streams its image to `consume`, in order (a move: no file). The
   * program then stays stopped here with its memory until {@link resumeHeld} (the move failed)
   * or {@link releaseHeld} (it runs elsewhere now); {@link writeHeld} may save it meanwhile.
   * If the image cannot be sent whole, rejects with the program still held.
   */
  streamImage(
    consume: ImageConsumer,
    deputyOf: DeputyStateOf,
  ): Promise<{ bytes: number; ms: number }> {
    return this.serialize(async () => {
      await this.stopHere();
      this.held = true;
      const deputy = await deputyOf();
      let failure: Error | undefined;
      const failed = (error: unknown): void => {
        failure ??=
          error instanceof Error ? error : new OsmoError('E_LINK', 'the image could not be sent');
      };
      let pending: Promise<void>[] = [];
      this.onPiece = (data, slot) => {
        const ack = { kind: 'image-ack', ...(slot === undefined ? {} : { slot }) } as const;
        let more: void | Promise<void> = undefined;
        if (failure === undefined) {
          try {
            more = consume(data);
          } catch (error) {
            failed(error);
          }
        }
        // Acknowledged when the consumer is done with it: the worker copies no further ahead.
        const acked = Promise.resolve(more).then(
          () => this.thread.postMessage(ack satisfies ImageStreamMessage),
          (error: unknown) => {
            failed(error);
            this.thread.postMessage(ack satisfies ImageStreamMessage);
          },
        );
        pending.push(acked);
      };
      try {
        const written = this.nextEvent();
        this.thread.postMessage({ kind: 'stream-image', deputy } satisfies ImagePlan);
        const result = await written;
        await Promise.all(pending);
        if (result.kind === 'image-failed') throw OsmoError.fromJSON(result.error);
        if (result.kind !== 'image-written')
          throw new OsmoError('E_INTERNAL', `unexpected ${result.kind}`);
        if (failure !== undefined) throw failure;
        return { bytes: result.bytes, ms: result.ms };
      } finally {
        this.onPiece = undefined;
        pending = [];
      }
    });
  }

  /** Writes the held program's image to `file`; it stays held. */
  writeHeld(file: string, deputyOf: DeputyStateOf): Promise<ImageWritten> {
    return this.serialize(async () => {
      if (!this.held) throw new OsmoError('E_USAGE', 'the process is not held');
      const deputy = await deputyOf();
      const written = this.nextEvent();
      this.thread.postMessage({
        kind: 'write-image',
        file,
        deputy,
        then: 'hold',
      } satisfies ImagePlan);
      const result = await written;
      if (result.kind === 'image-failed') throw OsmoError.fromJSON(result.error);
      if (result.kind !== 'image-written')
        throw new OsmoError('E_INTERNAL', `unexpected ${result.kind}`);
      return { file, bytes: result.bytes, ms: result.ms };
    });
  }

  /**
   * Stops the program at its next suspension point and keeps it stopped here, its memory
   * intact, until {@link resumeHeld} (the user stopped it at its home: Ctrl-Z).
   */
  hold(): Promise<void> {
    return this.serialize(async () => {
      await this.stopHere();
      this.held = true;
    });
  }

  /** The held program goes on here. */
  resumeHeld(): Promise<void> {
    return this.serialize(() => {
      if (this.held) {
        this.held = false;
        Atomics.store(this.control, Ctl.SUSPEND, 0);
        this.stateNow = 'running';
        this.thread.postMessage({ kind: 'resume' } satisfies ImagePlan);
      }
      return Promise.resolve();
    });
  }

  /** The held program runs elsewhere now: this worker ends and its memory is freed. */
  releaseHeld(): Promise<void> {
    return this.serialize(async () => {
      if (!this.held) return;
      this.held = false;
      if (this.settled) return; // killed meanwhile: the worker is gone already
      this.expectExit = true;
      const worker = this.thread;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ kind: 'stop' } satisfies ImagePlan);
      await exited;
      Atomics.store(this.control, Ctl.SUSPEND, 0);
      this.stateNow = 'frozen';
      this.noWorkerHold.hold();
    });
  }

  /** Resolves when the worker has loaded its image; rejects if the program ends first. */
  whenRestored(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onRestored.push({ resolve, reject });
      void this.outcome.then((o) =>
        reject(
          o.kind === 'error'
            ? OsmoError.fromJSON(o.error)
            : new OsmoError('E_NO_PROCESS', 'the program ended before its image was loaded'),
        ),
      );
    });
  }

  /** The handler this guest's system calls go through, for serving them from elsewhere. */
  get deputyHandler(): RequestHandler {
    return this.servedBy;
  }

  /**
   * The program asked for a checkpoint of itself (/proc/self/checkpoint): it suspends at its
   * very next system call or tick, and the image goes where selfCheckpoint says.
   */
  requestSelfCheckpoint(): void {
    if (this.stateNow === 'running') Atomics.store(this.control, Ctl.SUSPEND, 1);
  }

  /** Stops the program at once (signals); the outcome then settles as given. */
  async kill(outcome: GuestOutcome): Promise<void> {
    this.finish(outcome);
    await this.worker?.terminate();
  }

  private launch(
    sab: SharedArrayBuffer,
    restoreFrom: string | typeof FROM_STREAM | undefined,
    clocks: ClockOrigins | undefined,
  ): Worker {
    const o = this.options;
    const start: GuestStart = {
      module: o.module,
      moduleHash: o.moduleHash,
      channel: sab,
      args: o.args,
      env: o.env,
      clocks: clocks ?? { monotonicOffsetNs: 0n, cpuOffsetNs: 0n },
      strace: o.strace ?? false,
      ...(o.onTrace === undefined ? {} : { straceToHost: true }),
      ...(restoreFrom === undefined
        ? {}
        : restoreFrom === FROM_STREAM
          ? { restoreStream: true }
          : { restoreFrom }),
      ...(o.checkpointAtTicks === undefined ? {} : { checkpointAtTicks: o.checkpointAtTicks }),
      reentry: o.reentry ?? false,
    };
    const worker = takeGuestWorker(o.stackSizeMb);
    worker.postMessage(start);
    worker.on('message', (m: WorkerMessage) => this.dispatch(m));
    worker.on('error', (error) => this.finish({ kind: 'error', error: serializeError(error) }));
    worker.on('exit', (code) => {
      if (this.expectExit || worker !== this.worker) return;
      this.finish({
        kind: 'error',
        error: {
          code: 'E_INTERNAL',
          message: `guest thread ended without an outcome (exit ${code})`,
        },
      });
    });
    return worker;
  }

  private dispatch(m: WorkerMessage): void {
    switch (m.kind) {
      case 'suspended':
        if (m.self || this.onEvent === undefined) {
          void this.serialize(() => this.writeSelfCheckpoint()).catch(() => undefined);
          return;
        }
        this.onEvent?.(m);
        return;
      case 'restored':
        for (const waiter of this.onRestored.splice(0)) waiter.resolve();
        return;
      case 'restore-failed': {
        // Nothing ran: the program is still frozen here; this worker ends by itself.
        this.expectExit = true;
        this.stateNow = 'frozen';
        const error = OsmoError.fromJSON(m.error);
        for (const waiter of this.onRestored.splice(0)) waiter.reject(error);
        return;
      }
      case 'image-piece':
        this.onPiece?.(m.data, m.slot);
        return;
      case 'trace':
        this.options.onTrace?.(m.line);
        return;
      case 'image-written':
      case 'image-failed':
      case 'stopped':
        this.onEvent?.(m);
        return;
      default:
        this.finish(m);
    }
  }

  /** One suspension at a time: requests queue behind each other. */
  private serialize<T>(step: () => Promise<T>): Promise<T> {
    const next = this.busy.then(step, step);
    this.busy = next.catch(() => undefined);
    return next;
  }

  private nextEvent(): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      this.onEvent = (m) => {
        this.onEvent = undefined;
        resolve(m);
      };
      void this.outcome.then(() =>
        reject(new OsmoError('E_NO_PROCESS', 'the program ended before it could be suspended')),
      );
    });
  }

  /** Asks the program to stop at its next suspension point and waits until it has. */
  private async stopHere(): Promise<void> {
    if (this.settled) throw new OsmoError('E_NO_PROCESS', 'the program has ended');
    if (this.stateNow === 'frozen') throw new OsmoError('E_USAGE', 'the process is frozen already');
    if (this.held) throw new OsmoError('E_USAGE', 'the process is stopped for a move');
    this.stateNow = 'checkpointing';
    try {
      const suspended = this.nextEvent();
      Atomics.store(this.control, Ctl.SUSPEND, 1);
      this.interruptWaits();
      const stopped = await suspended;
      if (stopped.kind === 'image-failed') throw OsmoError.fromJSON(stopped.error);
    } catch (error) {
      this.stateNow = 'running';
      throw error;
    } finally {
      Atomics.store(this.control, Ctl.SUSPEND, 0);
    }
  }

  private async suspendTo(
    file: string,
    deputyOf: DeputyStateOf,
    then: 'resume' | 'stop',
  ): Promise<ImageWritten> {
    await this.stopHere();
    try {
      let deputy: unknown;
      try {
        deputy = await deputyOf();
      } catch (error) {
        this.thread.postMessage({ kind: 'resume' } satisfies ImagePlan); // no image: it goes on
        throw error;
      }
      if (then === 'stop') this.expectExit = true;
      // Listen for the worker's end before it can happen: its 'exit' may come right behind the
      // 'image-written' message, before this function gets to run again (seen under load).
      const worker = this.thread;
      const exited =
        then === 'stop'
          ? new Promise<void>((resolve) => worker.once('exit', () => resolve()))
          : undefined;
      const written = this.nextEvent();
      this.thread.postMessage({ kind: 'write-image', file, deputy, then } satisfies ImagePlan);
      const result = await written;

      if (result.kind === 'image-failed') {
        this.expectExit = false; // the worker goes on: freezing failed, the program did not
        throw OsmoError.fromJSON(result.error);
      }
      if (result.kind !== 'image-written')
        throw new OsmoError('E_INTERNAL', `unexpected ${result.kind}`);
      await exited;
      return { file, bytes: result.bytes, ms: result.ms };
    } finally {
      if (this.stateNow === 'checkpointing') this.stateNow = 'running';
    }
  }

  /**
   * A guest blocked in a call suspends at once: a local sleep is woken, and a read or poll the
   * deputy is still waiting on is abandoned (when that consumes nothing) and answered
   * SUSPEND_ERRNO. Otherwise the guest suspends when its call returns.
   */
  private interruptWaits(): void {
    this.server.wakeGuest();
    this.cancelPendingWait();
  }

  /** Abandons the read or poll the deputy waits on for the guest, if that consumes nothing. */
  private cancelPendingWait(): void {
    const op = this.server.pendingOp();
    const request = this.server.pendingRequest();
    const cancelWaits = this.options.cancelWaits;
    if (op === undefined || cancelWaits === undefined) return;
    cancelWaitWhenPossible(
      op,
      cancelWaits,
      () => this.server.pendingRequest() === request,
      () => this.server.interruptPending((response) => encodeResponse(response, op, SUSPEND_ERRNO)),
    );
  }

  /** The guest stopped by itself: write the checkpoint it asked for and let it go on. */
  private async writeSelfCheckpoint(): Promise<void> {
    Atomics.store(this.control, Ctl.SUSPEND, 0);
    const plan = this.options.selfCheckpoint?.();
    let image: { file: string; deputy: unknown } | undefined;
    try {
      if (plan !== undefined) image = { file: plan.file, deputy: await plan.deputy() };
    } catch {
      image = undefined;
    }
    const written = this.nextEvent();
    // Without a plan or the deputy's state there is nobody to write it for: it goes on without.
    this.thread.postMessage({
      kind: 'write-image',
      file: image?.file ?? '',
      deputy: image?.deputy ?? null,
      then: 'resume',
    } satisfies ImagePlan);
    await written;
  }

  private finish(o: GuestOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.noWorkerHold.release();
    this.server.stop();
    this.settle(o);
  }
}
