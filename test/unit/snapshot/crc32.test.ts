/** The section checksum is the standard CRC-32, and the fallback agrees with Node's native one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, crc32Portable } from '../../../src/snapshot/crc32.js';
import { fillRandom } from './helpers.js';

describe('snapshot crc32', () => {
  it('matches the CRC-32 check value', () => {
    const check = new TextEncoder().encode('123456789');
    assert.equal(crc32(check), 0xcbf43926);
    assert.equal(crc32Portable(check), 0xcbf43926);
  });

  it('portable and native agree, also when continued', () => {
    const data = new Uint8Array(70_000);
    fillRandom(data, 9);
    assert.equal(crc32Portable(data), crc32(data));
    assert.equal(
      crc32Portable(data.subarray(1000), crc32Portable(data.subarray(0, 1000))),
      crc32(data),
    );
  });
});
