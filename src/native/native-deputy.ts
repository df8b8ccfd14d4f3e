/**
 * The home's side of a native program running on another node (`osmo run -E`, docs/native.md):
 * the link to its runner, over which the home's stdin goes out, its stdout and stderr come back
 * in order, the user's signals reach it, and its end is reported.
 */
import type { Readable } from 'node:stream';
import { OsmoError } from '../core/errors.js';
import { LinkConnection, deriveLinkKey } from '../link/index.js';
import { guestLinkLiveness } from '../migration/guest-link-liveness.js';
import { decodeMessage } from '../migration/runner-wire.js';
import type { RunnerGrant } from '../migration/remote-placement.js';
import type { ProcessUsage } from '../platform/process-usage.js';
import { NativeFrame } from './native-wire.js';
import { relayStream } from './relay.js';
import { STDIN_WINDOW_BYTES, StdinWindow, stdinWindowOf } from './stdin-window.js';
import type { NativeDeputyMessage, NativeRunnerMessage } from './native-wire.js';

export type NativeOutcome = Omit<Extract<NativeRunnerMessage, { t: 'outcome' }>, 't'>;

export interface NativeStdio {
  /** The home's stdin, relayed once the program runs; undefined: the program reads end of file. */
  readonly stdin: Readable | undefined;
  /**
   * Writes one piece of the program's output to the home's stdout (1) or stderr (2). Returns a
   * promise when that stream is full: nothing more is read from the link until it settles, so a
   * slow reader at home holds the program back instead of filling this process's memory.
   */
  write(fd: 1 | 2, bytes: Buffer): Promise<unknown> | undefined;
}

export class NativeDeputy {
  /** How it ended there; rejects (E_PROCESS_LOST) if its node or the link was lost first. */
  readonly outcome: Promise<NativeOutcome>;
  private settle: (o: NativeOutcome) => void = () => undefined;
  private lose: (e: OsmoError) => void = () => undefined;
  private started: ((pid: number) => void) | undefined;
  /** Its CPU time and memory there, as its runner last reported them. */
  usage: ProcessUsage = { cpuTimeMs: 0, memoryBytes: 0 };
  private startFailed: ((e: OsmoError) => void) | undefined;
  /** Stdin on its way or unread there, for a runner that reports what the program took. */
  private stdinWindow: StdinWindow | undefined;

  private constructor(
    readonly grant: RunnerGrant,
    private readonly link: LinkConnection,
    private readonly stdio: NativeStdio,
  ) {
    this.outcome = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.lose = reject;
    });
    this.outcome.catch(() => undefined);
    link.onFrame((type, payload) => this.onFrame(type, payload));
    void link.closed.then((error) => {
      const why = error?.message ?? 'the link was closed';
      const lost = new OsmoError(
        'E_PROCESS_LOST',
        `lost the native program on ${grant.node} (${why}); it cannot be recovered`,
      );
      this.startFailed?.(lost);
      this.lose(lost);
      this.stdinWindow?.releaseAll();
    });
  }

  /**
   * Connects to the runner `grant` names and starts the program there; resolves with the
   * program's pid there once it runs. Rejects with the reason when it could not start there
   * (nothing ran), and with E_PROCESS_LOST when the link was lost once it was sent: it may have
   * started (the runner kills it), so it must not be run again elsewhere.
   */
  static async start(
    grant: RunnerGrant,
    program: Omit<Extract<NativeDeputyMessage, { t: 'native' }>, 't'>,
    stdio: NativeStdio,
  ): Promise<{ deputy: NativeDeputy; pid: number }> {
    const link = await LinkConnection.connect({
      host: grant.host,
      port: grant.port,
      key: deriveLinkKey(Buffer.from(grant.token, 'hex'), 'runner'),
      tls: grant.tls ?? false,
      ...guestLinkLiveness(),
    });
    const deputy = new NativeDeputy(grant, link, stdio);
    const pid = await new Promise<number>((resolve, reject) => {
      deputy.started = resolve;
      deputy.startFailed = (e) => {
        link.close();
        reject(e);
      };
      link.sendJson(NativeFrame.MSG, {
        t: 'native',
        ...program,
        stdinWindow: STDIN_WINDOW_BYTES,
      } satisfies NativeDeputyMessage);
    });
    deputy.started = undefined;
    deputy.startFailed = undefined;
    deputy.relayStdin();
    return { deputy, pid };
  }

  /** Sends a signal the user gave osmo run to the program's process group there. */
  signal(signal: NodeJS.Signals): void {
    this.say({ t: 'signal', signal });
  }

  private onFrame(type: number, payload: Buffer): void {
    if (type === NativeFrame.STDOUT || type === NativeFrame.STDERR) {
      const full = this.stdio.write(type === NativeFrame.STDOUT ? 1 : 2, payload);
      if (full !== undefined) this.link.pauseReadingUntil(full);
    } else if (type === NativeFrame.MSG) this.onMessage(payload);
    else this.link.destroy(new OsmoError('E_PROTO_DECODE', `native program link: frame ${type}`));
  }

  private onMessage(payload: Buffer): void {
    const m = decodeMessage<NativeRunnerMessage>(payload);
    if (m?.t === 'started') {
      // An older runner does not say so: it stops reading the link instead, as before.
      const window = stdinWindowOf(m.stdinWindow);
      if (window !== undefined)
        this.stdinWindow = new StdinWindow(Math.min(window, STDIN_WINDOW_BYTES));
      this.started?.(m.pid);
    } else if (m?.t === 'stdin-taken' && this.stdinWindow !== undefined && isByteCount(m.bytes))
      this.stdinWindow.taken(m.bytes);
    else if (m?.t === 'usage') this.usage = { cpuTimeMs: m.cpuTimeMs, memoryBytes: m.memoryBytes };
    else if (m?.t === 'failed') this.startFailed?.(OsmoError.fromJSON(m.error));
    else if (m?.t === 'outcome') {
      this.settle(m.signal === undefined ? { code: m.code ?? 0 } : { signal: m.signal });
      this.link.close();
    } else this.link.destroy(new OsmoError('E_PROTO_DECODE', 'native program link: a message'));
  }

  /** The home's stdin, in order, holding it while the link cannot take more. */
  private relayStdin(): void {
    const stdin = this.stdio.stdin;
    if (stdin === undefined) {
      this.link.send(NativeFrame.STDIN_END);
      return;
    }
    relayStream(stdin, this.link, NativeFrame.STDIN, this.stdinWindow);
    stdin.once('end', () => {
      if (this.link.state === 'open') this.link.send(NativeFrame.STDIN_END);
    });
    stdin.once('error', () => {
      if (this.link.state === 'open') this.link.send(NativeFrame.STDIN_END);
    });
    void this.outcome.finally(() => stdin.destroy()).catch(() => undefined);
  }

  private say(m: NativeDeputyMessage): void {
    if (this.link.state === 'open') this.link.sendJson(NativeFrame.MSG, m);
  }
}

function isByteCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}
