import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONSENT_SLACK, consentsToMove, needsConsent } from '../../../src/balance/consent.js';
import { decideAdmission } from '../../../src/daemon/admission.js';
import type { AdmissionState, AdmitRequest } from '../../../src/daemon/admission.js';

const request: AdmitRequest = { home: 'n1', pid: 42, memoryBytes: 64 << 20, moduleHash: 'a' };
const state: AdmissionState = {
  node: 'n2',
  acceptGuests: true,
  draining: false,
  guests: 1,
  maxGuests: 8,
  freeMemBytes: 8 * 2 ** 30,
  runQueue: 1,
  homeKnown: true,
};

describe('consent to a move', () => {
  it('is asked for load and speed moves only', () => {
    assert.ok(needsConsent('load'));
    assert.ok(needsConsent('speed'));
    assert.ok(!needsConsent('memory'));
    assert.ok(!needsConsent('home'));
  });

  it('is given while no more run than the move counted on (up to half a process)', () => {
    assert.ok(consentsToMove(1, 1));
    assert.ok(consentsToMove(2, 0));
    assert.ok(consentsToMove(1, 1 + CONSENT_SLACK));
    assert.ok(!consentsToMove(1, 2));
    assert.ok(!consentsToMove(0, 0.6));
  });

  it('is part of admission: a stale view is refused with both counts named', () => {
    assert.deepEqual(decideAdmission({ ...request, expectedQueue: 1 }, state), { ok: true });
    const refused = decideAdmission({ ...request, expectedQueue: 0 }, { ...state, runQueue: 2 });
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.reason : '', /n2 runs 2 processes, its home counted on 0/);
    // A move a user asked for carries no expectation: load never refuses it.
    assert.deepEqual(decideAdmission(request, { ...state, runQueue: 9 }), { ok: true });
  });

  it('comes after the hard limits, whose reasons matter more to a user', () => {
    const full = decideAdmission(
      { ...request, expectedQueue: 0 },
      { ...state, guests: 8, runQueue: 5 },
    );
    assert.match(!full.ok ? full.reason : '', /guest limit/);
  });

  it('a node its administrator blocked refuses every guest, and says how to lift it', () => {
    const blocked = decideAdmission(request, { ...state, blocked: true });
    assert.deepEqual(blocked, {
      ok: false,
      reason: 'n2 is blocked by its administrator (osmo ctl unblock lifts it)',
    });
  });
});
