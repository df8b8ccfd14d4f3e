/**
 * The runner's side of one guest (docs/migration.md): receives the program and its image from
 * the deputy, runs it in a worker of this process and relays every system call to the deputy
 * over the link. Suspends and sends the image back when the deputy moves the program on.
 *
 * The program has no file, environment or socket of this node: its only way out is the link.
 * When the link is lost the program is killed — a guest never outlives its deputy.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OsmoError, isOsmoError, serializeError } from '../core/errors.js';
import { SEND_COPIES_UP_TO_BYTES } from '../link/index.js';
import type { LinkConnection } from '../link/index.js';
import { encodeResponse } from '../protocol/syscall-codec.js';
import { syscallId } from '../protocol/syscall-table.js';
import type { RequestHandler } from '../runtime/channel.js';
import type { GuestOutcome } from '../runtime/guest-messages.js';
import { LocalGuest, NO_DEPUTY_STATE } from '../runtime/local-guest.js';
import { POSTED_OP_BIT, Posting } from '../runtime/posted-writes.js';
import type { ImageFeed } from '../runtime/local-guest.js';
import { ok } from '../wasi/backend.js';
import { sendImageFile, streamImageTo } from './image-transfer.js';
import type { Fault } from './faults.js';
import { Frame, decodeMessage, encodeMessage } from './runner-wire.js';
import type { DeputyMessage, RunnerMessage } from './runner-wire.js';
import { reentryAllowed } from '../runtime/tier-up.js';

const FD_WRITE = syscallId('fdWrite');
/**
 * Requests answered before the deputy's answer from this size on are sent from the channel
 * itself and answered once written; smaller ones are copied and answered at once. Measured
 * (BENCHMARKS.md, issue 5, "Large writes from a program away"): 4 KiB blocks 4–8 % slower sent
 * from the channel, 16 and 32 KiB ones 1.3× faster.
 */
const ZERO_COPY_FROM_BYTES = 8 * 1024;
/** How long a parked image waits for its deputy to come back over a new link. */
const PARKED_GRACE_MS = 60_000;
/**
 * How long an ended program's last output and outcome wait for its deputy to read them. The
 * deputy may be stopped (Ctrl-Z) or starved; a runner that exited before it read them would
 * lose both (the socket's unsent bytes die with the process, and the peer's next write draws a
 * reset that discards what it had not read).
 */
const LAST_WORDS_WAIT_MS = 15 * 60_000;
const FD_CLOSE = syscallId('fdClose');
const FD_RENUMBER = syscallId('fdRenumber');
const FD_SET_RIGHTS = syscallId('fdFdstatSetRights');
/** Where a pipelined write's late failure is told, if no write comes after it (like NFS). */
const REPORTS_WRITE_FAILURE = new Set([FD_CLOSE, syscallId('fdSync'), syscallId('fdDatasync')]);

export interface RunnerHost {
  /** A directory of this runner's own for images (made on first use: most runners need none). */
  readonly imageDir: () => string;
  /** A module this node already holds (the daemon's cache), by instrumented-module hash. */
  cachedModule(hash: string): Uint8Array | undefined;
  /** A module arrived from a deputy: the daemon may keep it for the next guest. */
  moduleReceived(hash: string, bytes: Uint8Array): void;
  /** The guest runs here now (true) or no longer (false). */
  running(now: boolean): void;
  log(message: string, fields?: Record<string, unknown>): void;
  /** A fault to inject (tests; faults.ts). */
  fault?: Fault;
  /** Ends this runner process at once (a crash, for fault injection). */
  crash?: () => never;
}

type Phase = 'receiving' | 'running' | 'suspending' | 'parked' | 'done';

