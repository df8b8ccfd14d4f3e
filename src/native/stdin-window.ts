/**
 * How much of the home's stdin may be on its way to a native program's runner, or waiting there
 * for the program to read it, before the home holds the rest (native-wire.ts, `stdinWindow`).
 *
 * The runner reports what the program took (`stdin-taken`) instead of stopping to read its link
 * while the program's stdin is full: a link left unread also held back the signals from home and
 * the end of the link, so a program that never read a large stdin could not be interrupted and
 * its runner outlived it (docs/native.md, "stdin").
 */

/**
 * The bytes of stdin that may be unacknowledged. With 1 MiB a 1 GiB stream to `cat` away ran
 * 11–14 % slower than with the link's own flow control; with 4 MiB it runs level (BENCHMARKS.md,
 * "Native programs as batch jobs"). It is also what a runner may hold for a program not reading.
 */
export const STDIN_WINDOW_BYTES = 4 << 20;

/** `value` as a window size (a positive whole number of bytes), else undefined. */
export function stdinWindowOf(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : undefined;
}

export class StdinWindow {
  private outstanding = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly bytes: number) {}

  /**
   * `n` bytes went out. Returns a promise to wait on before sending more when the window is full;
   * undefined when there is room.
   */
  spend(n: number): Promise<void> | undefined {
    this.outstanding += n;
    if (this.outstanding < this.bytes) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The runner reports `n` bytes taken (written to the program's stdin, or dropped). */
  taken(n: number): void {
    this.outstanding = Math.max(0, this.outstanding - n);
    if (this.outstanding < this.bytes) this.releaseAll();
  }

  /** Nothing more will be acknowledged (the link is gone): nobody waits. */
  releaseAll(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }
}
