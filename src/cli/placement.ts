/**
 * Where `osmo run` starts a program (MOSIX mosrun flags): -b best node (default when a daemon
 * runs here), -h home, -r NODE, -L never migrate automatically, -l may migrate, -m MB needed;
 * and -J, the job it belongs to, which mosrun lists among these.
 * A program that may move is instrumented (preemptible); one pinned home with -h -L is not.
 */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { OsmoError } from '../core/errors.js';
import { labelProblem } from '../core/labels.js';
import { requestOnce } from '../daemon/control-client.js';
import type { BestResult } from '../daemon/control-protocol.js';
import { MAX_START_NODES, startAsksConsent } from '../balance/consent.js';
import { resolveDaemonSocket } from '../daemon/socket-path.js';
import type { DeputySession, Mobility, StartChoice } from './deputy-session.js';
import { warn } from './report.js';
import { SLURM_JOB_ID, holdIdOf } from './slurm.js';

/** The MOSIX placement flags, as `osmo run` and `osmo restart` take them. */
export function addPlacementOptions(command: Command): Command {
  return command
    .option('-b, --best', 'start on the best node of the cluster (default when a daemon runs here)')
    .option('-h, --home', 'start at home')
    .option('-r, --run-on <NODE>', 'start on NODE (a name from osmo status)')
    .option('-L, --lock', 'never migrate automatically (osmo migrate still can)')
    .option('-l, --may-migrate', 'may migrate automatically (the default)')
    .option('-m, --memory <MB>', 'memory the program will need: only nodes with that much free')
    .option(
      '-J, --job <ID>',
      'the job the program belongs to, shown by osmo ps (default under SLURM: slurm-job-$SLURM_JOB_ID)',
    )
    .option(
      '--daemon <SOCKET>',
      "the local daemon's control socket (default: OSMOSIS_DAEMON or the usual places, see osmo status --help); none: run without one",
    );
}

export interface PlacementFlags {
  best?: boolean;
  home?: boolean;
  runOn?: string;
  lock?: boolean;
  mayMigrate?: boolean;
  memory?: string;
  job?: string;
  daemon?: string;
}

/**
 * The job a program belongs to (mosrun -J): as given, or, for a task SLURM started, its SLURM
 * job under the name its hold on a node has (osmo slurm); none otherwise.
 */
export function jobOf(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) {
    const problem = labelProblem('-J: a job id', flag);
    if (problem !== undefined) throw new OsmoError('E_USAGE', problem);
    return flag;
  }
  const slurm = env.SLURM_JOB_ID;
  return slurm !== undefined && SLURM_JOB_ID.test(slurm) ? holdIdOf({ id: slurm }) : undefined;
}

export interface Placement {
  /** Where to start: home, the best node (asked at start), or a named node. */
  start: { kind: 'home' } | { kind: 'best' } | { kind: 'node'; node: string };
  /** The system may move it by itself (issue 6). */
  autoMigrate: boolean;
  memoryBytes: number;
  /** The daemon here, when one answers: its socket and this node's name. */
  daemon: { socket: string; node: string } | undefined;
  /** The program must be instrumented. */
  mobile: boolean;
}

