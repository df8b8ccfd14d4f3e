/**
 * The deputy's side of a program running on another node: the link to its runner, over which
 * the deputy serves every system call exactly as it does for a guest at home (the same handler,
 * one request at a time, in order), and drives the runner: suspend, checkpoint, drop, resume,
 * kill (docs/migration.md).
 */
import { writeSync } from 'node:fs';
import { guestLinkLiveness } from './guest-link-liveness.js';
import { OsmoError, serializeError } from '../core/errors.js';
import { LinkConnection, deriveLinkKey } from '../link/index.js';
import { encodeResponse } from '../protocol/syscall-codec.js';
import { RESPONSE_DATA_OFFSET, syscallId } from '../protocol/syscall-table.js';
import { DEFAULT_REGION_BYTES } from '../runtime/channel.js';
import type { RequestHandler } from '../runtime/channel.js';
import type { GuestOutcome } from '../runtime/guest-messages.js';
import type { DeputyStateOf } from '../runtime/local-guest.js';
import { AHEAD_EOF_BIT, OPEN_AHEAD_WORD } from '../runtime/read-ahead.js';
import { SUSPEND_ERRNO } from '../runtime/preemption.js';
import { cancelWaitWhenPossible } from '../runtime/cancel-wait.js';
import { ImageReceiver } from './image-transfer.js';
import { FIRST_WINDOW, ReadAheadWindows } from './read-ahead-window.js';
import type { IncomingImage } from './image-transfer.js';
import { Frame, decodeMessage, encodeMessage } from './runner-wire.js';
import type { DeputyMessage, RunnerMessage } from './runner-wire.js';

/** What the target's daemon answered when it admitted the guest. */
export interface RunnerGrant {
  /** The target node's name. */
  node: string;
  host: string;
  port: number;
  /** Per-migration secret: the runner accepts only a link proving it (hex). */
  token: string;
  /** The target already holds the module: no need to send it. */
  hasModule: boolean;
  /** Wrap the link in TLS (PSK from the token). */
  tls?: boolean;
}

export interface ProgramOffer {
  moduleHash: string;
  programHash: string;
  moduleBytes: () => Uint8Array;
  args: string[];
  env: string[];
  strace: boolean;
  pipelinedFds: number[];
}

export interface PlacementOptions {
  /** Serves the guest's system calls (the same handler as at home). */
  handler: RequestHandler;
  /** Gives up a waiting read or poll if that consumes nothing (HostBackend.cancelWaits). */
  cancelWaits: () => boolean;
  heartbeatMs?: number;
  /** Whether writes to this fd may be answered by the runner before they are done here. */
  pipelinable?: (fd: number) => boolean;
  /** `count` pipelined writes were performed as one (the handler saw one call): for counters. */
  writesMerged?: (count: number) => void;
  /** Where bytes of a file the program reads in order come from, to send them ahead. */
  readAhead?: ReadAheadSource;
}

/** A deputy's files, for read-ahead (HostBackend.readAheadOffset / readAheadAt). */
export interface ReadAheadSource {
  /** The fd's offset if it may be read ahead (a regular file the program reads), else undefined. */
  offsetOf(fd: number): bigint | undefined;
  /** Reads at `at` without moving the offset; the count (0 at the end or on a failure). */
  readAt(fd: number, dest: Uint8Array, at: bigint): number;
}

/** At most this many bytes of consecutive pipelined writes are performed as one. */
const MERGE_LIMIT_BYTES = 1 << 20;

const FD_WRITE = syscallId('fdWrite');
const FD_READ = syscallId('fdRead');
const FD_CLOSE = syscallId('fdClose');
const FD_RENUMBER = syscallId('fdRenumber');
const PATH_OPEN = syscallId('pathOpen');

