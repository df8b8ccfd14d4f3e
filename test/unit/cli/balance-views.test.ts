import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMigration } from '../../../src/cli/mon/app.js';
import { formatSince, renderPs } from '../../../src/cli/ps.js';

describe('what users see of automatic migration', () => {
  it('osmo ps SINCE: seconds, minutes, hours, or "-" when unknown', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    assert.equal(formatSince('2026-11-22T11:59:18Z', now), '42s');
    assert.equal(formatSince('2026-11-22T11:56:55Z', now), '3m05');
    assert.equal(formatSince('2026-11-22T09:53:00Z', now), '2h07');
    assert.equal(formatSince(undefined, now), '-');
    assert.equal(formatSince('not a date', now), '-');
  });

  it('osmo ps fits 80 columns with SINCE', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    const table = renderPs(
      [
        {
          pid: 4242,
          home: 'n1',
          where: 'a-rather-long-node-name',
          state: 'checkpointing',
          cpuTimeMs: 7_200_000,
          memoryBytes: 3 << 30,
          startedAt: '2026-11-22T10:00:00Z',
          command: ['prog.wasm', 'x'.repeat(100)],
          preemptible: true,
          since: '2026-11-22T11:59:18Z',
        },
      ],
      now,
    );
    for (const line of table.trimEnd().split('\n')) assert.ok([...line].length <= 80, line);
    assert.match(table, /4242 n1 +checkpointing a-rat… +42s/);
  });

  it('osmo ps has a JOB column only when a process belongs to a job, at most 15 columns more', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    const base = {
      home: 'n1',
      where: 'n2',
      state: 'running' as const,
      cpuTimeMs: 1000,
      memoryBytes: 1 << 20,
      startedAt: '2026-11-22T11:00:00Z',
      command: ['steps.wasm', '3', 'y'.repeat(60)],
      preemptible: true,
      since: '2026-11-22T11:59:00Z',
    };
    assert.doesNotMatch(renderPs([{ pid: 1, ...base }], now), /JOB/);
    const table = renderPs(
      [
        { pid: 1, ...base, job: 'slurm-job-42' },
        { pid: 2, ...base },
        { pid: 3, ...base, job: 'a-very-long-job-name-indeed' },
      ],
      now,
    );
    const lines = table.trimEnd().split('\n');
    for (const line of lines) assert.ok([...line].length <= 95, line);
    assert.match(lines[0]!, / MEM JOB {12}COMMAND$/);
    assert.match(lines[1]!, / slurm-job-42 {3}steps\.wasm 3 y/);
    assert.match(lines[2]!, / - {14}steps\.wasm/);
    assert.match(lines[3]!, / a-very-long-j… steps\.wasm/);
  });

  it('osmo mon: one line per migration, with how long ago, the reason and any failure', () => {
    const ok = { atMs: 10_000, pid: 7, from: 'n1', to: 'n3', reason: 'load', result: 'ok' };
    assert.equal(formatMigration(ok, 13_000), '↪ 3.0s ago  pid 7  n1 → n3  load');
    assert.match(
      formatMigration({ ...ok, result: 'n3 is at its guest limit' }, 13_000),
      /load {2}failed: n3 is at its guest limit$/,
    );
  });
});
