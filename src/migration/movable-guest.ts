/**
 * A program that may run at home or on another node and move between them while it runs
 * (docs/migration.md). At home it is a {@link LocalGuest}; away it is a {@link RemotePlacement}
 * whose system calls the same deputy serves. Every move is two-phase: the side giving the
 * program up keeps its image until the receiving side confirms the program runs there, and
 * resumes it on any failure — so a move that fails leaves the program where it was, and a
 * program never runs twice.
 */
import { renameSync, rmSync, statSync } from 'node:fs';
import { OsmoError } from '../core/errors.js';
import { originsAfterImage } from '../runtime/guest-clocks.js';
import type { ClockOrigins } from '../runtime/guest-clocks.js';
import type { GuestOutcome } from '../runtime/guest-messages.js';
import { NO_DEPUTY_STATE } from '../runtime/local-guest.js';
import type { DeputyStateOf, ImageWritten, LocalGuest } from '../runtime/local-guest.js';
import type { LinkConnection } from '../link/index.js';
import { snapshotCode } from '../snapshot/load.js';
import { ImageReceiver, ImageRelay, streamImageTo } from './image-transfer.js';
import type { IncomingImage } from './image-transfer.js';
import { RemotePlacement } from './remote-placement.js';
import type {
  PlacementOptions,
  ProgramOffer,
  ReadAheadSource,
  RunnerGrant,
} from './remote-placement.js';

export type MovableState = 'running' | 'checkpointing' | 'frozen' | 'migrating';

/**
 * Where a move goes: home, or a node whose daemon admits the program first — and frees the place
 * again (`withdraw`) if the program does not get there.
 */
export type MoveTarget =
  | 'home'
  | {
      node: string;
      admit: () => Promise<RunnerGrant>;
      withdraw?: (grant: RunnerGrant) => Promise<unknown>;
    };

export interface MoveResult {
  from: string;
  to: string;
  ms: number;
  imageBytes: number;
  /** The image's time on the wire (first → last byte at the receiver), if it crossed a link. */
  transferMs?: number;
}

export interface MovableGuestOptions {
  offer: ProgramOffer;
  /** Where in-flight images are kept (private to the user). */
  scratchFile: (purpose: string) => string;
  cancelWaits: () => boolean;
  /** Where a checkpoint the program asks for goes, and the deputy's state for it. */
  selfCheckpoint?: () => { file: string; deputy: DeputyStateOf };
  heartbeatMs?: number;
  /** Whether writes to an fd may be answered on the node before they are done at home. */
  pipelinable?: (fd: number) => boolean;
  /** Pipelined writes performed together as one (RemotePlacement): for the syscall counters. */
  writesMerged?: (count: number) => void;
  /** The deputy's files, to send bytes ahead of a program away reading one in order. */
  readAhead?: ReadAheadSource;
  /** Tells the user something they should know (a node died; the program went on at home). */
  notice?: (text: string) => void;
}

export const HOME = 'home';

/**
 * Another node to start on, chosen without the nodes in `refused`; undefined: start at home.
 */
export type NextStartNode = (
  refused: readonly string[],
) => Promise<Exclude<MoveTarget, 'home'> | undefined>;

/** Longest a Ctrl-Z waits for the stop order to leave, before this process stops all the same. */
const STOP_ORDER_WAIT_MS = 500;

export class MovableGuest {
  readonly outcome: Promise<GuestOutcome>;
  private settle: (o: GuestOutcome) => void = () => undefined;
  private remote: RemotePlacement | undefined;
  private stateNow: MovableState = 'running';
  /** Frozen at home from an image brought back from elsewhere. */
  private frozenFile: string | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private moves = 0;
  /**
   * The image the current placement started from (none: it started there from its beginning),
   * kept until it makes its first system call: if its node dies before that, nothing it did was
   * seen at home and it can go on — or start — here.
   */
  private fallback: { placement: RemotePlacement; file: string | undefined } | undefined;
  private arrived = new Date();
  private moved = 0;
  private leftLast: string | undefined;
  private lastMoved: MoveResult | undefined;

  constructor(
    readonly local: LocalGuest,
    private readonly options: MovableGuestOptions,
  ) {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    void local.outcome.then((o) => this.settle(o));
  }

