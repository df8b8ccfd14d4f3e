/**
 * `osmo runner` as its daemon starts it (with an IPC channel): bin/osmo.js comes here directly,
 * without the CLI, so a runner does not load the command-line parser and every other command's
 * code. A runner is started for each guest placed or moved, on a CPU the guests share
 * (BENCHMARKS.md, "What a guest runner's start costs"). By hand (no IPC channel), `osmo runner`
 * goes through the CLI like any command, which says that it is not for users.
 */
import { parseArgs } from 'node:util';
import { OsmoError } from '../core/errors.js';
import { fail } from './report.js';
import { runRunner } from './runner.js';

/** The options the daemon passes (runner-pool.ts), checked; E_USAGE for anything else. */
export function runnerOptions(argv: readonly string[]): {
  host: string;
  node?: string;
  daemonPid: number;
} {
  let values: { host?: string; node?: string; 'daemon-pid'?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string' },
        node: { type: 'string' },
        'daemon-pid': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new OsmoError('E_USAGE', `osmo runner: ${(error as Error).message}`);
  }
  const { host, node } = values;
  if (host === undefined) throw new OsmoError('E_USAGE', 'osmo runner: --host is required');
  const daemonPid =
    values['daemon-pid'] === undefined ? process.ppid : Number(values['daemon-pid']);
  if (!Number.isSafeInteger(daemonPid) || daemonPid <= 0)
    throw new OsmoError('E_USAGE', 'osmo runner: --daemon-pid must be a pid');
  return { host, ...(node !== undefined && { node }), daemonPid };
}

export async function runnerMain(argv: readonly string[]): Promise<void> {
  try {
    const o = runnerOptions(argv);
    await runRunner(o.host, o.node, o.daemonPid);
  } catch (error) {
    process.exitCode = fail(error);
  }
}
