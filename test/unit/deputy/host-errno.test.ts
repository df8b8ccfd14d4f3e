import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { errnoFromError, hostCode } from '../../../src/deputy/host-errno.js';
import { Errno } from '../../../src/wasi/abi.js';

void describe('errnoFromError', () => {
  void it('maps Node error codes to WASI errno numbers', () => {
    assert.equal(errnoFromError(Object.assign(new Error('x'), { code: 'ENOENT' })), Errno.NOENT);
    assert.equal(errnoFromError({ code: 'E2BIG' }), Errno.TOOBIG);
    assert.equal(errnoFromError({ code: 'EOPNOTSUPP' }), Errno.NOTSUP);
    assert.equal(errnoFromError({ code: 'EWOULDBLOCK' }), 6);
    assert.equal(errnoFromError({ code: 'EXDEV' }), 75);
    assert.equal(errnoFromError({ code: 'ERR_OUT_OF_RANGE' }), Errno.INVAL);
  });

  void it('turns anything unknown into EIO', () => {
    assert.equal(errnoFromError({ code: 'EWHATEVER' }), Errno.IO);
    assert.equal(errnoFromError(new Error('no code')), Errno.IO);
    assert.equal(errnoFromError('string'), Errno.IO);
    assert.equal(errnoFromError(null), Errno.IO);
    assert.equal(hostCode({ code: 5 }), undefined);
  });

  void it('maps a real fs error', () => {
    let caught: unknown;
    try {
      fs.readFileSync('/nonexistent/osmo/deputy');
    } catch (e) {
      caught = e;
    }
    assert.equal(errnoFromError(caught), 44);
  });
});