  get state(): MovableState {
    if (this.stateNow !== 'running' || this.remote !== undefined) return this.stateNow;
    return this.local.state;
  }

  /** HOME or the node the program runs on. */
  get where(): string {
    return this.remote?.grant.node ?? HOME;
  }

  get placement(): RemotePlacement | undefined {
    return this.remote;
  }

  /** The program's memory when it runs here (0 away or frozen: see RemoteUsage for away). */
  get memoryBytesHere(): number {
    return this.remote === undefined && this.stateNow !== 'frozen' ? this.local.memoryBytes : 0;
  }

  /** When it arrived where it runs now (started, or its last move). */
  get arrivedAt(): Date {
    return this.arrived;
  }

  /** Moves it made (a start elsewhere and a recovery at home included), and the node it left last. */
  get migrations(): number {
    return this.moved;
  }

  get cameFrom(): string | undefined {
    return this.leftLast;
  }

  /** Its latest move with an image (whoever asked for it): what its home learns the links from. */
  get lastMove(): MoveResult | undefined {
    return this.lastMoved;
  }

  private arrivedFrom(node: string): void {
    this.arrived = new Date();
    this.moved++;
    // An arrival without an image timed (a recovery at home) must not pass for the last move.
    this.lastMoved = undefined;
    this.leftLast = node;
  }

  /** One operation at a time: moves, checkpoints, freezes queue behind each other. */
  private serialize<T>(step: () => Promise<T>): Promise<T> {
    const next = this.busy.then(step, step);
    this.busy = next.catch(() => undefined);
    return next;
  }

  migrate(target: MoveTarget): Promise<MoveResult> {
    return this.serialize(async () => {
      const from = this.where;
      const to = target === HOME ? HOME : target.node;
      if (this.stateNow === 'frozen')
        throw new OsmoError('E_USAGE', 'the process is frozen: continue it first');
      if (from === to) return { from, to, ms: 0, imageBytes: 0 };
      const started = performance.now();
      // Admission first: a refusal costs the program nothing.
      const grant = target === HOME ? undefined : await admitted(target, from);
      this.stateNow = 'migrating';
      this.moves++;
      try {
        const source = this.remote;
        const bytes =
          source === undefined
            ? await this.homeTo(grant!, target)
            : grant === undefined
              ? await this.awayToHome(source)
              : await this.awayTo(source, grant).catch(async (error: unknown) => {
                  await withdrawn(target, grant);
                  throw error;
                });
        this.arrivedFrom(from);
        // Home → node: measured by the node; node → home: here (A → B: the second leg).
        const transferMs = (this.remote ?? source)?.lastImageMs;
        this.lastMoved = {
          from,
          to,
          ms: performance.now() - started,
          imageBytes: bytes,
          ...(transferMs === undefined ? {} : { transferMs }),
        };
        return this.lastMoved;
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new OsmoError(
          error instanceof OsmoError ? error.code : 'E_LINK',
          `the move to ${to} failed (${why}); the process goes on at ${this.where}`,
        );
      } finally {
        this.stateNow = 'running';
      }
    });
  }

  /**
   * Starts a program that has not run yet (a LocalGuest made with deferStart) on another node,
   * from its beginning: no image to stop, encode or send. A node that refuses it (E_REFUSED: full,
   * or more run there than its home counted on) is replaced by `next`'s choice without the nodes
   * that refused; `next` choosing home starts it here. Without `next`, or if the start fails, it
   * starts here and the error says why.
   */
  startAt(first: Exclude<MoveTarget, 'home'>, next?: NextStartNode): Promise<MoveResult> {
    return this.serialize(async () => {
      const started = performance.now();
      this.stateNow = 'migrating';
      try {
        const taker = await firstToAdmit(first, next);
        if (taker === undefined) {
          this.local.startHere();
          return { from: HOME, to: HOME, ms: performance.now() - started, imageBytes: 0 };
        }
        const { target: admittedAt, grant: granted } = taker;
        const placement = await RemotePlacement.startIn(
          granted,
          this.options.offer,
          this.placementOptions(),
        ).catch(async (error: unknown) => {
          await withdrawn(admittedAt, granted);
          throw error;
        });
        this.adopt(placement);
        this.setFallback(placement, undefined);
        // Placed by the policy like a move: it stays there the minimum residency.
        this.arrived = new Date();
        this.moved++;
        return { from: HOME, to: admittedAt.node, ms: performance.now() - started, imageBytes: 0 };
      } catch (error) {
        this.local.startHere();
        throw error;
      } finally {
        this.stateNow = 'running';
      }
    });
  }

