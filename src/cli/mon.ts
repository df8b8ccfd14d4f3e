/**
 * `osmo mon` [mosmon]: a live terminal monitor of the cluster. The TUI (ink, ADR 0005) is loaded
 * only here, by dynamic import, so other commands do not pay for React at start-up.
 */
import type { Command } from 'commander';
import { requireDaemonSocket } from '../daemon/socket-path.js';
import { fail, warn } from './report.js';
import { DAEMON_OPTION_HELP } from './status.js';

import type * as MonitorApp from './mon/app.js';

type MonitorModule = typeof MonitorApp;

/**
 * The monitor and ink are loaded unbundled, from the tsc output next to the bundle, with a
 * specifier esbuild does not follow: ink's optional devtools import cannot be bundled, and React
 * has no business in the start-up of `osmo run` (ADR 0005). Run from dist/bundle/main.js or from
 * dist/src/cli/mon.js, one of the two candidates exists.
 */
async function loadMonitor(): Promise<MonitorModule> {
  const candidates = ['../src/cli/mon/app.js', './mon/app.js'].map(
    (p) => new URL(p, import.meta.url).href,
  );
  let lastError: unknown;
  for (const href of candidates) {
    try {
      return (await import(href)) as MonitorModule;
    } catch (e) {
      if (
        (e as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' ||
        !String((e as Error).message).includes('app.js')
      )
        throw e;
      lastError = e;
    }
  }
  throw lastError;
}

export function registerMon(program: Command): void {
  program
    .command('mon')
    .description('live cluster monitor (like mosmon): load, speed, CPUs, memory, guests per node')
    .option('--daemon <path>', DAEMON_OPTION_HELP)
    .option('--refresh-ms <ms>', 'how often to ask the daemon, ms', '1000')
    .addHelpText(
      'after',
      `
Keys: l load · m memory · s speed · u utilisation · d show/hide dead nodes ·
      ↑/↓ scroll · h help · q quit
Needs a terminal (80×24 is enough). Exit status: 0 quit, 2 bad invocation or no terminal.`,
    )
    .action(async (opts: { daemon?: string; refreshMs: string }) => {
      const refreshMs = Number(opts.refreshMs);
      if (!Number.isInteger(refreshMs) || refreshMs < 50) {
        warn(`mon: --refresh-ms ${opts.refreshMs}: expected an integer ≥ 50`);
        process.exitCode = 2;
        return;
      }
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        warn('mon: needs a terminal; for a one-time view use `osmo status` (or --json)');
        process.exitCode = 2;
        return;
      }
      // ink renders only the last frame when it believes it runs in CI; a monitor on a terminal
      // must always render live, whatever CI variables the shell carries.
      process.env.CI = 'false';
      if ('CONTINUOUS_INTEGRATION' in process.env) process.env.CONTINUOUS_INTEGRATION = 'false';
      try {
        const { runMonitor } = await loadMonitor();
        await runMonitor({ socket: requireDaemonSocket(opts.daemon, process.env), refreshMs });
      } catch (e) {
        process.exitCode = fail(e);
      }
    });
}
