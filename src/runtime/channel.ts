/**
 * The system-call channel between a guest worker and its deputy on the main thread: one
 * SharedArrayBuffer holding control words, a request region and a response region.
 *
 * A cross-thread wake-up costs ~60–80 µs on these VMs while a spin that finds the answer costs
 * < 1 µs (research/wasm-migration.md), so both sides spin briefly before they block: the guest
 * spins then Atomics.wait()s for the answer; the deputy, after answering, spins for the next
 * request (syscall-heavy code issues them back to back) and only then returns to its event loop,
 * where Atomics.waitAsync() wakes it. A burst is bounded in time so signals and I/O still run.
 *
 * Spins are short (2 000 loads, a few µs): a synchronous answer arrives well within that, and on a
 * 2-core machine longer spins starve the threads that do the real work — measured, streaming
 * 1 GiB through `cat` took 4.6 s with 20 000-load spins and 1.5 s with 2 000 (BENCHMARKS.md).
 */

export const DIRECT_WRITE_SLOTS = 64;
export const POSTED_WRITE_SLOTS = 64;
const DIRECT_WRITES_AT = 16;

/** Int32 control words at the start of the buffer. */
export const Ctl = {
  /** Sequence number of the latest request (guest writes). */
  REQ_SEQ: 0,
  /** Sequence number of the latest answered request (deputy writes). */
  RESP_SEQ: 1,
  REQ_LEN: 2,
  RESP_LEN: 3,
  /** Bumped by the deputy to interrupt a guest that sleeps locally (signals, later: suspend). */
  WAKE: 4,
  /** Nonzero when the deputy asks the guest to stop (the value is the reason). */
  STOP: 5,
  /** Nonzero when the deputy asks the guest to suspend at its next tick (preemption.ts). */
  SUSPEND: 6,
  /** First of DIRECT_WRITE_SLOTS words: host fd + 1 the guest may write itself (direct-writes.ts). */
  DIRECT_WRITES: DIRECT_WRITES_AT,
  /** First of POSTED_WRITE_SLOTS words: nonzero if the guest may post its writes to that fd
   * without waiting for their answer (posted-writes.ts). After the DIRECT_WRITES words. */
  POSTED_WRITES: DIRECT_WRITES_AT + DIRECT_WRITE_SLOTS,
  /**
   * The guest's linear memory in 64 KiB pages, as the guest last noted it (guest writes, at each
   * system call and tick: memory.grow has no hook): what `osmo ps` and the balancer call its memory.
   */
  MEMORY_PAGES: DIRECT_WRITES_AT + DIRECT_WRITE_SLOTS + POSTED_WRITE_SLOTS,
} as const;

const CONTROL_BYTES = 4 * (Ctl.MEMORY_PAGES + 1);

/** Notes the guest's memory size for its host thread (Ctl.MEMORY_PAGES). */
export function noteMemorySize(control: Int32Array, memory: WebAssembly.Memory): void {
  Atomics.store(control, Ctl.MEMORY_PAGES, memory.buffer.byteLength / WASM_PAGE_BYTES);
}

/** The guest's memory size as last noted, in bytes. */
export function notedMemoryBytes(control: Int32Array): number {
  return Atomics.load(control, Ctl.MEMORY_PAGES) * WASM_PAGE_BYTES;
}

const WASM_PAGE_BYTES = 65_536;
export const DEFAULT_REGION_BYTES = 1 << 20;

export interface ChannelLayout {
  sab: SharedArrayBuffer;
  control: Int32Array;
  request: DataView;
  response: DataView;
}

export function createChannelBuffer(regionBytes = DEFAULT_REGION_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + 2 * regionBytes);
}

export function layoutOf(sab: SharedArrayBuffer): ChannelLayout {
  const region = (sab.byteLength - CONTROL_BYTES) / 2;
  return {
    sab,
    control: new Int32Array(sab, 0, CONTROL_BYTES / 4),
    request: new DataView(sab, CONTROL_BYTES, region),
    response: new DataView(sab, CONTROL_BYTES + region, region),
  };
}

