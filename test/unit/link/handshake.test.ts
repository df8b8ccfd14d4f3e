import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isOsmoError } from '../../../src/core/errors.js';
import {
  HELLO_BYTES,
  LINK_VERSION,
  checkProof,
  computeProof,
  couldBeHello,
  decodeHello,
  deriveLinkKey,
  encodeHello,
  verifyProof,
} from '../../../src/link/handshake.js';

const secret = Buffer.from('correct horse battery staple 42');
const key = deriveLinkKey(secret, 'control');
const wrongKey = deriveLinkKey(Buffer.from('another cluster secret entirely'), 'control');
const clientNonce = randomBytes(32);
const serverNonce = randomBytes(32);
const peer = '10.0.0.7:7475';

describe('link key', () => {
  it('is 32 bytes, stable, and differs per secret and per purpose', () => {
    assert.equal(key.length, 32);
    assert.deepEqual(deriveLinkKey(secret, 'control'), key);
    assert.notDeepEqual(deriveLinkKey(secret, 'syscall'), key);
    assert.notDeepEqual(wrongKey, key);
  });
});

describe('HELLO', () => {
  it('is "OSLK", version, role, nonce and round-trips', () => {
    const hello = encodeHello('client', clientNonce);
    assert.equal(hello.length, HELLO_BYTES);
    assert.equal(hello.subarray(0, 4).toString('latin1'), 'OSLK');
    assert.equal(hello[4], LINK_VERSION);
    assert.equal(hello[5], 1);
    assert.equal(encodeHello('server', serverNonce)[5], 2);
    assert.deepEqual(decodeHello(hello, 'client', peer), {
      version: LINK_VERSION,
      role: 'client',
      nonce: clientNonce,
    });
  });

  it('refuses bad magic as "not an Osmosis link (wrong port?)", from the first byte', () => {
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n......');
    assert.equal(couldBeHello(http.subarray(0, 1)), false);
    assert.equal(couldBeHello(Buffer.from('OS')), true);
    assert.throws(
      () => decodeHello(http.subarray(0, HELLO_BYTES), 'client', peer),
      (e) =>
        isOsmoError(e, 'E_PROTO_DECODE') &&
        e.message.includes(peer) &&
        e.message.includes('not an Osmosis link (wrong port?)'),
    );
    const tlsHello = Buffer.alloc(HELLO_BYTES, 0);
    tlsHello[0] = 0x16;
    assert.throws(
      () => decodeHello(tlsHello, 'client', peer),
      (e) => isOsmoError(e, 'E_PROTO_DECODE') && /speaks TLS/.test(e.message),
    );
  });

  it('refuses another version with E_PROTO_VERSION, an unknown or the same role', () => {
    const v2 = encodeHello('client', clientNonce);
    v2[4] = 2;
    assert.throws(
      () => decodeHello(v2, 'client', peer),
      (e) => isOsmoError(e, 'E_PROTO_VERSION') && /version 2/.test(e.message),
    );
    const role9 = encodeHello('client', clientNonce);
    role9[5] = 9;
    assert.throws(
      () => decodeHello(role9, 'client', peer),
      (e) => isOsmoError(e, 'E_PROTO_DECODE'),
    );
    // A server receiving its own HELLO back (reflection) or two clients connected to each other.
    assert.throws(
      () => decodeHello(encodeHello('server', serverNonce), 'client', peer),
      (e) => isOsmoError(e, 'E_PROTO_DECODE') && /expected/.test(e.message),
    );
  });
});

describe('PROOF', () => {
  const clientProof = computeProof(key, 'client', clientNonce, serverNonce);
  const serverProof = computeProof(key, 'server', serverNonce, clientNonce);

  it('verifies with the same key, both ways', () => {
    assert.equal(clientProof.length, 32);
    assert.ok(verifyProof(key, 'client', clientNonce, serverNonce, clientProof));
    assert.ok(verifyProof(key, 'server', serverNonce, clientNonce, serverProof));
    checkProof(key, 'client', clientNonce, serverNonce, clientProof, peer);
  });

  it('fails with E_AUTH naming the peer under a wrong key', () => {
    const forged = computeProof(wrongKey, 'client', clientNonce, serverNonce);
    assert.equal(verifyProof(key, 'client', clientNonce, serverNonce, forged), false);
    assert.throws(
      () => checkProof(key, 'client', clientNonce, serverNonce, forged, peer),
      (e) =>
        isOsmoError(e, 'E_AUTH') &&
        e.message === `peer ${peer} failed authentication: wrong cluster secret or token`,
    );
  });

  it('does not verify when reflected back to its author', () => {
    // An attacker without the key opens a second connection to the server, taking the
    // server's nonce as its own, and plays the server's proof back as a client's proof.
    const reflected = computeProof(key, 'server', serverNonce, clientNonce);
    assert.equal(verifyProof(key, 'client', serverNonce, clientNonce, reflected), false);
    // Even with the nonces in the prover's order, the role differs.
    assert.equal(verifyProof(key, 'client', clientNonce, serverNonce, serverProof), false);
  });

  it('binds both nonces: a proof from another connection does not verify', () => {
    const otherNonce = randomBytes(32);
    assert.equal(verifyProof(key, 'client', clientNonce, otherNonce, clientProof), false);
    assert.equal(verifyProof(key, 'client', otherNonce, serverNonce, clientProof), false);
    assert.equal(
      verifyProof(key, 'client', clientNonce, serverNonce, clientProof.subarray(1)),
      false,
    );
  });
});
