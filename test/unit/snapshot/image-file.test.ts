/** Image files: atomic replace, validation on open, and a refused write that harms nothing. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isOsmoError } from '../../../src/core/errors.js';
import { openImageFile, writeImageFile } from '../../../src/snapshot/index.js';
import { PAGE, makeMemory, sampleImage } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'osmo-snapshot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('snapshot image files', () => {
  it('writes atomically, leaves no temporary file, and reads back', async () => {
    const path = join(dir, 'a.osmosnap');
    const memory = makeMemory(12, (p) => p !== 3);
    const image = sampleImage(memory);
    const result = await writeImageFile(path, image);
    assert.equal(result.nonZeroPages, 11);
    assert.deepEqual(readdirSync(dir), ['a.osmosnap']);
    const opened = openImageFile(path, { expectedModuleHash: image.moduleHash });
    try {
      const target = new Uint8Array(12 * PAGE);
      opened.copyMemoryInto(target);
      assert.ok(Buffer.from(target).equals(memory));
      assert.deepEqual(opened.meta.deputy, image.deputy);
    } finally {
      opened.close();
    }
  });

  it('refuses a damaged file on open with E_SNAPSHOT_CORRUPT and a missing one with E_NOT_FOUND', async () => {
    const path = join(dir, 'b.osmosnap');
    await writeImageFile(path, sampleImage(makeMemory(2, () => true)));
    const bytes = readFileSync(path);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x40;
    writeFileSync(path, bytes);
    assert.throws(
      () => openImageFile(path),
      (e) => isOsmoError(e, 'E_SNAPSHOT_CORRUPT') && /offset \d+/.test(e.message),
    );
    assert.throws(
      () => openImageFile(join(dir, 'none.osmosnap')),
      (e) => isOsmoError(e, 'E_NOT_FOUND'),
    );
  });

  it('a write the kernel refuses throws E_SNAPSHOT_WRITE, removes the temporary, keeps the old image', async () => {
    const sub = mkdtempSync(join(dir, 'full-'));
    const path = join(sub, 'c.osmosnap');
    const old = sampleImage(makeMemory(1, () => true));
    await writeImageFile(path, old);
    const before = readFileSync(path);
    const child = fileURLToPath(new URL('./write-file-child.js', import.meta.url));
    // 512 KiB file size limit; SIGXFSZ ignored so write(2) fails with EFBIG instead of killing.
    const r = spawnSync(
      'bash',
      [
        '-c',
        `ulimit -f 512; trap '' XFSZ; exec "$0" "$@"`,
        process.execPath,
        child,
        path,
        '64',
        join(sub, 'small.osmosnap'),
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      big: { code: string; message: string; details: { errno: string } };
      small: string;
    };
    assert.equal(report.big.code, 'E_SNAPSHOT_WRITE', r.stdout);
    assert.match(report.big.details.errno, /^(EFBIG|ENOSPC)$/);
    assert.match(report.big.message, /c\.osmosnap/);
    assert.equal(report.small, 'written', 'the process went on after the failed write');
    assert.deepEqual(readdirSync(sub).sort(), ['c.osmosnap', 'small.osmosnap']);
    assert.ok(readFileSync(path).equals(before), 'the previous image is intact');
  });
});
