/**
 * A private tmux server for tests that drive a full-screen command on a real terminal: start a
 * session, send keys, and wait (with a deadline, never a sleep) until the screen shows something.
 */
import { spawnSync } from 'node:child_process';
import { until } from '../integration/daemon-harness.js';
import { descendants } from '../../src/cli/demo/processes.js';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

export class TmuxServer {
  constructor(readonly name: string) {}

  /** Runs a tmux command on this server; throws with tmux's stderr if it fails. */
  run(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.name, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  screen(session: string): string {
    return this.run('capture-pane', '-p', '-t', session);
  }

  /** Resolves with the screen once it matches `re`; the failure shows the last screen. */
  waitForScreen(session: string, re: RegExp, deadlineMs: number, what: string): Promise<string> {
    return until(
      () => {
        const s = this.screen(session);
        return Promise.resolve(re.test(s) ? s : undefined);
      },
      deadlineMs,
      `${what}; screen:\n${this.lastScreen(session)}\nprocesses of the pane:\n${this.paneProcesses(session)}`,
      50,
    );
  }

  /**
   * What runs in the session's pane (for a failure's report: a blank screen says nothing of
   * whether the command is stuck, waiting or gone).
   */
  private paneProcesses(session: string): string {
    try {
      const pane = Number(this.run('display-message', '-p', '-t', session, '#{pane_pid}').trim());
      const pids = [pane, ...descendants([pane])].join(',');
      return spawnSync('ps', ['-o', 'pid,stat,etime,time,args', '-p', pids], { encoding: 'utf8' })
        .stdout;
    } catch (e) {
      return `(unknown: ${(e as Error).message})`;
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.name, 'kill-server']);
  }

  private lastScreen(session: string): string {
    try {
      return this.screen(session);
    } catch {
      return '(gone)';
    }
  }
}