const GUEST_SPIN = 2_000;

/** Thrown in the guest when its deputy has stopped it while it waited (a signal, an exit). */
export class ChannelStopped extends Error {
  constructor() {
    super('stopped by the deputy');
    this.name = 'ChannelStopped';
  }
}

/** The guest side: synchronous calls. */
export class ChannelClient {
  readonly layout: ChannelLayout;
  private seq = 0;
  /** Sequence number of a posted request whose answer was not seen yet (0: none). */
  private posted = 0;

  constructor(sab: SharedArrayBuffer) {
    this.layout = layoutOf(sab);
    // A guest continued in a new worker (after a freeze) goes on with the deputy's sequence.
    this.seq = Atomics.load(this.layout.control, Ctl.REQ_SEQ);
  }

  /**
   * Sends the request already encoded in `layout.request` and blocks until it is answered. Encode
   * only after {@link settle}: a posted request may still be in the region until then.
   */
  call(requestLength: number): number {
    this.settle();
    return this.await(this.send(requestLength));
  }

  /**
   * Sends the request already encoded in `layout.request` and goes on without its answer (a
   * posted write, posted-writes.ts). The next call, post or settle first waits for that answer:
   * until then the deputy may still be reading the request region.
   */
  post(requestLength: number): void {
    this.settle();
    this.posted = this.send(requestLength);
  }

  /**
   * Waits until a posted request has been answered, so that it has reached the deputy before
   * anything the guest does next (another request, a message to the host thread). Throws
   * ChannelStopped if the deputy stops the guest meanwhile.
   */
  settle(): void {
    if (this.posted === 0) return;
    const seq = this.posted;
    this.posted = 0;
    this.await(seq);
  }

  private send(requestLength: number): number {
    const ctl = this.layout.control;
    // 0 is never a sequence number: it marks "nothing posted".
    this.seq = (this.seq + 1) | 0 || 1;
    const seq = this.seq;
    Atomics.store(ctl, Ctl.REQ_LEN, requestLength);
    Atomics.store(ctl, Ctl.REQ_SEQ, seq);
    Atomics.notify(ctl, Ctl.REQ_SEQ);
    return seq;
  }

  private await(seq: number): number {
    const ctl = this.layout.control;
    for (let i = 0; i < GUEST_SPIN; i++) {
      if (Atomics.load(ctl, Ctl.RESP_SEQ) === seq) return Atomics.load(ctl, Ctl.RESP_LEN);
    }
    for (;;) {
      const seen = Atomics.load(ctl, Ctl.RESP_SEQ);
      if (seen === seq) return Atomics.load(ctl, Ctl.RESP_LEN);
      if (Atomics.load(ctl, Ctl.STOP) !== 0) throw new ChannelStopped();
      Atomics.wait(ctl, Ctl.RESP_SEQ, seen);
    }
  }

  /** Sleeps up to `ms` unless the deputy bumps WAKE; returns true if woken early. */
  sleep(ms: number): boolean {
    const ctl = this.layout.control;
    const wake = Atomics.load(ctl, Ctl.WAKE);
    const woken = Atomics.wait(ctl, Ctl.WAKE, wake, ms) !== 'timed-out';
    if (Atomics.load(ctl, Ctl.STOP) !== 0) throw new ChannelStopped();
    return woken;
  }
}

/** Handles one request; returns the response length (sync or later). */
export type RequestHandler = (
  request: DataView,
  requestLength: number,
  response: DataView,
  /** False once the request was answered early (interruptPending): write nothing then. */
  isCurrent: () => boolean,
) => number | Promise<number>;

const SERVER_SPIN = 2_000;
const BURST_BUDGET_MS = 4;

