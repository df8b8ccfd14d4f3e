/**
 * `osmo runner` (hidden): a guest runner process, started by its node daemon ahead of need. It
 * listens for the one link its admitted guest's deputy opens (proving the per-migration token),
 * then runs the guest (migration/guest-runner.ts) and exits when the guest ends or moves on.
 * Its daemon's start comes through runner-main.ts (no CLI); this command is for the rest.
 */
import { guestLinkLiveness } from '../migration/guest-link-liveness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OsmoError } from '../core/errors.js';
import { ExitCode } from './exit-codes.js';
import { fail } from './report.js';
import { ASSIGNMENT_TIMEOUT_MS, GROUP_RECORD_WAIT_MS } from '../daemon/runner-ipc.js';
import type { Assignment, RunnerNotice, RunnerOrder } from '../daemon/runner-ipc.js';
import { LinkConnection, deriveLinkKey } from '../link/index.js';
import { parseFault } from '../migration/faults.js';
import { GuestRunner } from '../migration/guest-runner.js';
import { NativeRunner } from '../native/native-runner.js';
import { stderrLogger } from '../platform/logger.js';
import { prestartGuestWorker } from '../runtime/worker-pool.js';

export function registerRunner(program: Command): void {
  program
    .command('runner', { hidden: true })
    .description('a guest runner (started by osmo daemon)')
    .requiredOption('--host <ADDRESS>', 'address to listen on for the deputy')
    .option('--node <NAME>', 'name of the node (for logs)')
    .option(
      '--daemon-pid <PID>',
      'the daemon that started it: a spare ends once it is gone',
      Number,
    )
    .action(async (opts: { host: string; node?: string; daemonPid?: number }) => {
      try {
        await runRunner(opts.host, opts.node, opts.daemonPid ?? process.ppid);
      } catch (error) {
        process.exitCode = fail(error);
      }
    });
}

function notify(m: RunnerNotice): void {
  // After its daemon ended (a restart: its guest outlives it) the channel is closed and there is
  // nobody to tell; a send would then end this runner with ERR_IPC_CHANNEL_CLOSED, its guest
  // with it (seen in CI: a survivor whose guest moved on). The callback takes any such error.
  if (process.connected) process.send?.(m, undefined, {}, () => undefined);
}

/**
 * Tells the daemon a native program's process group and settles once it answers that it has
 * recorded it; at once without a daemon, and after GROUP_RECORD_WAIT_MS if it died meanwhile.
 */
function groupRecorded(pgid: number, log: ReturnType<typeof stderrLogger>): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const answered = (m: RunnerOrder): void => {
      if (m.t === 'recorded' && m.pgid === pgid) settle();
    };
    const timer = setTimeout(() => {
      log.warn("the daemon did not confirm the native program's group: started anyway", {
        pgid,
        afterMs: GROUP_RECORD_WAIT_MS,
      });
      settle();
    }, GROUP_RECORD_WAIT_MS);
    const settle = (): void => {
      clearTimeout(timer);
      process.off('message', answered);
      process.off('disconnect', settle);
      resolve();
    };
    process.on('message', answered);
    process.once('disconnect', settle);
    notify({ t: 'group', pgid });
  });
}

/** Runs a guest runner until its guest ends or leaves (or, a spare, its daemon is gone). */
export async function runRunner(
  host: string,
  node: string | undefined,
  daemonPid: number,
): Promise<void> {
  if (process.send === undefined) {
    throw new OsmoError('E_USAGE', 'osmo runner is started by osmo daemon, not by hand');
  }
  const log = stderrLogger('info', { component: 'runner', pid: process.pid });
  // Made when an image first needs it, and removed however the runner ends short of SIGKILL: a
  // spare that never got a guest, ended by its daemon's stop, used to leave an empty one behind
  // (thousands in /tmp after a day of tests).
  let dir: string | undefined;
  const imageDir = (): string => (dir ??= mkdtempSync(join(tmpdir(), 'osmo-runner-')));
  const removeDir = (): void => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeDir();
      process.exit(ExitCode[signal]);
    });
  }
  const fault = parseFault(process.env.OSMOSIS_FAULT);
  if (process.env.OSMOSIS_FAULT !== undefined && fault === undefined)
    log.warn('OSMOSIS_FAULT not understood: ignored', { value: process.env.OSMOSIS_FAULT });
  // A guest keeps running if its daemon goes away: the IPC channel must not hold us, nor end us.
  process.channel?.unref();
  prestartGuestWorker({ forImages: true });
  let order: Assignment | undefined;
  let runner: GuestRunner | NativeRunner | undefined;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  // The first link proving the token brings the guest; a later one is its deputy coming back
  // after a cut while the program was parked here (GuestRunner.reattach), and nothing else.
  const server = net.createServer((socket) => {
    if (order === undefined) {
      socket.destroy();
      return;
    }
    const assigned = order;
    LinkConnection.accept(socket, {
      key: deriveLinkKey(Buffer.from(assigned.token, 'hex'), 'runner'),
      ...guestLinkLiveness({
        onPeerNotRunning: () =>
          log.info('the deputy is silent but its host answers: waiting for it (stopped?)'),
      }),
      tls: assigned.tls,
    }).then(
      (link) => {
        if (runner !== undefined) {
          if (!(runner instanceof GuestRunner && runner.reattach(link))) link.destroy();
          return;
        }
        clearTimeout(expiry);
        if (assigned.native === true) {
          runner = new NativeRunner(link, {
            node,
            running: (now) => notify({ t: 'running', now }),
            group: (pgid) => groupRecorded(pgid, log),
            log: (message, fields) => log.info(message, fields),
          });
          void runner.done.then(finished);
          return;
        }
        runner = new GuestRunner(link, {
          imageDir,
          cachedModule: (hash) =>
            assigned.module?.hash === hash ? assigned.module.bytes : undefined,
          moduleReceived: (hash, bytes) => notify({ t: 'module', hash, bytes }),
          running: (now) => notify({ t: 'running', now }),
          log: (message, fields) => log.info(message, fields),
          ...(fault === undefined ? {} : { fault }),
          crash: () => {
            removeDir();
            process.exit(70);
          },
        });
        void runner.done.then(finished);
      },
      (error: unknown) => {
        // One that said nothing at all is the deputy asking whether this host is up, while
        // this process did not run (guest-link-liveness.ts): no stranger, nothing to report.
        if (socket.bytesRead === 0) return;
        log.warn('rejected a link', {
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
  });
  let expiry: NodeJS.Timeout | undefined;
  // A spare runner has nothing to do once its daemon is gone (it is then re-parented); one
  // with a guest goes on. The IPC channel is unref'd, so its 'disconnect' cannot be relied on.
  // The daemon names itself: a spare forked just as its daemon died is re-parented before it
  // could read its parent's pid, and would then wait for ever (seen after the tests' SIGKILLs).
  setInterval(() => {
    if (order === undefined && process.ppid !== daemonPid) finished();
  }, 500).unref();
  process.on('message', (m: RunnerOrder) => {
    if (m.t !== 'assign' || order !== undefined) return;
    order = m;
    expiry = setTimeout(() => {
      log.warn('admitted guest never came', { afterMs: ASSIGNMENT_TIMEOUT_MS });
      finished();
    }, ASSIGNMENT_TIMEOUT_MS);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  notify({ t: 'ready', port: address.port });
  try {
    await done;
  } finally {
    server.close();
    removeDir();
  }
  // Worker threads and the IPC channel may still hold the loop: this process's work is over.
  process.exit(0);
}