export class RemotePlacement {
  /** Settles when the program ends there, or is lost with its node or link. */
  readonly outcome: Promise<GuestOutcome>;
  private settle: (o: GuestOutcome) => void = () => undefined;
  private readonly response = Buffer.alloc(DEFAULT_REGION_BYTES + 64);
  private readonly queue: { type: number; payload: Buffer }[] = [];
  private serving = false;
  /** The request being served asynchronously (an object per request: see isCurrent). */
  /** The call being served; `performed` once its effect happened (it can no longer be abandoned). */
  private current: { op: number; performed: boolean } | undefined;
  private waiters: ((m: RunnerMessage) => boolean)[] = [];
  private receiver: IncomingImage | undefined;
  /** Read-ahead per fd (read-ahead-window.ts). */
  private readonly windows = new ReadAheadWindows();
  /** The deputy's state for the image being asked for, if it carries one. */
  private deputyState: DeputyStateOf | undefined;
  private receivedBytes = 0;
  private imageStarted = 0;
  /** First → last byte of the latest image that moved between here and there, at the receiver. */
  lastImageMs: number | undefined;
  private imageDone: { resolve: (bytes: number) => void; reject: (e: Error) => void } | undefined;
  private released = false;
  /** Resolves when the first system call from there is served: from then on, home saw effects. */
  readonly firstSyscall: Promise<void>;
  private markFirstSyscall: () => void = () => undefined;
  private served = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /** The runner confirmed that the program runs there (or started it there). */
  private taken = false;
  /** Bringing the image home: a cut link then leaves the program parked there, not lost. */
  private parking = false;
  /**
   * The runner reported the program's end. It may have done so just as a suspension was asked
   * for, and then closed the link and gone: nothing is parked there to come back to.
   */
  private ended = false;

  private constructor(
    readonly grant: RunnerGrant,
    private link: LinkConnection,
    private readonly options: PlacementOptions,
  ) {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    this.firstSyscall = new Promise((resolve) => (this.markFirstSyscall = resolve));
    this.attach(link);
  }

  private attach(link: LinkConnection): void {
    this.link = link;
    link.onFrame((type, payload) => this.onFrame(type, payload));
    void link.closed.then((error) => {
      if (this.link !== link) return;
      this.imageDone?.reject(
        error ?? new OsmoError('E_LINK', `node ${this.grant.node} closed the link mid-image`),
      );
      this.imageDone = undefined;
      this.receiver?.abort(error?.message ?? 'the link closed');
      this.receiver = undefined;
      const lost: GuestOutcome = {
        kind: 'error',
        error: {
          code: 'E_PROCESS_LOST',
          message: `lost the process on node ${this.grant.node}: ${error?.message ?? 'its runner closed the link'}`,
        },
      };
      // Before the runner confirmed the program runs there, nothing was lost: the mover still
      // holds it, and the one waiting learns only that the node failed.
      const failure = this.ended
        ? this.endedFirst()
        : this.taken
          ? lost.error
          : {
              code: 'E_LINK' as const,
              message: `node ${this.grant.node} failed before the program ran there: ${error?.message ?? 'its runner closed the link'}`,
            };
      for (const w of this.waiters.splice(0)) w({ t: 'failed', error: failure });
      if (!this.released && !this.parking) this.settle(lost);
    });
  }

  private static linkTo(
    grant: RunnerGrant,
    options: PlacementOptions,
  ): Parameters<typeof LinkConnection.connect>[0] {
    return {
      host: grant.host,
      port: grant.port,
      key: deriveLinkKey(Buffer.from(grant.token, 'hex'), 'runner'),
      ...guestLinkLiveness({ heartbeatMs: options.heartbeatMs }),
      tls: grant.tls === true,
    };
  }

