/**
 * The runner's side of a native program (`osmo run -E`, docs/native.md): starts it on this node
 * in a process group of its own, in the directory and with the environment its home sent, and
 * relays its stdio and its end over the link. Its files are this node's own: only stdin, stdout,
 * stderr and signals go through home.
 *
 * A native program never outlives its deputy: when the link is lost, its whole process group is
 * killed, and so it is when this runner is ended. What it leaves behind in its group when it ends
 * is killed then too, as SLURM ends what a job step leaves: nobody would watch it on this node.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { OsmoError, serializeError } from '../core/errors.js';
import type { LinkConnection } from '../link/index.js';
import { dyingWithParent } from '../platform/die-with-parent.js';
import { gatedStart } from '../platform/start-gate.js';
import { executableOf, missingExecutable } from '../platform/executable-lookup.js';
import { treeUsage } from '../platform/process-usage.js';
import { decodeMessage } from '../migration/runner-wire.js';
import { NativeFrame, envObject } from './native-wire.js';
import { relayStream, roomIn } from './relay.js';
import { stdinWindowOf } from './stdin-window.js';
import type { NativeDeputyMessage, NativeRunnerMessage } from './native-wire.js';

/**
 * How long the program's last output and outcome wait for its deputy to read them (the deputy
 * may be stopped by Ctrl-Z): as long as a wasm guest's (guest-runner.ts).
 */
const LAST_WORDS_WAIT_MS = 15 * 60_000;
/** How often the program's CPU time and memory go to its home (osmo ps). */
const USAGE_INTERVAL_MS = 1000;

export interface NativeRunnerHost {
  /** This node's name: the program finds it in OSMOSIS_NODE. */
  readonly node: string | undefined;
  /** The program runs here (true) or no longer (false). */
  running(now: boolean): void;
  /**
   * The program's process group, before it runs (the daemon ends it if this runner is killed).
   * The program starts once the promise settles: the group is then on record.
   */
  group?(pgid: number): Promise<void>;
  log(message: string, fields?: Record<string, unknown>): void;
}

export class NativeRunner {
  /** Settles when the program ended (and its outcome was handed to the link) or never started. */
  readonly done: Promise<void>;
  private finish: () => void = () => undefined;
  private child: ChildProcess | undefined;
  private exited = false;
  /**
   * The deputy's stdin window: set, the deputy keeps stdin within it and hears what the program
   * took (stdin-window.ts); unset, an older deputy.
   */
  private stdinWindow: number | undefined;
  /** Bytes of stdin taken and not yet reported. */
  private untold = 0;

  constructor(
    private readonly link: LinkConnection,
    private readonly host: NativeRunnerHost,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    link.onFrame((type, payload) => this.onFrame(type, payload));
    void link.closed.then((error) => this.onLinkClosed(error));
    // process.exit() from a signal handler of the runner must not leave the program behind.
    process.on('exit', () => this.killGroup('SIGKILL'));
  }

  private onFrame(type: number, payload: Buffer): void {
    if (type === NativeFrame.MSG) {
      const m = decodeMessage<NativeDeputyMessage>(payload);
      if (m?.t === 'native' && this.child === undefined) this.start(m);
      else if (m?.t === 'signal') this.killGroup(m.signal);
      else this.protocolError('a message out of place');
      return;
    }
    const stdin = this.child?.stdin;
    if (type === NativeFrame.STDIN) {
      // Bytes for a program that closed its stdin are dropped, as a pipe with no reader would.
      if (stdin?.writable !== true) this.took(payload.length);
      else if (this.stdinWindow !== undefined)
        stdin.write(payload, () => this.took(payload.length));
      // An older deputy: the link is left unread until there is room (or the stdin is gone).
      else if (!stdin.write(payload)) this.link.pauseReadingUntil(roomIn(stdin));
    } else if (type === NativeFrame.STDIN_END) {
      stdin?.end();
    } else {
      this.protocolError(`frame type ${type}`);
    }
  }