export async function resolvePlacement(flags: PlacementFlags): Promise<Placement> {
  const chosen = [flags.best, flags.home, flags.runOn !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new OsmoError('E_USAGE', 'choose one of -b, -h and -r NODE');
  if (flags.lock === true && flags.mayMigrate === true)
    throw new OsmoError('E_USAGE', 'choose one of -L (never migrate automatically) and -l');
  const memoryBytes = flags.memory === undefined ? 0 : parseMegabytes(flags.memory);
  const socket = resolveDaemonSocket(flags.daemon, process.env);
  const asked = flags.best === true || flags.runOn !== undefined;
  const explicit = asked || (flags.daemon !== undefined && socket !== undefined);
  if (socket === undefined && asked) {
    throw new OsmoError(
      'E_NO_NODE',
      '-b and -r need a daemon, and OSMOSIS_DAEMON or --daemon is "none"',
    );
  }
  const daemon = socket === undefined ? undefined : await reachDaemon(socket, explicit);
  const start: Placement['start'] =
    flags.runOn !== undefined
      ? { kind: 'node', node: flags.runOn }
      : flags.home === true || daemon === undefined
        ? { kind: 'home' }
        : { kind: 'best' };
  const autoMigrate = flags.lock !== true;
  return {
    start,
    autoMigrate,
    memoryBytes,
    daemon,
    mobile: daemon !== undefined && !(start.kind === 'home' && !autoMigrate),
  };
}

/** The local daemon's name, or undefined when none runs (an error if the user asked for one). */
async function reachDaemon(
  socket: string,
  required: boolean,
): Promise<{ socket: string; node: string } | undefined> {
  // No socket file, no daemon: asking would only build an error (~4 ms of a warm start).
  if (!required && !existsSync(socket)) return undefined;
  try {
    const ping = await requestOnce(socket, 'ping', undefined, 2000);
    return { socket, node: ping.node };
  } catch (error) {
    if (required) throw error;
    return undefined;
  }
}

export function mobilityOf(
  placement: Placement,
  moduleBytes: Uint8Array,
  job?: string,
): Mobility | undefined {
  if (placement.daemon === undefined) return undefined;
  return {
    ...(job === undefined ? {} : { job }),
    daemonSocket: placement.daemon.socket,
    homeNode: placement.daemon.node,
    moduleBytes,
    moduleHash: createHash('sha256').update(moduleBytes).digest('hex'),
    memoryBytes: placement.memoryBytes,
    autoMigrate: placement.autoMigrate,
  };
}

/**
 * The node a new program should start on, when not here: the one -r names, or the best one the
 * daemon here knows (-b). Asked before the program starts, so that one placed elsewhere never
 * runs here first. A daemon that cannot answer leaves it at home: said on stderr, never fatal.
 */
export async function startNodeOf(placement: Placement): Promise<StartChoice | undefined> {
  const { start, daemon } = placement;
  if (start.kind === 'home' || daemon === undefined) return undefined;
  try {
    if (start.kind === 'node') {
      return start.node === daemon.node ? undefined : { node: start.node };
    }
    const best = await askBest(daemon.socket, placement, []);
    if (best.roomy === false) {
      warn(
        `no node has ${Math.round(placement.memoryBytes / 2 ** 20)} MiB free (-m): the program starts ${best.self ? 'at home' : `on ${best.node}`}`,
      );
    }
    return choiceOf(best, daemon.node);
  } catch (error) {
    warn(`could not choose where to start the program (${messageOf(error)}); it runs at home`);
    return undefined;
  }
}

/** The daemon's best node, but for those in `refused`; undefined: home. */
async function bestNode(
  placement: Placement,
  refused: readonly string[],
): Promise<StartChoice | undefined> {
  const { daemon } = placement;
  if (daemon === undefined) return undefined;
  return choiceOf(await askBest(daemon.socket, placement, refused), daemon.node);
}

/** The daemon's `best` for this program, without the nodes in `refused`. */
function askBest(
  socket: string,
  placement: Placement,
  refused: readonly string[],
): Promise<BestResult> {
  return requestOnce(socket, 'best', { memoryBytes: placement.memoryBytes, refused });
}

function choiceOf(best: BestResult, home: string): StartChoice | undefined {
  if (best.self || best.node === home) return undefined;
  return {
    node: best.node,
    ...(best.expectedQueue !== undefined && { expectedQueue: best.expectedQueue }),
  };
}

/**
 * Starts the program on `away.node`; a node the daemon chose that refuses it (more run there
 * than counted on) is replaced by the daemon's next choice, and a choice of home runs it at
 * home. If the start fails otherwise, it runs at home, and stderr says why.
 */
export async function startAway(
  session: DeputySession,
  away: StartChoice,
  placement: Placement,
): Promise<void> {
  // The last node offered the start is not asked for its consent (../balance/consent.ts).
  const nextNode = async (refused: readonly string[]): Promise<StartChoice | undefined> => {
    if (refused.length >= MAX_START_NODES) return undefined;
    const choice = await bestNode(placement, refused);
    return choice === undefined || startAsksConsent(refused.length)
      ? choice
      : { node: choice.node };
  };
  const next = placement.start.kind === 'best' ? nextNode : undefined;
  try {
    await session.startAway(away.expectedQueue, next);
  } catch (error) {
    warn(`could not start the program on ${away.node} (${messageOf(error)}); it runs at home`);
  }
}

/**
 * A restarted program resumes here, then moves to `node` (an image has no "start there": it
 * must be read here first); if the move fails it goes on here, and stderr says why.
 */
export async function moveAfterRestore(session: DeputySession, away: StartChoice): Promise<void> {
  try {
    await session.migrate(away.node);
  } catch (error) {
    warn(`could not move the program to ${away.node} (${messageOf(error)}); it runs at home`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parseMegabytes(text: string): number {
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb < 0)
    throw new OsmoError('E_USAGE', `-m ${text}: expected megabytes, e.g. -m 512`);
  return Math.round(mb * (1 << 20));
}
