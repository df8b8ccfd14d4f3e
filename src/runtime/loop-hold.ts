/**
 * Keeps the event loop alive while a program has no thread here: frozen, or not started here
 * (it runs elsewhere). Nothing else would: the channel waits with Atomics.waitAsync and the
 * control socket is unref'd, so the deputy would exit with the program still alive.
 */
export class LoopHold {
  private timer: NodeJS.Timeout | undefined;

  /** Idempotent: holding twice needs one release. */
  hold(): void {
    this.timer ??= setInterval(() => undefined, 1 << 30);
  }

  release(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