export class GuestRunner {
  /** Settles when this runner has nothing left to do (the program ended, moved on, or was lost). */
  readonly done: Promise<void>;
  private finish: () => void = () => undefined;
  private phase: Phase = 'receiving';
  private offer: Extract<DeputyMessage, { t: 'offer' }> | undefined;
  private module: Uint8Array | undefined;
  /** Where the arriving image goes: the guest restoring from it, as the bytes come. */
  private feed: ImageFeed | undefined;
  private guest: LocalGuest | undefined;
  private readonly pipelined = new Set<number>();
  /** Fds of files open only for reading: their close is answered here at once (runner-wire.ts). */
  private readonly closeQuietly = new Set<number>();
  private readonly writeErrors = new Map<number, number>();
  private answer: ((payload: Buffer) => void) | undefined;
  /** Time the program's calls waited on home here (the balancer's measure of an I/O phase). */
  private homeWaitMs = 0;
  private images = 0;
  private grace: NodeJS.Timeout | undefined;
  private faultFired = false;
  private imageBytesIn = 0;
  private imageStarted = 0;
  private imageReceivedMs: number | undefined;
  /** Set while the user keeps the program stopped at its home (Ctrl-Z … fg). */
  private userStop: Promise<void> | undefined;
  /** The daemon was told this guest runs here. */
  private counted = false;
  /** A 'state?' sent to the deputy, waiting for its answer. */
  private stateWaiter:
    { resolve: (state: unknown) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private link: LinkConnection,
    private readonly host: RunnerHost,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.listen(link);
  }

  private listen(link: LinkConnection): void {
    link.onFrame((type, payload) => {
      if (this.phase === 'done') return; // frames still queued behind a fault or a kill
      try {
        this.onFrame(type, payload);
      } catch (error) {
        this.fail(error);
      }
    });
    void link.closed.then((error) => {
      if (this.link === link) this.linkLost(error);
    });
  }

  /** Messages to a link that is gone are dropped: the deputy learns the state when it comes back. */
  private send(m: RunnerMessage): boolean {
    if (this.link.state !== 'open') return false;
    return this.link.send(Frame.MSG, encodeMessage(m));
  }

  /**
   * The deputy came back over a new link (the old one was cut while the program was parked
   * here, waiting to be dropped or resumed). Only then is a second link accepted.
   */
  reattach(link: LinkConnection): boolean {
    if (this.link.state === 'open' || (this.phase !== 'parked' && this.phase !== 'suspending'))
      return false;
    clearTimeout(this.grace);
    this.link = link;
    this.listen(link);
    this.host.log('deputy reattached', { phase: this.phase });
    return true;
  }

  private onFrame(type: number, payload: Buffer): void {
    switch (type) {
      case Frame.SYSCALL_ANSWER: {
        const answer = this.answer;
        this.answer = undefined;
        if (answer === undefined)
          throw new OsmoError('E_PROTO_DECODE', 'an answer nobody asked for');
        answer(payload);
        return;
      }
      case Frame.MSG: {
        const m = decodeMessage<DeputyMessage>(payload);
        if (m === undefined) throw new OsmoError('E_PROTO_DECODE', 'undecodable message');
        this.onMessage(m);
        return;
      }
      case Frame.MODULE:
        this.module = new Uint8Array(payload);
        if (this.offer !== undefined) this.host.moduleReceived(this.offer.moduleHash, this.module);
        return;
      case Frame.IMAGE:
        // From the image's first byte: its first frame took time to arrive too.
        if (this.imageBytesIn === 0) this.imageStarted = this.link.frameStartedMs;
        this.imageBytesIn += payload.length; // before push: it may take the buffer over
        this.arrivingImage().push(payload);
        this.injectAtImageByte();
        return;
      case Frame.IMAGE_END:
        this.imageReceivedMs = performance.now() - this.imageStarted;
        this.arrivingImage().end();
        this.feed = undefined;
        return;
      default:
        throw new OsmoError('E_PROTO_DECODE', `unexpected frame type ${type}`);
    }
  }

