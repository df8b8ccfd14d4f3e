/**
 * The control socket of an `osmo run` from before its program starts. Preparing a program new to
 * the instrumentation cache takes binaryen seconds (4 s for a 40 KB program here, ~45 s for a
 * 1 MB one), and a user who has just started it looks for it with `osmo ps`: it is listed as
 * "starting", and `osmo freeze`, `checkpoint`, `continue` or `migrate` on it say it is starting
 * (exit 1) instead of "no Osmosis process" (exit 3). Once its session exists, `started(control)`
 * hands every request to the session's control; the socket stays the same.
 */
import { OsmoError } from '../core/errors.js';
import type {
  DeliverResult,
  ImageResult,
  MigrateResult,
  ProcessControl,
  ProcessInfo,
} from '../process-control/index.js';

export interface StartingProcess {
  /** Its home node's name (as `osmo ps` shows it). */
  readonly home: string;
  readonly command: string[];
  readonly job?: string;
}

export class StartingControl implements ProcessControl {
  private control: ProcessControl | undefined;
  private readonly startedAt = new Date();

  constructor(private readonly process: StartingProcess) {}

  /** The program runs: from now on, `control` answers. */
  started(control: ProcessControl): void {
    this.control = control;
  }

  info(): ProcessInfo {
    if (this.control !== undefined) return this.control.info();
    const { home, command, job } = this.process;
    return {
      pid: globalThis.process.pid,
      home,
      where: home,
      state: 'starting',
      cpuTimeMs: 0,
      memoryBytes: 0,
      startedAt: this.startedAt.toISOString(),
      command,
      ...(job === undefined ? {} : { job }),
      preemptible: true,
    };
  }

  async checkpoint(file?: string): Promise<ImageResult> {
    return await this.running('checkpoint').checkpoint(file);
  }

  async freeze(): Promise<ImageResult> {
    return await this.running('freeze').freeze();
  }

  async continue(): Promise<void> {
    await this.running('continue').continue();
  }

  async migrate(to: string, expectedQueue?: number): Promise<MigrateResult> {
    return await this.running('migrate').migrate(to, expectedQueue);
  }

  deliver(from: { home: string; pid: number }, payload: Buffer): DeliverResult {
    // A program that has not started has not opened its mailbox either.
    if (this.control?.deliver === undefined)
      throw new OsmoError('E_NO_PROCESS', `process ${globalThis.process.pid} has no mailbox`);
    return this.control.deliver(from, payload);
  }

  private running(what: string): ProcessControl {
    if (this.control !== undefined) return this.control;
    throw new OsmoError(
      'E_USAGE',
      `cannot ${what} process ${globalThis.process.pid} yet: it is still starting (its program is being prepared so that it can be stopped and moved, which takes seconds the first time a program runs); try again in a moment`,
    );
  }
}