  private start(m: Extract<NativeDeputyMessage, { t: 'native' }>): void {
    this.stdinWindow = stdinWindowOf(m.stdinWindow);
    const env = envObject(m.env);
    if (this.host.node !== undefined) env.OSMOSIS_NODE = this.host.node;
    // A name without a slash is looked up in the program's PATH, as a shell does.
    const file =
      m.program.includes('/') && !isAbsolute(m.program) ? resolve(m.cwd, m.program) : m.program;
    // Its daemon checked it before it admitted it; gone since, it is a failure to start (the
    // home then runs it there), not a program that exits 127.
    const lookup = { program: m.program, cwd: m.cwd, path: env.PATH ?? '' };
    if (executableOf(lookup) === undefined) {
      this.startFailed(
        'E_NOT_FOUND',
        `cannot start ${m.program} in ${m.cwd}: ${missingExecutable(lookup)}`,
      );
      return;
    }
    // Killed with this runner too, even by SIGKILL: no program runs on with nobody to report to.
    // And held until its daemon knows its group, which a killed runner leaves to the daemon.
    const gate = gatedStart(file, m.args);
    const launch = dyingWithParent(gate.file, gate.args);
    const child = spawn(launch.file, launch.args, {
      cwd: m.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', ...gate.stdio],
      // Its own process group: signals go to everything it started, and so does the final kill.
      detached: true,
    });
    this.child = child;
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a stdio error of a running program: its end says
      const code = error.code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
      this.startFailed(code, `cannot start ${m.program} in ${m.cwd}: ${error.message}`);
    });
    child.on('spawn', () => {
      this.host.running(true);
      void Promise.resolve(this.host.group?.(child.pid!)).then(() => gate.open(child));
      this.host.log('native program started', { program: m.program, pid: child.pid });
      this.say({
        t: 'started',
        pid: child.pid!,
        ...(this.stdinWindow !== undefined && { stdinWindow: this.stdinWindow }),
      });
      const report = setInterval(() => {
        const usage = treeUsage(child.pid!);
        if (usage !== undefined) this.say({ t: 'usage', ...usage });
      }, USAGE_INTERVAL_MS);
      child.once('exit', () => {
        clearInterval(report);
        // Before 'close': a leftover holding the program's stdout open would otherwise keep the
        // job from ending at home.
        this.killGroup('SIGKILL');
      });
    });
    child.stdin.on('error', () => undefined); // EPIPE: the program no longer reads
    relayStream(child.stdout, this.link, NativeFrame.STDOUT);
    relayStream(child.stderr, this.link, NativeFrame.STDERR);
    child.on('close', (code, signal) => {
      this.exited = true;
      this.host.running(false);
      this.host.log('native program ended', { pid: child.pid, code, signal });
      this.say(signal === null ? { t: 'outcome', code: code ?? 0 } : { t: 'outcome', signal });
      this.link.close(LAST_WORDS_WAIT_MS);
      void this.link.closed.then(() => this.finish());
    });
  }

  /** It could not start here: the home runs it at home (nothing ran, nothing runs twice). */
  private startFailed(code: 'E_NOT_FOUND' | 'E_IO', message: string): void {
    this.say({ t: 'failed', error: serializeError(new OsmoError(code, message)) });
    this.exited = true;
    this.link.close(LAST_WORDS_WAIT_MS);
    this.finish();
  }

  private onLinkClosed(error: OsmoError | undefined): void {
    if (this.child === undefined) {
      this.finish();
      return;
    }
    if (this.exited) return;
    this.host.log('the deputy is gone: native program killed', {
      pid: this.child.pid,
      ...(error === undefined ? {} : { error: error.message }),
    });
    this.killGroup('SIGKILL');
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.exited) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  }

  /** Reports stdin the program took, once per turn of the event loop rather than per chunk. */
  private took(bytes: number): void {
    if (this.stdinWindow === undefined || bytes === 0) return;
    if (this.untold === 0) {
      setImmediate(() => {
        this.say({ t: 'stdin-taken', bytes: this.untold });
        this.untold = 0;
      });
    }
    this.untold += bytes;
  }

  private say(m: NativeRunnerMessage): void {
    if (this.link.state === 'open') this.link.sendJson(NativeFrame.MSG, m);
  }

  private protocolError(what: string): void {
    this.link.destroy(new OsmoError('E_PROTO_DECODE', `native program link: ${what}`));
  }
}
