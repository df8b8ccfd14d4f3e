/**
 * `osmo ctl status|block|unblock|expel|bring|reserve|release` [MOSIX: mosctl status / block /
 * noblock / expel / bring]: node administration through the local daemon, e.g. before a node
 * leaves the cluster, or while a batch job has it (osmo slurm).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { requestOnce } from '../daemon/control-client.js';
import { ADMIN_ACTIONS } from '../daemon/control-protocol.js';
import type { AdminAction, AdminResult } from '../daemon/control-protocol.js';
import { requireDaemonSocket } from '../daemon/socket-path.js';
import { fail } from './report.js';
import { DAEMON_OPTION_HELP } from './status.js';
import { counted } from '../core/counted.js';
import { OsmoError } from '../core/errors.js';

/** How long expel and reserve (and osmo slurm prolog) wait for the guests to leave. */
export const DEFAULT_WAIT_SECONDS = 60;
/** A `bring` waits for every move; a move of a large program may take a while. */
const BRING_TIMEOUT_MS = 10 * 60_000;

export function registerCtl(program: Command): void {
  program
    .command('ctl')
    .description(
      'administer this node: show its guests, block or unblock them, expel them, bring programs home',
    )
    .argument('<action>', `one of ${ADMIN_ACTIONS.join(', ')}`, parseAction)
    .argument('[id]', 'reserve, release: who holds the node (release: "all" for every holder)')
    .option('--json', 'print the daemon’s answer as JSON')
    .option(
      '--wait <seconds>',
      `expel, reserve: how long to wait for the guests to leave [default: ${DEFAULT_WAIT_SECONDS}]`,
      parseSeconds,
    )
    .option('--daemon <path>', DAEMON_OPTION_HELP)
    .addHelpText(
      'after',
      `
Actions (MOSIX's mosctl):
  status       whether the node takes guests, who reserved it, which guests it runs (home:pid),
               how it ranks other clusters (--cluster-priorities), its flood limit
               (--max-local-processes)
  block        take no new guests; those here stay (gossiped: other nodes stop choosing this one)
  unblock      take guests again
  expel        block, then ask each guest's home to move it away: to the best other node with
               room, or home (a program started with -L goes home); waits until they left. A
               native program (osmo run -E) never moves: named, not waited for
  bring        move every program started here that runs elsewhere back home (each may be moved
               out again by the balancer later; start it with -L to keep it home)
  reserve ID   hold the node for work outside Osmosis (a batch job): no guests, those here
               expelled as by expel; gossiped as "reserved". Several holders may overlap
  release ID   end hold ID ("all": every hold); the node takes guests once none is left

Before a node leaves the cluster: osmo ctl expel && osmo ctl bring, then stop its daemon. A
block lasts until unblock or until the daemon restarts (acceptGuests in the configuration is
the lasting setting); a reservation lasts until released, across restarts (osmo slurm holds
and releases them for SLURM jobs).

Exit status: 0 done, 1 some guest did not leave, some program did not come home (each is
named) or release found no such hold, 2 bad invocation, 69 no daemon answering, 70 internal
error.`,
    )
    .action(
      async (
        action: AdminAction,
        id: string | undefined,
        opts: { json?: boolean; wait?: number; daemon?: string },
      ) => {
        try {
          const holds = action === 'reserve' || action === 'release';
          if (holds !== (id !== undefined)) {
            throw new OsmoError(
              'E_USAGE',
              holds
                ? `ctl ${action} needs an ID: who holds the node (e.g. slurm-job-42)`
                : `ctl ${action} takes no ID (only reserve and release do)`,
            );
          }
          const waitMs = (opts.wait ?? DEFAULT_WAIT_SECONDS) * 1000;
          const result = await requestOnce(
            requireDaemonSocket(opts.daemon, process.env),
            'admin',
            { action, waitMs, ...(id === undefined ? {} : { id }) },
            action === 'bring' ? BRING_TIMEOUT_MS : waitMs + 15_000,
          );
          const { text, complete } = renderAdmin(result);
          process.stdout.write(opts.json === true ? `${JSON.stringify(result)}\n` : text);
          if (!complete) process.exitCode = 1;
        } catch (e) {
          process.exitCode = fail(e);
        }
      },
    );
}

/** What `osmo ctl` prints, and whether everything asked was done. */
export function renderAdmin(r: AdminResult): { text: string; complete: boolean } {
  const lines: string[] = [];
  let complete = true;
  const held = (r.reservations ?? []).map((h) => h.id);
  const state =
    held.length > 0
      ? `reserved for ${held.join(', ')} (takes no guests)`
      : r.blocked
        ? 'blocked (takes no new guests)'
        : 'accepting guests';
  const expelledLines = (): void => {
    const expelled = r.expelled ?? [];
    lines.push(`${r.node}: ${state}; ${counted(expelled.length, 'guest')} expelled`);
    for (const g of expelled) {
      if (g.error !== undefined) complete = false;
      lines.push(
        `  ${g.home}:${g.pid} ${g.error === undefined ? `→ ${g.to === g.home ? `${g.to} (home)` : g.to}` : `not expelled: ${g.error}`}`,
      );
    }
    const remaining = r.remaining ?? 0;
    if (remaining > 0) {
      complete = false;
      lines.push(
        `${r.node}: ${counted(remaining, 'guest')} still here (try again, or wait longer with --wait)`,
      );
    }
  };
  switch (r.action) {
    case 'status': {
      const guests = [...(r.guests ?? [])].sort(
        (x, y) => x.home.localeCompare(y.home) || x.pid - y.pid,
      );
      lines.push(`${r.node}: ${state}; ${counted(guests.length, 'guest')}`);
      for (const g of guests)
        lines.push(
          `  ${g.home}:${g.pid} ${g.running ? 'running' : 'on its way'}${g.native === true ? ', native (never moves)' : ''}${g.job === undefined ? '' : ` (job ${g.job})`}`,
        );
      const ranks = Object.entries(r.clusterPriorities ?? {});
      lines.push(
        ranks.length === 0
          ? 'clusters: every cluster in the view ranked with this one'
          : `clusters: own 0, ${ranks.map(([c, p]) => `${c} ${p}`).join(', ')}; others refused`,
      );
      const limit = r.maxLocalProcesses ?? 0;
      lines.push(
        limit > 0
          ? `flood control: at most ${limit} of this home's programs run here at once`
          : 'flood control: off',
      );
      break;
    }
    case 'block':
    case 'unblock':
      lines.push(`${r.node}: ${state}`);
      break;
    case 'expel':
    case 'reserve':
      expelledLines();
      break;
    case 'release': {
      const released = r.released ?? [];
      complete = released.length > 0;
      lines.push(
        `${r.node}: ${complete ? `released ${released.join(', ')}` : 'no such hold'}; ${state}`,
      );
      break;
    }
    case 'bring': {
      const brought = r.brought ?? [];
      lines.push(`${r.node}: ${counted(brought.length, 'program')} away from home`);
      for (const p of brought) {
        if (p.result !== 'ok') complete = false;
        lines.push(`  ${p.pid} ${p.from} → home${p.result === 'ok' ? '' : ` failed: ${p.result}`}`);
      }
      break;
    }
  }
  return { text: lines.join('\n') + '\n', complete };
}

function parseAction(value: string): AdminAction {
  if (!(ADMIN_ACTIONS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown action; use one of ${ADMIN_ACTIONS.join(', ')}.`);
  }
  return value as AdminAction;
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) {
    throw new InvalidArgumentError('give a number of seconds ≥ 0.');
  }
  return n;
}
