import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeMove } from '../../../src/cli/migrate.js';

void test('describeMove: a move, and a move to where the process already is', () => {
  assert.equal(
    describeMove({ from: 'home', to: 'n2', ms: 63.6, imageBytes: 197192, transferMs: 3.2 }),
    'home → n2 in 64 ms (197192 bytes, 3 ms on the wire)',
  );
  assert.equal(
    describeMove({ from: 'n3', to: 'home', ms: 56, imageBytes: 197192 }),
    'n3 → home in 56 ms (197192 bytes)',
  );
  assert.equal(
    describeMove({ from: 'home', to: 'home', ms: 0, imageBytes: 0 }),
    'already at home, not moved',
  );
  assert.equal(
    describeMove({ from: 'n2', to: 'n2', ms: 0, imageBytes: 0 }),
    'already on n2, not moved',
  );
});
