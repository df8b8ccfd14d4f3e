/**
 * Control connections kept open for streams of requests (mailbox messages, ADR 0021): one per
 * key, made anew once it is no longer usable (ProcessControlClient.usable), at most `max` of
 * them (the oldest closed first). A kept connection never keeps its process alive.
 */
import type { ProcessControlClient } from './client.js';

export class KeptClients<K> {
  private readonly kept = new Map<K, Promise<ProcessControlClient>>();

  constructor(private readonly max: number) {}

  /** The usable connection kept for `key`, else a new one from `connect`. */
  async get(key: K, connect: () => Promise<ProcessControlClient>): Promise<ProcessControlClient> {
    const old = this.kept.get(key);
    if (old !== undefined) {
      const client = await old.catch(() => undefined);
      if (client?.usable === true) return client;
      client?.close();
      if (this.kept.get(key) === old) this.kept.delete(key);
    }
    const made = connect().then((client) => {
      client.unref();
      return client;
    });
    this.kept.set(key, made);
    made.catch(() => {
      if (this.kept.get(key) === made) this.kept.delete(key);
    });
    if (this.kept.size > this.max) this.drop(this.kept.keys().next().value!);
    return made;
  }

  /** Closes the connection kept for `key`, if any (it failed, or its process is gone). */
  drop(key: K): void {
    const client = this.kept.get(key);
    this.kept.delete(key);
    void client?.then(
      (c) => c.close(),
      () => undefined,
    );
  }

  closeAll(): void {
    for (const key of [...this.kept.keys()]) this.drop(key);
  }
}