  private onMessage(m: DeputyMessage): void {
    switch (m.t) {
      case 'offer': {
        if (this.phase !== 'receiving' || this.offer !== undefined)
          throw new OsmoError('E_PROTO_DECODE', 'a second offer');
        this.offer = m;
        for (const fd of m.pipelinedFds) this.setPipelined(fd, true);
        if (!m.moduleFollows) {
          this.module = this.host.cachedModule(m.moduleHash);
          if (this.module === undefined)
            throw new OsmoError('E_PROTO_DECODE', 'no module offered and none cached here');
        }
        return;
      }
      case 'start':
        this.startFresh();
        return;
      case 'suspend':
        void this.afterUserStop().then(() => this.suspend(m.withState === true));
        return;
      case 'checkpoint':
        void this.afterUserStop().then(() => this.checkpoint());
        return;
      case 'state': {
        const waiter = this.stateWaiter;
        this.stateWaiter = undefined;
        if (m.error !== undefined) waiter?.reject(OsmoError.fromJSON(m.error));
        else waiter?.resolve(m.deputy ?? null);
        return;
      }
      case 'stop':
        this.stopForUser();
        return;
      case 'cont':
        void this.afterUserStop();
        return;
      case 'drop':
        this.end('moved on');
        return;
      case 'resume':
        void this.resumeHere();
        return;
      case 'kill':
        void this.guest?.kill(m.outcome);
        this.end('killed');
        return;
      case 'write-failed':
        this.writeErrors.set(m.fd, m.errno);
        this.updatePosting(m.fd);
        return;
      case 'pipeline':
        this.setPipelined(m.fd, true);
        return;
      case 'close-quietly':
        this.setQuietClose(m.fd, true);
        return;
      case 'info?': {
        const cpu = process.cpuUsage();
        this.send({
          t: 'info',
          cpuTimeMs: Math.round((cpu.user + cpu.system) / 1000),
          memoryBytes: this.guest?.memoryBytes ?? 0,
          homeWaitMs: Math.round(this.homeWaitMs),
        });
        return;
      }
    }
  }

  /**
   * The user stopped the program at its home (Ctrl-Z): it stops here too rather than compute
   * on unseen. Its deputy is stopped meanwhile; the link waits for it (guest-link-liveness.ts).
   */
  private stopForUser(): void {
    const guest = this.guest;
    if (this.phase !== 'running' || guest === undefined || this.userStop !== undefined) return;
    this.host.log('stopped at home: holding the program');
    this.userStop = guest.hold().catch(() => undefined); // it ended meanwhile: nothing to hold
  }

  /** Continues a program the user stopped ('cont', or any order that needs it running). */
  private async afterUserStop(): Promise<void> {
    const stop = this.userStop;
    if (stop === undefined) return;
    this.userStop = undefined;
    await stop;
    if (this.phase !== 'running' || this.guest?.isHeld !== true) return;
    this.host.log('continued at home: the program goes on');
    await this.guest.resumeHeld();
  }

  private nextImageFile(): string {
    return join(this.host.imageDir(), `image-${++this.images}.osmosnap`);
  }

  /**
   * The feed of the guest restoring from the arriving image, started at its first bytes: the
   * instance is made and the memory filled while the rest is still on the way.
   */
  private arrivingImage(): ImageFeed {
    if (this.feed !== undefined) return this.feed;
    const guest = this.newGuest('image', true);
    this.feed = guest.imageFeed();
    void this.start(guest, guest.whenRestored());
    return this.feed;
  }

  /** The program, offered without an image, starts here from its beginning. */
  private startFresh(): void {
    if (this.host.fault?.kind === 'exit-after-resume') {
      // The node dies right after saying yes, before the program did anything here.
      this.send({ t: 'resumed' });
      void this.link.drain().then(() => this.host.crash?.());
      return;
    }
    const guest = this.newGuest('start', false);
    void this.start(guest, Promise.resolve());
  }

  private newGuest(what: string, fromImage: boolean): LocalGuest {
    const offer = this.offer;
    if (offer === undefined || this.phase !== 'receiving' || this.guest !== undefined)
      throw new OsmoError('E_PROTO_DECODE', `${what} without offer`);
    if (this.module === undefined)
      throw new OsmoError('E_PROTO_DECODE', `${what} before the module it runs`);
    const guest = new LocalGuest({
      module: new WebAssembly.Module(this.module),
      moduleHash: offer.programHash,
      args: offer.args,
      env: offer.env,
      handler: this.relay(),
      strace: offer.strace,
      ...(offer.strace && { onTrace: (line: string) => this.send({ t: 'trace', line }) }),
      directStdioWrites: false,
      restoreStream: fromImage,
      reentry: reentryAllowed(this.module),
      cancelWaits: () => {
        // The deputy serves the waiting call: it may give it up and answer "suspend".
        this.send({ t: 'cancel-waits' });
        return false;
      },
    });
    this.guest = guest;
    for (const fd of this.pipelined) this.updatePosting(fd);
    return guest;
  }

