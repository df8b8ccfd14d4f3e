/**
 * A ProcessControl with no program behind it: it keeps a state machine like the real one and
 * writes a small file as the "image", so server, client and CLI can be tested without a guest.
 * Shared by the unit tests (in-process) and the integration fake server (a child process).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../../../src/core/errors.js';
import type {
  DeliverResult,
  ImageResult,
  MigrateResult,
  ProcessControl,
  ProcessInfo,
  ProcessState,
} from '../../../src/process-control/types.js';

export class FakeControl implements ProcessControl {
  state: ProcessState = 'running';
  checkpointFile: string | undefined;
  /** Operations running inside the control right now, and the most ever at once. */
  active = 0;
  maxActive = 0;
  readonly calls: string[] = [];
  /** While set, freeze waits for it (to observe "checkpointing" and serialization). */
  hold: Promise<void> | undefined;
  /** Resolves when a freeze has completed (the image is on disk). */
  readonly frozen: Promise<void>;
  private markFrozen!: () => void;
  /** Set to make the next image write fail like a full disk. */
  diskFull = false;

  constructor(
    readonly pid: number,
    private readonly imageDir: string,
    readonly command: string[] = ['examples/hello.wasm', 'from the home node'],
  ) {
    this.frozen = new Promise<void>((resolve) => (this.markFrozen = resolve));
  }

  info(): ProcessInfo {
    const info: ProcessInfo = {
      pid: this.pid,
      home: 'local',
      where: 'local',
      state: this.state,
      cpuTimeMs: 83_400,
      memoryBytes: this.state === 'frozen' ? 0 : 64 * 1024 * 1024,
      startedAt: '2025-01-02T03:04:05.000Z',
      command: this.command,
      preemptible: true,
    };
    if (this.checkpointFile !== undefined) info.checkpointFile = this.checkpointFile;
    return info;
  }

  /** Mailbox messages delivered, in order. */
  readonly delivered: { from: { home: string; pid: number }; payload: Buffer }[] = [];

  deliver(from: { home: string; pid: number }, payload: Buffer): DeliverResult {
    this.delivered.push({ from, payload });
    return { queuedBytes: this.delivered.reduce((n, m) => n + m.payload.length, 0) };
  }

  migrate(to: string): Promise<MigrateResult> {
    return this.guard(`migrate ${to}`, () => {
      if (to !== 'home') throw new OsmoError('E_NO_NODE', `no live node named "${to}"`);
      return { from: 'home', to: 'home', ms: 0, imageBytes: 0 };
    });
  }

  checkpoint(file?: string): Promise<ImageResult> {
    return this.guard(`checkpoint ${file ?? ''}`.trim(), () => {
      if (this.state === 'frozen') {
        throw new OsmoError(
          'E_USAGE',
          `process ${this.pid} is frozen; its image is already on disk`,
        );
      }
      return this.writeImage(file ?? join(this.imageDir, `${this.pid}.osmo`));
    });
  }

  freeze(): Promise<ImageResult> {
    return this.guard('freeze', async () => {
      if (this.state === 'frozen') {
        throw new OsmoError('E_USAGE', `process ${this.pid} is already frozen`);
      }
      this.state = 'checkpointing';
      try {
        await this.hold;
        const result = this.writeImage(join(this.imageDir, `${this.pid}.frozen.osmo`));
        this.state = 'frozen';
        this.markFrozen();
        return result;
      } catch (e) {
        this.state = 'running';
        throw e;
      }
    });
  }

  continue(): Promise<void> {
    return this.guard('continue', () => {
      if (this.state !== 'frozen') {
        throw new OsmoError('E_USAGE', `process ${this.pid} is not frozen (it is ${this.state})`);
      }
      this.state = 'running';
      return Promise.resolve();
    });
  }

  private writeImage(file: string): ImageResult {
    if (this.diskFull) {
      throw new OsmoError(
        'E_SNAPSHOT_WRITE',
        `cannot write ${file}: no space left on device; the process goes on`,
      );
    }
    const bytes = Buffer.from(`OSMOSIS fake image of ${this.pid}\n`);
    writeFileSync(file, bytes);
    this.checkpointFile = file;
    return { file, bytes: bytes.length, ms: 1 };
  }

  private async guard<T>(name: string, run: () => T | Promise<T>): Promise<T> {
    this.calls.push(name);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await run();
    } finally {
      this.active--;
    }
  }
}
