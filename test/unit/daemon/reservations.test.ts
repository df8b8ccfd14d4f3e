import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decideAdmission } from '../../../src/daemon/admission.js';
import { NodeSampler, statusWords } from '../../../src/daemon/measure/sampler.js';
import { NodeFlags } from '../../../src/gossip/types.js';
import {
  RELEASE_ALL,
  Reservations,
  parseReservations,
  reservationIdProblem,
} from '../../../src/daemon/reservations.js';

describe('reservations of a node for work outside Osmosis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osmo-reservations-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('hold the node while any holder is left, and outlive the daemon', () => {
    const r = new Reservations(dir);
    assert.equal(r.reserved, false);
    assert.equal(r.add('slurm-job-1', 1000), true, 'the first hold closes an open node');
    assert.equal(r.add('slurm-job-2', 2000), false);
    assert.equal(r.add('slurm-job-1', 3000), false, 'a repeated hold keeps its first time');
    assert.deepEqual(new Reservations(dir).list(), [
      { id: 'slurm-job-1', since: 1000 },
      { id: 'slurm-job-2', since: 2000 },
    ]);
    assert.deepEqual(r.remove('slurm-job-9'), []);
    assert.deepEqual(r.remove('slurm-job-1'), ['slurm-job-1']);
    assert.equal(r.reserved, true, 'job 2 still holds it');
    assert.deepEqual(r.remove('slurm-job-2'), ['slurm-job-2']);
    assert.equal(new Reservations(dir).reserved, false);
    r.add('a', 1);
    r.add('b', 2);
    assert.deepEqual(r.remove(RELEASE_ALL), ['a', 'b']);
    assert.equal(readFileSync(join(dir, 'reservations.json'), 'utf8'), '[]\n');
  });

  it('take ids a shell and a log line can carry, and not "all"', () => {
    assert.equal(reservationIdProblem('slurm-job-42_3'), undefined);
    assert.equal(reservationIdProblem('maint:2026.12'), undefined);
    assert.match(reservationIdProblem('') ?? '', /1–100 of A-Z/);
    assert.match(reservationIdProblem('-x') ?? '', /starting with a letter or digit/);
    assert.match(reservationIdProblem('a b') ?? '', /got "a b"/);
    assert.match(reservationIdProblem(7) ?? '', /got 7/);
    assert.match(reservationIdProblem('all') ?? '', /reserved for releasing every reservation/);
    assert.throws(() => new Reservations(dir).add('a b', 0), /reservation id/);
  });

  it('refuse a state file they did not write, rather than open the node', () => {
    const file = '/state/reservations.json';
    assert.throws(
      () => parseReservations('[{"id":"x"', file),
      /reservations.json: not JSON; fix or remove it/,
    );
    assert.throws(() => parseReservations('{}', file), /not a list of reservations/);
    assert.throws(
      () => parseReservations('[{"id":"a b","since":1}]', file),
      /entry 0: a reservation id/,
    );
    assert.throws(() => parseReservations('[{"id":"a"}]', file), /entry 0: no "since" time/);
    const bad = mkdtempSync(join(tmpdir(), 'osmo-reservations-bad-'));
    writeFileSync(join(bad, 'reservations.json'), 'garbage');
    assert.throws(() => new Reservations(bad), /removing it opens the node to guests/);
    rmSync(bad, { recursive: true, force: true });
  });

  it('close the node to guests, gossiped as reserved, and the refusal names the holders', () => {
    const sampler = new NodeSampler(
      {
        readRunQueue: () => 0,
        readMemory: () => ({
          totalMemBytes: 1 << 30,
          freeMemBytes: 1 << 29,
          totalSwapBytes: 0,
          freeSwapBytes: 0,
        }),
      },
      { cpus: 1, speed: 10_000, maxGuests: 4, acceptGuests: true },
    );
    sampler.isReserved = () => true;
    const flags = sampler.info().flags;
    assert.equal(flags & NodeFlags.acceptingGuests, 0);
    assert.notEqual(flags & NodeFlags.reserved, 0);
    assert.deepEqual(statusWords(flags), ['reserved']);
    assert.deepEqual(statusWords(NodeFlags.reserved | NodeFlags.draining), [
      'reserved',
      'draining',
    ]);
    assert.deepEqual(statusWords(0), ['blocked']);

    const verdict = decideAdmission(
      { home: 'h1', pid: 5, memoryBytes: 0, moduleHash: 'x'.repeat(64) },
      {
        node: 'h2',
        acceptGuests: true,
        reservations: ['slurm-job-3', 'slurm-job-4'],
        draining: false,
        guests: 0,
        maxGuests: 4,
        freeMemBytes: 1 << 30,
        runQueue: 0,
        homeKnown: true,
      },
    );
    assert.deepEqual(verdict, {
      ok: false,
      reason: 'h2 is reserved (slurm-job-3, slurm-job-4); osmo ctl release lifts it',
    });
  });
});