  /** Tells the deputy only once the program really runs here (`ready`: its image loaded). */
  private async start(guest: LocalGuest, ready: Promise<void>): Promise<void> {
    try {
      await ready;
      this.phase = 'running';
      this.counted = true;
      this.host.running(true);
      this.send({
        t: 'resumed',
        ...(this.imageReceivedMs === undefined ? {} : { receivedMs: this.imageReceivedMs }),
      });
      if (this.host.fault?.kind === 'exit-after-resume') {
        await this.link.drain();
        this.host.crash?.();
      }
      void guest.outcome.then((o) => this.ended(o));
    } catch (error) {
      this.send({ t: 'failed', error: serializeError(error) });
      this.end('could not resume');
    }
  }

  private injectAtImageByte(): void {
    const fault = this.host.fault;
    if (fault?.kind === 'exit-at-image-byte' && this.imageBytesIn >= fault.bytes)
      this.host.crash?.();
    if (fault?.kind === 'cut-at-image-byte' && this.imageBytesIn >= fault.bytes) {
      this.link.destroy();
      this.linkLost(undefined);
    }
  }

  private setPipelined(fd: number, on: boolean): void {
    if (on) this.pipelined.add(fd);
    else this.pipelined.delete(fd);
    this.updatePosting(fd);
  }

  /**
   * The guest may post its writes to `fd` (runtime/posted-writes.ts) while they are pipelined and
   * no late failure waits to be reported: then the next write waits for its answer, the failure.
   */
  private updatePosting(fd: number): void {
    const flags = this.guest?.postedWrites;
    if (this.pipelined.has(fd) && !this.writeErrors.has(fd)) flags?.allow(fd);
    else flags?.forbid(fd);
  }

  /** The close of `fd` cannot fail (runner-wire.ts 'close-quietly'): the guest may post it. */
  private setQuietClose(fd: number, on: boolean): void {
    if (on) this.closeQuietly.add(fd);
    else this.closeQuietly.delete(fd);
    if (on) this.guest?.postedWrites.allow(fd, Posting.CLOSE);
    else this.guest?.postedWrites.forbid(fd, Posting.CLOSE);
  }

  /** The relay, timing every call the guest has to wait for (an answer, or the link draining). */
  private relay(): RequestHandler {
    const relayOne = this.relayOne();
    return (request, length, response, isCurrent) => {
      const answered = relayOne(request, length, response, isCurrent);
      if (typeof answered === 'number') return answered;
      const sentAt = performance.now();
      return answered.then((n) => {
        this.homeWaitMs += performance.now() - sentAt;
        return n;
      });
    };
  }

