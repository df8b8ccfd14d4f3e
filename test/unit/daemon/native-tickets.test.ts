import assert from 'node:assert/strict';
import { existsSync, linkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeScratch, removeScratch } from '../../helpers/osmo.js';
import {
  NativeTickets,
  PROOF_PREFIX,
  TICKET_LIFETIME_MS,
} from '../../../src/daemon/native-tickets.js';

describe('proof of the user who asks for a native program', () => {
  const dir = makeScratch();
  after(() => removeScratch(dir));
  let now = 0;
  const proofs = join(dir, 'native-proofs');
  const tickets = new NativeTickets(proofs, () => now);
  /** Issues a ticket and makes its proof file; returns the ticket. */
  const proved = (): string => {
    const { ticket, dir: where } = tickets.issue();
    writeFileSync(join(where, PROOF_PREFIX + ticket), '');
    return ticket;
  };

  it('a file made for a ticket proves its owner, once; the directory is a sticky drop box', () => {
    const ticket = proved();
    assert.equal(statSync(proofs).mode & 0o7777, 0o1733);
    const me = { uid: process.getuid!(), gid: process.getgid!() };
    assert.deepEqual(tickets.redeem(ticket), me);
    assert.equal(existsSync(join(proofs, PROOF_PREFIX + ticket)), false, 'the proof is removed');
    writeFileSync(join(proofs, PROOF_PREFIX + ticket), '');
    assert.throws(() => tickets.redeem(ticket), { code: 'E_AUTH' }, 'a ticket is used once');
  });

  it('refuses a ticket it did not issue, an expired one, no file, a link, and a path', () => {
    const unknown = '0'.repeat(32);
    writeFileSync(join(proofs, PROOF_PREFIX + unknown), '');
    assert.throws(() => tickets.redeem(unknown), { code: 'E_AUTH' });
    const old = proved();
    now += TICKET_LIFETIME_MS + 1;
    assert.throws(() => tickets.redeem(old), { code: 'E_AUTH' });
    assert.throws(() => tickets.redeem(tickets.issue().ticket), /no proof file/);
    const target = join(dir, 'someone-elses');
    writeFileSync(target, '');
    const viaSymlink = tickets.issue().ticket;
    symlinkSync(target, join(proofs, PROOF_PREFIX + viaSymlink));
    assert.throws(() => tickets.redeem(viaSymlink), /not a plain file/);
    const viaHardlink = tickets.issue().ticket;
    linkSync(target, join(proofs, PROOF_PREFIX + viaHardlink));
    assert.throws(() => tickets.redeem(viaHardlink), /not a plain file/);
    assert.throws(() => tickets.redeem(`../${proved()}`), { code: 'E_AUTH' });
    assert.throws(() => tickets.redeem(undefined), { code: 'E_AUTH' });
  });
});