  /**
   * Home → a node: stop here and stream the image from memory to the node; the program stays
   * stopped here until the node confirms it runs there, and goes on here if it does not.
   */
  private async homeTo(grant: RunnerGrant, target: MoveTarget): Promise<number> {
    let bytes = 0;
    try {
      const placement = await this.moveIn(grant, async (link) => {
        bytes = await streamImageTo(link, this.local, NO_DEPUTY_STATE);
        return bytes;
      });
      this.adopt(placement);
      // Off the move's critical path: keep a fallback image until it makes its first system
      // call (see recoverAtHome), then free the memory here.
      void this.serialize(() => this.keepFallbackThenRelease(placement));
    } catch (error) {
      await this.local.resumeHeld();
      await withdrawn(target, grant);
      throw error;
    }
    return bytes;
  }

  private async keepFallbackThenRelease(placement: RemotePlacement): Promise<void> {
    try {
      if (this.remote === placement && placement.syscallsServed === 0) {
        const file = this.fallbackFile();
        await this.local.writeHeld(file, NO_DEPUTY_STATE);
        this.setFallback(placement, file);
      }
    } catch {
      // No fallback (disk full…): a loss of that node before its first call is then reported.
    } finally {
      await this.local.releaseHeld();
    }
  }

  /** A node → home: the image streams straight into a new instance here; the node then drops it. */
  private async awayToHome(source: RemotePlacement): Promise<number> {
    const restored = this.local.resumeFromStream();
    // It may fail (the image stopped coming) before bringImage does: handled below either way,
    // it must not count as unhandled meanwhile (that ends the deputy, and the program with it).
    restored.catch(() => undefined);
    const feed = this.local.imageFeed();
    let bytes: number;
    try {
      bytes = await bringImage(source, feed);
    } catch (error) {
      feed.abort(error instanceof Error ? error.message : String(error));
      await restored.catch(() => undefined);
      throw error;
    }
    try {
      await restored;
    } catch (error) {
      await source.reattachAndResume();
      throw error;
    }
    this.remote = undefined;
    this.dropFallback();
    source.drop();
    return bytes;
  }

