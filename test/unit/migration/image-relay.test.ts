/**
 * ImageRelay: an image passed on to a target link as it arrives, with a copy kept in a file.
 * The target link is a stand-in recording what it was sent; the copy is a real file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OsmoError } from '../../../src/core/errors.js';
import type { LinkConnection } from '../../../src/link/index.js';
import { ImageReceiver, ImageRelay } from '../../../src/migration/image-transfer.js';
import { Frame } from '../../../src/migration/runner-wire.js';

const dir = mkdtempSync(join(tmpdir(), 'osmo-relay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A target link: `full` makes send report back-pressure, `broken` makes it throw. */
class FakeLink {
  readonly sent: { type: number; bytes: number }[] = [];
  full = false;
  broken = false;
  drained: Promise<void> = Promise.resolve();
  send(type: number, payload?: Uint8Array): boolean {
    if (this.broken) throw new OsmoError('E_LINK', 'link to the target closed');
    this.sent.push({ type, bytes: payload?.length ?? 0 });
    return !this.full;
  }
  drain(): Promise<void> {
    return this.drained;
  }
}

function relayTo(link: FakeLink, name: string): { relay: ImageRelay; file: string } {
  const file = join(dir, name);
  return {
    relay: new ImageRelay(new ImageReceiver(file), link as unknown as LinkConnection),
    file,
  };
}

describe('ImageRelay', () => {
  it('passes every piece on in order and keeps a whole copy', () => {
    const link = new FakeLink();
    const { relay, file } = relayTo(link, 'whole');
    assert.equal(relay.push(Buffer.from('abc')), undefined);
    assert.equal(relay.push(Buffer.from('defg')), undefined);
    assert.equal(relay.end(), file);
    assert.deepEqual(link.sent, [
      { type: Frame.IMAGE, bytes: 3 },
      { type: Frame.IMAGE, bytes: 4 },
      { type: Frame.IMAGE_END, bytes: 0 },
    ]);
    assert.equal(readFileSync(file, 'utf8'), 'abcdefg');
    assert.equal(relay.targetFailure, undefined);
  });

  it('asks its caller to wait while the target link is full', async () => {
    const link = new FakeLink();
    const { relay } = relayTo(link, 'full');
    link.full = true;
    let release!: () => void;
    link.drained = new Promise((resolve) => (release = resolve));
    const wait = relay.push(Buffer.from('x'));
    assert.ok(wait instanceof Promise);
    release();
    await wait;
    assert.equal(relay.targetFailure, undefined);
  });

  it('completes the copy when the target fails, and says why it did not get the image', async () => {
    const link = new FakeLink();
    const { relay, file } = relayTo(link, 'target-failed');
    assert.equal(relay.push(Buffer.from('ab')), undefined);
    link.broken = true;
    assert.equal(relay.push(Buffer.from('cd')), undefined);
    relay.end();
    assert.equal(readFileSync(file, 'utf8'), 'abcd');
    assert.match(relay.targetFailure?.message ?? '', /target closed/);

    const stalled = new FakeLink();
    const second = relayTo(stalled, 'drain-failed');
    stalled.full = true;
    stalled.drained = Promise.reject(new OsmoError('E_LINK', 'the target went silent'));
    await second.relay.push(Buffer.from('e'));
    assert.match(second.relay.targetFailure?.message ?? '', /went silent/);
    assert.equal(second.relay.push(Buffer.from('f')), undefined);
    assert.equal(stalled.sent.length, 1, 'nothing more is sent to a failed target');
  });

  it('drops the copy when the image stops coming', () => {
    const link = new FakeLink();
    const { relay, file } = relayTo(link, 'aborted');
    assert.equal(relay.push(Buffer.from('ab')), undefined);
    relay.abort('the source closed its link');
    assert.equal(existsSync(file), false);
    assert.match(relay.targetFailure?.message ?? '', /stopped coming/);
  });
});
