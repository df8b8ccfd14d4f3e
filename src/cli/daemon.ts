/** `osmo daemon`: runs this machine's node daemon in the foreground until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { isOsmoError } from '../core/errors.js';
import { CONFIG_FIELDS, envName, flagName } from '../daemon/config-fields.js';
import type { DaemonConfig, LoadedConfig } from '../daemon/config.js';
import type { Daemon } from '../daemon/daemon.js';
import { ExitCode } from './exit-codes.js';
import { fail, warn } from './report.js';

const HELP = `
Every field can be set in a YAML file (--config, or OSMOSIS_CONFIG), in the environment
(OSMOSIS_<FIELD>, e.g. ${envName('gossipIntervalMs')}) or by flag; flags win over the environment,
the environment over the file, the file over the defaults. See docs/daemon.md and
examples/osmosis.yaml.

Example:
  osmo daemon --name n1 --listen 127.0.0.1:7101 --peers 127.0.0.1:7102,127.0.0.1:7103 \\
    --cluster lab --secret-file /etc/osmosis/secret --state-dir /var/lib/osmosis

Logs: JSON lines on stderr (fields ts, level, component, node, msg, peer…).

Exit status:
  0   stopped by SIGTERM or SIGINT
  2   invalid configuration (every problem is listed), a port or socket in use
  70  internal error in Osmosis`;

export function registerDaemon(program: Command): void {
  const cmd = program
    .command('daemon')
    .description('run the node daemon (gossip, measurement, control API) in the foreground')
    .option('--config <file>', 'YAML configuration file');
  for (const f of CONFIG_FIELDS) {
    const flag = flagName(f.key);
    const text = `${f.help} [default: ${f.defaultText}]`;
    cmd.addOption(
      f.kind === 'bool' ? new Option(`${flag} [bool]`, text) : new Option(`${flag} <value>`, text),
    );
  }
  cmd.addHelpText('after', HELP).action(async (opts: Record<string, unknown>) => {
    process.exitCode = await runDaemon(opts);
  });
}

async function runDaemon(opts: Record<string, unknown>): Promise<number> {
  const flags: Partial<Record<keyof DaemonConfig, string>> = {};
  for (const f of CONFIG_FIELDS) {
    const v = opts[f.key];
    if (v === true) flags[f.key] = 'true';
    else if (typeof v === 'string') flags[f.key] = v;
  }
  // Loaded here, not at the top: the YAML parser and the daemon stay out of other commands' start-up.
  const { loadDaemonConfig } = await import('../daemon/config.js');
  const { Daemon } = await import('../daemon/daemon.js');
  const { stderrLogger } = await import('../platform/logger.js');
  let loaded: LoadedConfig;
  try {
    loaded = loadDaemonConfig({
      file: typeof opts.config === 'string' ? opts.config : process.env.OSMOSIS_CONFIG || undefined,
      env: process.env,
      flags,
    });
  } catch (e) {
    if (isOsmoError(e, 'E_CONFIG')) {
      warn(`daemon: ${e.message}`);
      return ExitCode.USAGE;
    }
    return fail(e);
  }
  const log = stderrLogger(loaded.config.logLevel, {
    component: 'daemon',
    node: loaded.config.name,
  });
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(loaded, { log });
  } catch (e) {
    return fail(e);
  }
  // SIGHUP too: a daemon started in a terminal that closes shuts down in order (its guests'
  // runners go on and report to the next daemon), not by the default action.
  const reason = await new Promise<NodeJS.Signals | 'parent ended'>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(s, () => resolve(s));
    if (loaded.config.stopWithParent) whenReparented(() => resolve('parent ended'));
  });
  log.info('shutting down', reason === 'parent ended' ? { reason } : { signal: reason });
  await daemon.stop();
  return 0;
}

/**
 * Calls `then` once this process is re-parented: whoever started it has ended, even by SIGKILL,
 * which it could not pass on. Polled, as Node offers no parent-death signal.
 */
function whenReparented(then: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    then();
  }, REPARENT_POLL_MS);
  timer.unref();
}

const REPARENT_POLL_MS = 500;