  /**
   * A node → another node: the image streams through home on its way (a copy kept here as the
   * fallback until the program's first call there), then the first node drops it. If the target
   * fails, the image still arrives whole here and the program goes on where it was.
   */
  private async awayTo(source: RemotePlacement, grant: RunnerGrant): Promise<number> {
    const file = this.options.scratchFile(`move-${this.moves}`);
    let brought: Promise<number> | undefined;
    let bytes = 0;
    try {
      let placement: RemotePlacement;
      try {
        placement = await this.moveIn(grant, async (link) => {
          const relay = new ImageRelay(new ImageReceiver(file), link);
          brought = bringImage(source, relay);
          bytes = await brought;
          if (relay.targetFailure !== undefined) throw relay.targetFailure;
          return bytes;
        });
      } catch (error) {
        // The source sent its image whole and holds its copy (if it did not, bringImage has
        // already let it go on there, or reported it lost): it goes on there.
        if (brought !== undefined && (await fulfils(brought))) await source.reattachAndResume();
        throw error;
      }
      this.adopt(placement);
      this.keepFallback(placement, file);
      source.drop();
      return bytes;
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Sends the program to the runner `grant` names; it runs there once this resolves. */
  private moveIn(
    grant: RunnerGrant,
    sendImage: (link: LinkConnection) => Promise<number>,
  ): Promise<RemotePlacement> {
    return RemotePlacement.moveIn(grant, sendImage, this.options.offer, this.placementOptions());
  }

  private placementOptions(): PlacementOptions {
    return {
      handler: this.local.deputyHandler,
      cancelWaits: this.options.cancelWaits,
      ...(this.options.heartbeatMs === undefined ? {} : { heartbeatMs: this.options.heartbeatMs }),
      ...(this.options.pipelinable === undefined ? {} : { pipelinable: this.options.pipelinable }),
      ...(this.options.writesMerged === undefined
        ? {}
        : { writesMerged: this.options.writesMerged }),
      ...(this.options.readAhead === undefined ? {} : { readAhead: this.options.readAhead }),
    };
  }

  /** The program runs on `placement` now. */
  private adopt(placement: RemotePlacement): void {
    this.remote = placement;
    this.dropFallback();
    void placement.firstSyscall.then(() => {
      if (this.fallback?.placement === placement) this.dropFallback();
    });
    void placement.outcome.then((o) => {
      if (this.remote !== placement) return;
      // Lost with a fallback image, or while it is being kept (the program is still held
      // here): recoverAtHome decides, after keepFallbackThenRelease.
      if (
        o.kind === 'error' &&
        o.error.code === 'E_PROCESS_LOST' &&
        (this.fallback?.placement === placement || this.local.isHeld)
      ) {
        void this.serialize(() => this.recoverAtHome(placement, o));
        return;
      }
      this.finishWith(o);
    });
  }

  /** Keeps the image `placement` started from (moved aside from `file`) until its first call. */
  private keepFallback(placement: RemotePlacement, file: string): void {
    const kept = this.fallbackFile();
    renameSync(file, kept);
    this.setFallback(placement, kept);
  }

  private fallbackFile(): string {
    return this.options.scratchFile(`fallback-${this.moves}`);
  }

  /** `file` is the fallback of `placement`, unless it made its first call meanwhile. */
  private setFallback(placement: RemotePlacement, file: string | undefined): void {
    this.fallback = { placement, file };
    if (placement.syscallsServed > 0) this.dropFallback();
  }

  /** Its node died before the program did anything visible there: it goes on at home. */
  private async recoverAtHome(placement: RemotePlacement, lost: GuestOutcome): Promise<void> {
    const fallback = this.fallback?.placement === placement ? this.fallback : undefined;
    if (fallback === undefined || placement.syscallsServed > 0) {
      this.finishWith(lost);
      return;
    }
    const file = fallback.file;
    try {
      if (file === undefined) this.local.startHere();
      else await this.local.resumeFrom(file, await clocksOf(file));
      this.remote = undefined;
      this.arrivedFrom(placement.grant.node);
      this.dropFallback();
      this.options.notice?.(
        `node ${placement.grant.node} was lost right after taking process ${process.pid}; it goes on at home`,
      );
    } catch {
      this.finishWith(lost);
    }
  }

  private finishWith(o: GuestOutcome): void {
    this.dropFallback();
    this.settle(o);
    // Release the idle home side (its channel and timers).
    void this.local.kill(o);
  }

  private dropFallback(): void {
    if (this.fallback?.file !== undefined) rmSync(this.fallback.file, { force: true });
    this.fallback = undefined;
  }

  checkpoint(file: string, deputy: DeputyStateOf): Promise<ImageWritten> {
    return this.serialize(async () => {
      // Frozen, the program has not run since its image was written: that image is the checkpoint.
      const frozen = this.frozenFile ?? this.local.frozenImageFile;
      if (frozen !== undefined) {
        const started = performance.now();
        const bytes = await (await snapshotCode()).copyImageFile(frozen, file);
        return { file, bytes, ms: performance.now() - started };
      }
      const remote = this.remote;
      if (remote === undefined) return this.local.checkpoint(file, deputy);
      const started = performance.now();
      this.stateNow = 'checkpointing';
      try {
        const got = await remote.checkpointInto(file, deputy);
        return { file, bytes: got.bytes, ms: performance.now() - started };
      } finally {
        this.stateNow = 'running';
      }
    });
  }

  /** Freezing a program that runs elsewhere brings it home, frozen (its memory freed there). */
  freeze(file: string, deputy: DeputyStateOf): Promise<ImageWritten> {
    return this.serialize(async () => {
      const remote = this.remote;
      if (remote === undefined) return this.local.freeze(file, deputy);
      const started = performance.now();
      // With the deputy's state, as a freeze at home writes it: `osmo restart` can take it too.
      await bringImage(remote, new ImageReceiver(file), deputy);
      remote.drop();
      this.remote = undefined;
      this.dropFallback();
      this.frozenFile = file;
      this.stateNow = 'frozen';
      return { file, bytes: statSync(file).size, ms: performance.now() - started };
    });
  }

  continue(clocks: ClockOrigins): Promise<void> {
    return this.serialize(async () => {
      const file = this.frozenFile;
      if (file === undefined) return this.local.continue(clocks);
      await this.local.resumeFrom(file, await clocksOf(file));
      this.frozenFile = undefined;
      this.stateNow = 'running';
    });
  }

  requestSelfCheckpoint(): void {
    if (this.remote === undefined) {
      this.local.requestSelfCheckpoint();
      return;
    }
    const plan = this.options.selfCheckpoint?.();
    if (plan !== undefined) void this.checkpoint(plan.file, plan.deputy).catch(() => undefined);
  }

  /**
   * The user stopped this process (Ctrl-Z): a program away is held where it runs until
   * {@link continueWithHome}. At home it needs nothing: it stops with the process.
   */
  async stopWithHome(): Promise<void> {
    if (this.stateNow === 'running') await this.remote?.stopForUser(STOP_ORDER_WAIT_MS);
  }

  continueWithHome(): void {
    this.remote?.contForUser();
  }

  async kill(outcome: GuestOutcome): Promise<void> {
    this.remote?.kill(outcome);
    this.dropFallback();
    this.settle(outcome);
    await this.local.kill(outcome);
  }
}

/**
 * Brings the program's image from its node into `into`; resolves with its size. If it does not
 * arrive whole over a cut link, the program is parked there: it goes on there, and the error says
 * the move failed.
 */
async function bringImage(
  source: RemotePlacement,
  into: IncomingImage,
  deputy?: DeputyStateOf,
): Promise<number> {
  try {
    return await source.suspendInto(into, deputy);
  } catch (error) {
    if (source.parked) await source.reattachAndResume();
    throw error;
  }
}

/** Whether `p` fulfils: its rejection is an answer here, not an error. */
function fulfils(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => true,
    () => false,
  );
}

/** Clocks for continuing from an image: time goes on from where the image left it. */
async function clocksOf(file: string): Promise<ClockOrigins> {
  const image = (await snapshotCode()).openImageFile(file);
  try {
    return originsAfterImage(image.meta.counters);
  } finally {
    image.close();
  }
}

/**
 * The first node to admit a new program: `first`, else, each time one refuses it (E_REFUSED),
 * `next`'s choice without the nodes that refused. Undefined: `next` chose home. Any other
 * failure, or a refusal with no `next`, is thrown.
 */
export async function firstToAdmit(
  first: Exclude<MoveTarget, 'home'>,
  next?: NextStartNode,
): Promise<{ target: Exclude<MoveTarget, 'home'>; grant: RunnerGrant } | undefined> {
  const refused: string[] = [];
  let target = first;
  for (;;) {
    try {
      return { target, grant: await target.admit() };
    } catch (error) {
      if (next === undefined || !(error instanceof OsmoError && error.code === 'E_REFUSED')) {
        throw error;
      }
      refused.push(target.node);
      const another = await next(refused);
      if (another === undefined) return undefined;
      target = another;
    }
  }
}

/**
 * Frees the place `grant` holds on the target (the program did not get there), so that it does
 * not count there until the runner gives up waiting. Best effort, a second at most: the runner
 * ends by itself anyway.
 */
async function withdrawn(target: MoveTarget, grant: RunnerGrant): Promise<void> {
  if (target === HOME || target.withdraw === undefined) return;
  await target.withdraw(grant).catch(() => undefined);
}

async function admitted(target: Exclude<MoveTarget, 'home'>, from: string): Promise<RunnerGrant> {
  try {
    return await target.admit();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new OsmoError(
      error instanceof OsmoError ? error.code : 'E_LINK',
      `${why}; the process stays at ${from}`,
    );
  }
}