/** The deputy side, on an event loop. */
export class ChannelServer {
  readonly layout: ChannelLayout;
  private lastSeq = 0;
  private running = false;
  /** The request being answered asynchronously, if any. */
  private pending: { seq: number; op: number } | undefined;

  constructor(
    sab: SharedArrayBuffer,
    private readonly handler: RequestHandler,
    private readonly onError: (error: unknown) => void,
  ) {
    this.layout = layoutOf(sab);
  }

  start(): void {
    this.running = true;
    this.waitForRequest();
  }

  /** Stops serving and releases a guest waiting for an answer or sleeping (it unwinds). */
  stop(): void {
    this.running = false;
    const ctl = this.layout.control;
    Atomics.store(ctl, Ctl.STOP, 1);
    Atomics.notify(ctl, Ctl.RESP_SEQ);
    this.wakeGuest();
  }

  /** Interrupts a guest sleeping in {@link ChannelClient.sleep}. */
  wakeGuest(): void {
    Atomics.add(this.layout.control, Ctl.WAKE, 1);
    Atomics.notify(this.layout.control, Ctl.WAKE);
  }

  private waitForRequest(): void {
    if (!this.running) return;
    const ctl = this.layout.control;
    const waited = Atomics.waitAsync(ctl, Ctl.REQ_SEQ, this.lastSeq);
    if (waited.async) {
      void waited.value.then(() => this.serveBurst());
    } else {
      setImmediate(() => this.serveBurst());
    }
  }

  /** Serves requests back to back while they keep coming, within a time budget. */
  private serveBurst(): void {
    const ctl = this.layout.control;
    const deadline = performance.now() + BURST_BUDGET_MS;
    while (this.running) {
      const seq = Atomics.load(ctl, Ctl.REQ_SEQ);
      if (seq === this.lastSeq) {
        let spun = 0;
        while (spun < SERVER_SPIN && Atomics.load(ctl, Ctl.REQ_SEQ) === this.lastSeq) spun++;
        if (spun === SERVER_SPIN) break;
        continue;
      }
      this.lastSeq = seq;
      let answer: number | Promise<number>;
      const current = { seq, op: this.layout.request.getUint16(0, true) };
      try {
        answer = this.handler(
          this.layout.request,
          Atomics.load(ctl, Ctl.REQ_LEN),
          this.layout.response,
          () => this.pending === current,
        );
      } catch (error) {
        this.onError(error);
        return;
      }
      if (typeof answer !== 'number') {
        this.pending = current;
        answer.then(
          (length) => {
            if (this.pending !== current) return; // answered early (interruptPending)
            this.pending = undefined;
            this.respond(seq, length);
            // The guest's next call usually follows at once (a read loop): spin for it first.
            this.serveBurst();
          },
          (error: unknown) => this.onError(error),
        );
        return;
      }
      this.respond(seq, answer);
      if (performance.now() > deadline) {
        setImmediate(() => this.serveBurst());
        return;
      }
    }
    this.waitForRequest();
  }

  /** The op id of the request being answered asynchronously, if any. */
  pendingOp(): number | undefined {
    return this.pending?.op;
  }

  /** The request being answered asynchronously, as a token that is new for each request. */
  pendingRequest(): object | undefined {
    return this.pending;
  }

  /**
   * Answers the request that is still waiting (a suspension) with what `encode` writes; its late
   * result is then dropped. The caller must have made sure the waiting operation consumed
   * nothing and will write nothing (HostBackend.cancelWaits).
   */
  interruptPending(encode: (response: DataView) => number): boolean {
    const p = this.pending;
    if (p === undefined) return false;
    this.pending = undefined;
    this.respond(p.seq, encode(this.layout.response));
    this.serveBurst();
    return true;
  }

  private respond(seq: number, length: number): void {
    const ctl = this.layout.control;
    Atomics.store(ctl, Ctl.RESP_LEN, length);
    Atomics.store(ctl, Ctl.RESP_SEQ, seq);
    Atomics.notify(ctl, Ctl.RESP_SEQ);
  }
}