  /**
   * Sends the program and its image to the runner the target admitted it to, and resolves once
   * it runs there. `sendImage` puts the image on the link (IMAGE… IMAGE_END). On any failure the
   * runner has not resumed it (a runner that loses its link kills its guest), so the caller
   * still owns the only copy.
   */
  static async moveIn(
    grant: RunnerGrant,
    sendImage: (link: LinkConnection) => Promise<number>,
    offer: ProgramOffer,
    options: PlacementOptions,
  ): Promise<RemotePlacement> {
    const link = await LinkConnection.connect(RemotePlacement.linkTo(grant, options));
    const placement = new RemotePlacement(grant, link, options);
    const resumed = placement.nextMessage('resumed');
    try {
      placement.send({
        t: 'offer',
        moduleHash: offer.moduleHash,
        programHash: offer.programHash,
        moduleFollows: !grant.hasModule,
        args: offer.args,
        env: offer.env,
        strace: offer.strace,
        pipelinedFds: offer.pipelinedFds,
      });
      if (!grant.hasModule) link.send(Frame.MODULE, offer.moduleBytes());
      await sendImage(link);
      placement.lastImageMs = (await resumed).receivedMs;
      placement.taken = true;
      return placement;
    } catch (error) {
      placement.released = true;
      const targetGone = link.state === 'closed';
      link.destroy();
      // A send that failed because the target went away says only that a link is closed; the
      // waiter learns from the close which node failed, and that the program never ran there.
      throw targetGone
        ? await resumed.then(
            () => error,
            (failure: unknown) => failure,
          )
        : error;
    }
  }

  /**
   * Places a program that has not run anywhere yet: no image, the runner starts it from its
   * beginning. Resolves once it runs there.
   */
  static startIn(
    grant: RunnerGrant,
    offer: ProgramOffer,
    options: PlacementOptions,
  ): Promise<RemotePlacement> {
    const start = (link: LinkConnection): Promise<number> => {
      link.send(Frame.MSG, encodeMessage({ t: 'start' } satisfies DeputyMessage));
      return Promise.resolve(0);
    };
    return RemotePlacement.moveIn(grant, start, offer, options);
  }

  private send(m: DeputyMessage): void {
    this.link.send(Frame.MSG, encodeMessage(m));
  }

  /** Resolves with the next message of kind `t`; a 'failed' message rejects. */
  private nextMessage<T extends RunnerMessage['t']>(
    t: T,
  ): Promise<Extract<RunnerMessage, { t: T }>> {
    const next = new Promise<Extract<RunnerMessage, { t: T }>>((resolve, reject) => {
      this.waiters.push((m) => {
        if (m.t === 'failed') {
          reject(OsmoError.fromJSON(m.error));
          return true;
        }
        if (m.t !== t) return false;
        resolve(m as Extract<RunnerMessage, { t: T }>);
        return true;
      });
    });
    // The caller may fail before it awaits this (the link broke mid-send): not unhandled.
    next.catch(() => undefined);
    return next;
  }

  /**
   * Stops the program there and brings its image into `into` (a file, or a program restoring
   * here); the runner keeps its copy. Resolves with the image's size. If the link is cut on the
   * way the program stays parked there: {@link reattachAndResume} continues it.
   */
  async suspendInto(into: IncomingImage, deputy?: DeputyStateOf): Promise<number> {
    this.parking = true;
    try {
      const request = { t: 'suspend' as const, ...(deputy !== undefined && { withState: true }) };
      return (await this.imageAfter(request, into, deputy)).bytes;
    } catch (error) {
      if (this.link.state === 'open') this.parking = false;
      throw error;
    }
  }

  /** The program is parked there behind a cut link (see suspendInto). */
  get parked(): boolean {
    return this.parking && !this.ended && this.link.state !== 'open';
  }

  /** What a request that the program's end overtook learns: its outcome settles as it is. */
  private endedFirst(): { code: 'E_NO_PROCESS'; message: string } {
    return {
      code: 'E_NO_PROCESS',
      message: `the program ended on node ${this.grant.node} before it could be stopped`,
    };
  }