  /** System calls go to the deputy; writes to pipelined fds are answered here at once. */
  private relayOne(): RequestHandler {
    return (request, length, response, isCurrent) => {
      const raw = request.getUint16(0, true);
      // A posted write (runtime/posted-writes.ts): nobody reads its answer.
      const posted = (raw & POSTED_OP_BIT) !== 0;
      const op = raw & ~POSTED_OP_BIT;
      // Closing, renumbering or dropping rights ends pipelining: a write must then fail at once.
      const quiet =
        op === FD_CLOSE && length >= 8 && this.closeQuietly.has(request.getUint32(4, true));
      if ((op === FD_CLOSE || op === FD_RENUMBER || op === FD_SET_RIGHTS) && length >= 8) {
        this.setPipelined(request.getUint32(4, true), false);
        if (op !== FD_SET_RIGHTS) this.setQuietClose(request.getUint32(4, true), false);
        if (op === FD_RENUMBER && length >= 12) {
          this.setPipelined(request.getUint32(8, true), false);
          this.setQuietClose(request.getUint32(8, true), false);
        }
      }
      // The request where it lies in the channel: the guest does not touch the region again
      // before it has the answer, and the deputy's answer comes after the whole request did.
      const bytes = Buffer.from(request.buffer, request.byteOffset, length);
      if (posted) bytes.writeUInt16LE(op, 0);
      /** Sends `bytes` as a frame nobody waits for: the guest has its answer before the deputy's. */
      const sentAhead = (type: number, answer: () => number): number | Promise<number> => {
        // A large one is not copied (64 KiB copied into a new buffer each time cost the runner
        // more than sending it): it is answered once the link no longer needs the channel's bytes.
        if (length >= ZERO_COPY_FROM_BYTES) {
          return new Promise((resolve) => this.link.send(type, bytes, () => resolve(answer())));
        }
        // A small one is copied (the link copies the smallest itself) and answered at once, so
        // that a burst of them leaves in one corked write.
        const copy = length > SEND_COPIES_UP_TO_BYTES ? Buffer.from(bytes) : bytes;
        if (this.link.send(type, copy)) return answer();
        // The link is full: the guest waits, which is the back-pressure wanted.
        return this.link.drain().then(answer);
      };
      if (op === FD_WRITE && length >= 12 && this.pipelined.has(request.getUint32(4, true))) {
        const fd = request.getUint32(4, true);
        const failed = this.writeErrors.get(fd);
        // A posted write was counted as done: it is performed in order anyway, and a failure
        // still to be told waits for the next call on the fd (which the guest makes synchronously:
        // it may not post to the fd meanwhile).
        if (failed !== undefined && !posted) {
          this.writeErrors.delete(fd);
          this.updatePosting(fd);
          return encodeResponse(response, op, failed);
        }
        const n = request.getUint32(8, true);
        this.link.corkUntilTaskEnds(); // a burst of writes leaves as one (link/connection.ts)
        return sentAhead(Frame.SYSCALL_WRITE, () => encodeResponse(response, op, ok(n)));
      }
      if (posted || quiet) {
        // Any other posted request (a seek paying for reads served from bytes read ahead,
        // runtime/read-ahead.ts), or the close of a file open only for reading (it cannot fail):
        // performed at home in order, no answer comes back.
        // Nobody reads the answer: errno 0 alone, whatever the call's result.
        return sentAhead(Frame.SYSCALL_POSTED, () => encodeResponse(response, op, 0));
      }
      const fd = length >= 8 ? request.getUint32(4, true) : -1;
      return new Promise<number>((resolve) => {
        this.answer = (payload) => {
          if (!isCurrent()) return resolve(0);
          if (payload.length > response.byteLength) {
            this.fail(new OsmoError('E_PROTO_DECODE', 'answer larger than the response region'));
            return resolve(0);
          }
          // A pipelined write to this fd failed after it was answered: close or sync says so
          // (its failure arrived before this answer: the deputy serves in order).
          const failed = REPORTS_WRITE_FAILURE.has(op) ? this.writeErrors.get(fd) : undefined;
          if (failed !== undefined) {
            this.writeErrors.delete(fd);
            this.updatePosting(fd);
            return resolve(encodeResponse(response, op, failed));
          }
          new Uint8Array(response.buffer, response.byteOffset, payload.length).set(payload);
          resolve(payload.length);
        };
        this.link.send(Frame.SYSCALL, bytes);
      });
    };
  }

  /**
   * The deputy's state for an image, asked once the program has stopped here: the deputy answers
   * after serving every call sent before the question (runner-wire.ts 'state?').
   */
  private askDeputyState(): Promise<unknown> {
    this.stateWaiter?.reject(new OsmoError('E_PROTO_DECODE', 'a second state question'));
    return new Promise((resolve, reject) => {
      this.stateWaiter = { resolve, reject };
      if (!this.send({ t: 'state?' })) {
        this.stateWaiter = undefined;
        reject(new OsmoError('E_LINK', 'the link to the deputy is gone'));
      }
    });
  }

  /** The guest when it runs here; otherwise tells the deputy why `what` cannot be done. */
  private runningGuest(what: string): LocalGuest | undefined {
    if (this.guest !== undefined && this.phase === 'running') return this.guest;
    this.send({
      t: 'failed',
      error: { code: 'E_USAGE', message: `cannot ${what}: the guest is ${this.phase}` },
    });
    return undefined;
  }

