/**
 * `osmo ps` across the cluster [MOSIX: mosps]: each home daemon knows its own programs (they
 * register with its balancer, which reads each of them every interval); a daemon asked for the
 * whole cluster asks every live node for the programs of the same user at that node's home and
 * puts the answers together. Users are told apart by uid, as MOSIX does (the same uid means the
 * same user on every node).
 */
import { statSync } from 'node:fs';
import { OsmoError } from '../core/errors.js';
import { parseProcessInfo } from '../process-control/protocol.js';
import type { ProcessInfo } from '../process-control/types.js';
import type { ProcessesResult } from './control-protocol.js';

/** How long a node may take to answer before `osmo ps` names it as unanswered. */
export const PEER_PROCESSES_TIMEOUT_MS = 3_000;
/** Nodes asked at once: a large cluster is asked in waves, not with thousands of open links. */
export const PEER_PROCESSES_CONCURRENCY = 64;

/** The owner of a program's control socket: the user who started it (its directory is private). */
export function ownerOf(socket: string): number | undefined {
  try {
    return statSync(socket).uid;
  } catch {
    return undefined; // it just ended
  }
}

/** This home's programs, of user `uid` if given. */
export function homeProcesses(
  programs: readonly { info: ProcessInfo; socket: string }[],
  uid: number | undefined,
): ProcessInfo[] {
  return programs
    .filter((p) => uid === undefined || ownerOf(p.socket) === uid)
    .map((p) => p.info)
    .sort((a, b) => a.pid - b.pid);
}

/** The uid argument of a request: absent, or a non-negative integer. */
export function uidArgument(args: Record<string, unknown>): number | undefined {
  const { uid } = args;
  if (uid === undefined) return undefined;
  if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid < 0) {
    throw new OsmoError('E_USAGE', 'processes: uid must be a non-negative integer');
  }
  return uid;
}

/** A node's answer, checked: a confused or older node is reported as unanswered, never trusted. */
function processesOf(answer: unknown): ProcessInfo[] | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const list = (answer as { processes?: unknown }).processes;
  if (!Array.isArray(list)) return undefined;
  const parsed = list.map(parseProcessInfo);
  return parsed.every((p): p is ProcessInfo => p !== undefined) ? parsed : undefined;
}

/**
 * This home's answer plus every other live node's, asked at once; a node that fails or takes
 * longer than `timeoutMs` is named in `unanswered`.
 */
export async function gatherProcesses(
  own: ProcessesResult,
  peers: readonly { name: string; ask: () => Promise<unknown> }[],
  timeoutMs = PEER_PROCESSES_TIMEOUT_MS,
  concurrency = PEER_PROCESSES_CONCURRENCY,
): Promise<ProcessesResult> {
  const askOne = async (peer: (typeof peers)[number]): Promise<ProcessInfo[] | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      // then(): an ask that throws at once counts as unanswered too, like one that rejects.
      const asked = Promise.resolve()
        .then(() => peer.ask())
        .catch(() => undefined);
      return processesOf(await Promise.race([asked, late]));
    } finally {
      clearTimeout(timer);
    }
  };
  // Each answer in its peer's place: the result does not depend on which node answered first.
  const answers = new Array<ProcessInfo[] | undefined>(peers.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < peers.length) {
      const i = next++;
      answers[i] = await askOne(peers[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, peers.length) }, worker));
  const processes = [...own.processes];
  const unanswered: string[] = [];
  for (const [i, answer] of answers.entries()) {
    if (answer === undefined) unanswered.push(peers[i]!.name);
    else processes.push(...answer);
  }
  return { node: own.node, processes, unanswered: unanswered.sort() };
}