  /** The link was cut while the program was parked there: a new link, and it goes on there. */
  async reattachAndResume(): Promise<void> {
    if (this.ended) throw OsmoError.fromJSON(this.endedFirst());
    try {
      if (this.link.state !== 'open') {
        this.attach(await LinkConnection.connect(RemotePlacement.linkTo(this.grant, this.options)));
      }
      await this.resume();
    } catch (error) {
      this.parking = false;
      // Whatever state it is in there, it must not go on unseen: the deputy gives it up.
      if (this.link.state === 'open') {
        this.send({ t: 'kill', outcome: { kind: 'exit', code: 137 } });
        this.link.close();
      }
      const lost = {
        code: 'E_PROCESS_LOST' as const,
        message: `lost the process on node ${this.grant.node}: ${error instanceof Error ? error.message : String(error)}`,
      };
      this.settle({ kind: 'error', error: lost });
      throw OsmoError.fromJSON(lost);
    }
    this.parking = false;
  }

  /** A checkpoint taken there, written into `file` here; the program goes on. */
  async checkpointInto(
    file: string,
    deputy: DeputyStateOf,
  ): Promise<{ file: string; bytes: number }> {
    const receiver = new ImageReceiver(file);
    const { bytes, announced } = await this.imageAfter({ t: 'checkpoint' }, receiver, deputy);
    if (announced !== undefined && bytes !== announced) {
      receiver.abort();
      throw new OsmoError(
        'E_SNAPSHOT_CORRUPT',
        `image cut short: ${bytes} of ${announced} bytes arrived`,
      );
    }
    return { file, bytes };
  }

  /**
   * Sends `request` and takes the image the runner answers with into `into`. The receiver is in
   * place before the request leaves: IMAGE frames may arrive in the same read as the announcement.
   * `deputy` answers the runner's 'state?' once the program has stopped there.
   */
  private async imageAfter(
    request: DeputyMessage,
    into: IncomingImage,
    deputy?: DeputyStateOf,
  ): Promise<{ bytes: number; announced: number | undefined }> {
    this.deputyState = deputy;
    const done = new Promise<number>((resolve, reject) => {
      this.receiver = into;
      this.receivedBytes = 0;
      this.imageDone = { resolve, reject };
    });
    done.catch(() => undefined); // awaited below unless the announcement fails first
    const announced = this.nextMessage('image');
    this.send(request);
    try {
      const m = await announced;
      return { bytes: await done, announced: m.bytes };
    } catch (error) {
      if (this.receiver === into) {
        this.receiver = undefined;
        this.imageDone = undefined;
        into.abort(error instanceof Error ? error.message : String(error));
      }
      throw error;
    }
  }

  /** The image runs elsewhere now: the runner forgets it (or gives it up unseen, if cut). */
  drop(): void {
    this.released = true;
    this.parking = false;
    if (this.link.state === 'open') {
      this.send({ t: 'drop' });
      this.link.close();
    }
  }

  /** The move failed: the runner continues from the image it kept. */
  async resume(): Promise<void> {
    const resumed = this.nextMessage('resumed');
    this.send({ t: 'resume' });
    await resumed;
  }