  /**
   * Stop the program and stream its image from memory; keep it, stopped, until the deputy says
   * drop or resume (also when the link is cut on the way: the deputy comes back).
   */
  private async suspend(withState: boolean): Promise<void> {
    const guest = this.runningGuest('suspend');
    if (guest === undefined) return;
    this.phase = 'suspending';
    const link = this.link;
    const fault = this.host.fault;
    try {
      this.send({ t: 'image' });
      const deputy = withState ? () => this.askDeputyState() : NO_DEPUTY_STATE;
      await streamImageTo(link, guest, deputy, (sent) => {
        if (fault === undefined || this.faultFired || !('bytes' in fault) || sent < fault.bytes)
          return;
        if (fault.kind === 'exit-sending-image') this.host.crash?.();
        if (fault.kind === 'cut-sending-image') {
          this.faultFired = true;
          link.destroy();
        }
      });
      this.phase = 'parked';
    } catch (error) {
      // Stopped with its memory (the send was cut short): parked, for the deputy to decide.
      // Not stopped at all (it could not be suspended): it goes on running.
      this.phase = guest.isHeld ? 'parked' : 'running';
      // A send cut short by a lost link is no news to a deputy that came back over a new one:
      // told there, it would take the 'failed' as the answer to its 'resume'.
      if (this.link === link) this.send({ t: 'failed', error: serializeError(error) });
    }
  }

  /** An image for the deputy to keep (a checkpoint); the program goes on. */
  private async checkpoint(): Promise<void> {
    const guest = this.runningGuest('checkpoint');
    if (guest === undefined) return;
    let file: string | undefined;
    try {
      // Inside: a directory that cannot be made fails this checkpoint, not the runner.
      file = this.nextImageFile();
      const written = await guest.checkpoint(file, () => this.askDeputyState());
      this.send({ t: 'image', bytes: written.bytes });
      await sendImageFile(this.link, file);
    } catch (error) {
      this.send({ t: 'failed', error: serializeError(error) });
    } finally {
      if (file !== undefined) removeQuietly(file);
    }
  }

  /**
   * The move failed: the program goes on here, where it was kept stopped. Asked while its image
   * is still being sent over a link that was cut, this waits for that send to give up.
   */
  private async resumeHere(): Promise<void> {
    const guest = this.guest;
    if (guest === undefined || (this.phase !== 'parked' && this.phase !== 'suspending')) return;
    try {
      await guest.resumeHeld();
      this.phase = 'running';
      this.send({ t: 'resumed' });
    } catch (error) {
      this.send({ t: 'failed', error: serializeError(error) });
      this.end('could not resume');
    }
  }

  private ended(outcome: GuestOutcome): void {
    if (this.phase === 'done') return;
    this.send({ t: 'outcome', outcome });
    this.link.close(LAST_WORDS_WAIT_MS);
    this.end('program ended');
  }

  private linkLost(error: OsmoError | undefined): void {
    this.stateWaiter?.reject(error ?? new OsmoError('E_LINK', 'the link to the deputy was lost'));
    this.stateWaiter = undefined;
    if (this.phase === 'done') return;
    if (this.phase === 'parked' || this.phase === 'suspending') {
      // Its image may or may not have reached home: keep it, stopped, for the deputy to come
      // back and say drop or resume. Not running, it cannot run twice; given up after a while.
      this.host.log('link to the deputy lost while parked: waiting for it', {
        phase: this.phase,
        error: error?.message,
      });
      this.grace = setTimeout(() => this.end('deputy never came back'), PARKED_GRACE_MS);
      return;
    }
    // No deputy, no program: it must not run on unseen (and it must never run twice).
    this.host.log('link to the deputy lost: guest killed', {
      phase: this.phase,
      error: error?.message,
    });
    void this.guest?.kill({
      kind: 'error',
      error: { code: 'E_LINK', message: 'the link to the deputy was lost' },
    });
    this.end('link lost');
  }

  private fail(error: unknown): void {
    this.host.log('protocol error: guest killed', { error: String(error) });
    this.link.destroy(isOsmoError(error) ? error : undefined);
    this.linkLost(undefined);
  }

  private end(why: string): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.grace);
    this.feed?.abort(why);
    // A held guest still holds its channel: release it (its outcome no longer matters).
    void this.guest?.kill({ kind: 'exit', code: 0 });
    if (this.counted) this.host.running(false);
    this.host.log('guest gone', { why });
    // Done once the deputy has everything this link still carries (see LAST_WORDS_WAIT_MS).
    if (this.link.state === 'closing') void this.link.closed.then(() => this.finish());
    else this.finish();
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