  /**
   * The user stopped the program at home (Ctrl-Z): the runner holds it until {@link contForUser}.
   * Resolves once the order is on its way (this process is about to stop: nothing it leaves in
   * its own buffers would go out), or after `waitMs` if the link is congested.
   */
  async stopForUser(waitMs: number): Promise<void> {
    if (this.link.state !== 'open') return;
    this.send({ t: 'stop' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.link.drain().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
  }

  contForUser(): void {
    if (this.link.state === 'open') this.send({ t: 'cont' });
  }

  kill(outcome: GuestOutcome): void {
    this.released = true;
    this.send({ t: 'kill', outcome });
    this.link.close();
    this.settle(outcome);
  }

  async info(): Promise<{ cpuTimeMs: number; memoryBytes: number; homeWaitMs?: number }> {
    const info = this.nextMessage('info');
    this.send({ t: 'info?' });
    return info;
  }

  private onFrame(type: number, payload: Buffer): void {
    try {
      switch (type) {
        case Frame.SYSCALL:
        case Frame.SYSCALL_WRITE:
        case Frame.SYSCALL_POSTED:
          this.queue.push({ type, payload });
          if (!this.serving) void this.serve();
          return;
        case Frame.MSG:
          this.onMessage(payload);
          return;
        case Frame.IMAGE:
          if (this.receiver === undefined)
            throw new OsmoError('E_PROTO_DECODE', 'stray image data');
          // From the image's first byte: its first frame took time to arrive too.
          if (this.receivedBytes === 0) this.imageStarted = this.link.frameStartedMs;
          this.receivedBytes += payload.length; // before push: it may take the buffer over
          {
            const wait = this.receiver.push(payload);
            if (wait !== undefined) this.link.pauseReadingUntil(wait);
          }
          return;
        case Frame.IMAGE_END: {
          const receiver = this.receiver;
          const done = this.imageDone;
          this.receiver = undefined;
          this.imageDone = undefined;
          if (receiver === undefined || done === undefined)
            throw new OsmoError('E_PROTO_DECODE', 'stray image end');
          try {
            receiver.end();
            this.lastImageMs = performance.now() - this.imageStarted;
            done.resolve(this.receivedBytes);
          } catch (error) {
            done.reject(error as Error);
          }
          return;
        }
        default:
          throw new OsmoError('E_PROTO_DECODE', `unexpected frame type ${type} from the runner`);
      }
    } catch (error) {
      this.link.destroy(
        error instanceof OsmoError ? error : new OsmoError('E_LINK', String(error)),
      );
    }
  }

  private onMessage(payload: Buffer): void {
    const m = decodeMessage<RunnerMessage>(payload);
    if (m === undefined) throw new OsmoError('E_PROTO_DECODE', 'undecodable runner message');
    if (m.t === 'outcome') {
      this.released = true;
      this.ended = true;
      // Pipelined writes sent before the end are still queued here: they land first.
      void this.idle().then(() => this.settle(m.outcome));
      return;
    }
    if (m.t === 'cancel-waits') {
      this.cancelWait();
      return;
    }
    if (m.t === 'state?') {
      void this.answerStateQuestion();
      return;
    }
    if (m.t === 'trace') {
      // Where a program at home traces to: this process's stderr (guest-worker.ts). Text from
      // another node never carries control characters to the user's terminal.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      writeSync(2, m.line.replace(/[\x00-\x09\x0b-\x1f\x7f]/g, '?'));
      return;
    }
    const i = this.waiters.findIndex((w) => w(m));
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /**
   * The program stopped there for an image that carries the deputy's state. The calls it made
   * before it stopped are ahead of this question on the link: the state is taken once they have
   * been served, so it is what the program saw (local-guest.ts DeputyStateOf).
   */
  private async answerStateQuestion(): Promise<void> {
    const stateOf = this.deputyState;
    await this.idle();
    try {
      if (stateOf === undefined) throw new OsmoError('E_PROTO_DECODE', 'no image wants a state');
      this.send({ t: 'state', deputy: (await stateOf()) ?? null });
    } catch (error) {
      this.send({ t: 'state', error: serializeError(error) });
    }
  }

  /** A suspension is wanted while the deputy waits on the guest's read or poll: give it up. */
  private cancelWait(): void {
    const c = this.current;
    if (c === undefined || c.performed) return;
    cancelWaitWhenPossible(
      c.op,
      this.options.cancelWaits,
      () => this.current === c,
      () => {
        this.current = undefined;
        const n = encodeResponse(this.responseView(), c.op, SUSPEND_ERRNO);
        this.link.send(Frame.SYSCALL_ANSWER, Buffer.from(this.response.subarray(0, n)));
      },
    );
  }

  /** System calls served for the program there so far. */
  get syscallsServed(): number {
    return this.served;
  }

  /** Serves queued requests strictly in order: a pipelined write lands before what follows it. */
  private async serve(): Promise<void> {
    this.serving = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        if (this.served++ === 0) this.markFirstSyscall();
        if (next.type === Frame.SYSCALL_WRITE)
          await this.servePipelinedWrite(this.withFollowingWrites(next.payload));
        else if (next.type === Frame.SYSCALL_POSTED) await this.servePosted(next.payload);
        else await this.serveOne(next.payload);
      }
    } finally {
      this.serving = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves once every system call received so far has been served. */
  private idle(): Promise<void> {
    if (!this.serving && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private responseView(): DataView {
    return new DataView(this.response.buffer, this.response.byteOffset, this.response.length);
  }

  private async serveOne(payload: Buffer): Promise<void> {
    const request = new DataView(payload.buffer, payload.byteOffset, payload.length);
    const token = { op: payload.length >= 2 ? request.getUint16(0, true) : -1, performed: false };
    this.current = token;
    const response = this.responseView();
    const result = this.options.handler(
      request,
      payload.length,
      response,
      () => this.current === token,
    );
    // Done at once (a file read: its offset moved): a 'cancel-waits' handled before this
    // function goes on must not answer it "suspend" — the guest would read the next block.
    if (!(result instanceof Promise)) token.performed = true;
    const n = await result;
    if (this.current !== token) return; // answered early (cancelWait)
    this.current = undefined;
    let length = token.op === FD_READ ? this.withBytesAhead(request, payload.length, n) : n;
    this.forgetClosed(token.op, request, payload.length);
    if (token.op === PATH_OPEN && n >= 8 && response.getUint32(0, true) === 0) {
      const fd = response.getUint32(4, true);
      // Before the answer, on the same ordered link: the runner knows it when the guest does.
      if (this.options.pipelinable?.(fd) === true) this.send({ t: 'pipeline', fd });
      else if (this.options.readAhead?.offsetOf(fd) !== undefined) {
        this.send({ t: 'close-quietly', fd });
        length = this.withFirstBytes(fd, n);
      }
    }
    this.link.send(Frame.SYSCALL_ANSWER, Buffer.from(this.response.subarray(0, length)));
  }

  /**
   * After the answer to an fd_read (`n` bytes long, in this.response): the bytes of the file that
   * follow, when the program reads it in order (read-ahead-window.ts), appended to the answer
   * with their count at @12. The answer's new length.
   */
  private withBytesAhead(request: DataView, requestLength: number, n: number): number {
    const source = this.options.readAhead;
    if (source === undefined || requestLength < 12 || n < RESPONSE_DATA_OFFSET) return n;
    if (this.response.readUInt32LE(0) !== 0) return n;
    const fd = request.getUint32(4, true);
    const end = source.offsetOf(fd);
    if (end === undefined) return n;
    const read = this.response.readUInt32LE(4);
    const asked = request.getUint32(8, true);
    // What the guest's response region holds after the read's own bytes.
    const room = DEFAULT_REGION_BYTES - n;
    const want = this.windows.afterRead(fd, end, read, asked, room);
    // A short read of a regular file ended at its end: the next read there returns 0.
    if (read > 0 && read < asked) this.response.writeUInt32LE(AHEAD_EOF_BIT >>> 0, 12);
    if (want === 0) return n;
    const got = source.readAt(fd, this.response.subarray(n, n + want), end);
    if (got === 0) return n;
    this.windows.sent(fd, got);
    this.response.writeUInt32LE(got, 12);
    return n + got;
  }

  /**
   * After the answer to a path_open of a file open only for reading (`n` bytes): its first bytes
   * and the ahead word (at OPEN_AHEAD_WORD, the bytes from RESPONSE_DATA_OFFSET), as after a read:
   * a small file is then read with no round trip of its own. The answer's new length.
   */
  private withFirstBytes(fd: number, n: number): number {
    const source = this.options.readAhead;
    if (source === undefined || n > RESPONSE_DATA_OFFSET) return n;
    const got = source.readAt(
      fd,
      this.response.subarray(RESPONSE_DATA_OFFSET, RESPONSE_DATA_OFFSET + FIRST_WINDOW),
      0n,
    );
    this.windows.opened(fd, got);
    // Fewer than asked: the file ends there (an empty file too).
    const word = (got < FIRST_WINDOW ? AHEAD_EOF_BIT : 0) + got;
    this.response.fill(0, n, RESPONSE_DATA_OFFSET);
    this.response.writeUInt32LE(word >>> 0, OPEN_AHEAD_WORD);
    return RESPONSE_DATA_OFFSET + got;
  }

  /** A request the runner answered already (runner-wire.ts SYSCALL_POSTED): perform it. */
  private async servePosted(payload: Buffer): Promise<void> {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    await this.options.handler(view, payload.length, this.responseView(), () => true);
    this.forgetClosed(payload.length >= 2 ? view.getUint16(0, true) : -1, view, payload.length);
  }

  /** A closed or renumbered fd: what read-ahead knew of it is for another file now. */
  private forgetClosed(op: number, request: DataView, length: number): void {
    if ((op === FD_CLOSE || op === FD_RENUMBER) && length >= 8)
      this.windows.forget(request.getUint32(4, true));
  }

  /**
   * `first` and the pipelined writes to the same fd queued right behind it, as one write: a
   * burst of small writes is then one write here — one trip through libuv's thread pool for a
   * pipe instead of one each. Nothing else comes between them, so order is the same; a failure is
   * reported for the fd as for any pipelined write (one call late at most).
   */
  private withFollowingWrites(first: Buffer): Buffer {
    const dataOf = (p: Buffer): Buffer | undefined => {
      if (p.length < 12) return undefined;
      const length = p.readUInt32LE(8);
      return length <= p.length - 12 ? p.subarray(12, 12 + length) : undefined;
    };
    const head = dataOf(first);
    if (head === undefined) return first; // malformed: the handler says so
    const fd = first.readUInt32LE(4);
    const parts = [head];
    let total = head.length;
    for (;;) {
      const next = this.queue[0];
      if (next?.type !== Frame.SYSCALL_WRITE) break;
      const data = dataOf(next.payload);
      if (data === undefined || next.payload.readUInt32LE(4) !== fd) break;
      if (total + data.length > MERGE_LIMIT_BYTES) break;
      this.queue.shift();
      this.served++;
      parts.push(data);
      total += data.length;
    }
    if (parts.length === 1) return first;
    this.options.writesMerged?.(parts.length - 1);
    return fdWriteRequest(fd, parts);
  }

  /** The runner answered this write already: perform all of it; report a failure afterwards. */
  private async servePipelinedWrite(payload: Buffer): Promise<void> {
    let request = payload;
    for (;;) {
      const view = new DataView(request.buffer, request.byteOffset, request.length);
      const fd = view.getUint32(4, true);
      const length = view.getUint32(8, true);
      const response = this.responseView();
      await this.options.handler(view, request.length, response, () => true);
      const errno = response.getUint32(0, true);
      if (errno !== 0) {
        this.send({ t: 'write-failed', fd, errno });
        return;
      }
      const written = response.getUint32(4, true);
      if (written >= length || written === 0) return;
      // A short write: the rest, as a request of its own.
      request = fdWriteRequest(fd, [request.subarray(12 + written, 12 + length)]);
    }
  }
}

/** An fd_write request (u16 op, u32 fd at 4, u32 length at 8, the bytes from 12) of `parts`. */
function fdWriteRequest(fd: number, parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const request = Buffer.alloc(12 + length);
  request.writeUInt16LE(FD_WRITE, 0);
  request.writeUInt32LE(fd, 4);
  request.writeUInt32LE(length, 8);
  let at = 12;
  for (const part of parts) {
    request.set(part, at);
    at += part.length;
  }
  return request;
}
