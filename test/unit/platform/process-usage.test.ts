import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseUsage, treeUsage } from '../../../src/platform/process-usage.js';

/** A stat line of `pid` (child of `ppid`) with utime `ticks` and cutime `waited`. */
function statLine(pid: number, ppid: number, ticks: number, waited = 0): string {
  return `${pid} (w ) x) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 ${ticks} 0 ${waited} 0 20 0 1 0 5 0 0`;
}

describe("a native process's CPU time and memory from /proc", () => {
  it('counts user, system and waited-for children time, and VmRSS, past an odd command name', () => {
    // utime 250, stime 50, cutime 100, cstime 0 ticks of 1/100 s; a name with ") (" and spaces.
    const stat = '4242 (a) (b c) S 1 4242 4242 0 -1 4194560 10 0 0 0 250 50 100 0 20 0 1 0 5 0 0';
    const status = 'Name:\tb c\nVmPeak:\t  9000 kB\nVmRSS:\t  1536 kB\nThreads:\t1\n';
    assert.deepEqual(parseUsage(stat, status), { cpuTimeMs: 4000, memoryBytes: 1536 * 1024 });
    // A zombie has no VmRSS.
    assert.deepEqual(parseUsage(stat, 'Name:\tb c\nState:\tZ (zombie)\n'), {
      cpuTimeMs: 4000,
      memoryBytes: 0,
    });
    assert.equal(parseUsage('garbage', ''), undefined);
  });

  it('adds up a process and every process below it, and nothing beside it', () => {
    const proc = mkdtempSync(join(tmpdir(), 'osmo-proc-'));
    try {
      // 10 → 11 → 12, and 11 → 13 (a zombie: no memory); 20 is 10's sibling, 1 their parent.
      const tree: [number, number, number, number, number | undefined][] = [
        [1, 0, 9999, 0, 4096],
        [10, 1, 100, 50, 1000],
        [11, 10, 200, 0, 2000],
        [12, 11, 300, 0, 3000],
        [13, 11, 7, 0, undefined],
        [20, 1, 5000, 0, 9000],
      ];
      for (const [pid, ppid, ticks, waited, kb] of tree) {
        mkdirSync(join(proc, String(pid)));
        writeFileSync(join(proc, String(pid), 'stat'), statLine(pid, ppid, ticks, waited));
        if (kb !== undefined)
          writeFileSync(join(proc, String(pid), 'status'), `Name:\tw\nVmRSS:\t${kb} kB\n`);
      }
      mkdirSync(join(proc, 'self')); // not a process directory
      // (100 + 50 + 200 + 300 + 7) ticks of 10 ms; 1000 + 2000 + 3000 kB.
      assert.deepEqual(treeUsage(10, proc), { cpuTimeMs: 6570, memoryBytes: 6000 * 1024 });
      assert.deepEqual(treeUsage(12, proc), { cpuTimeMs: 3000, memoryBytes: 3000 * 1024 });
      assert.equal(treeUsage(99, proc), undefined, 'a process that is gone');
      assert.equal(treeUsage(10, join(proc, 'none')), undefined, 'no /proc');
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('reads this process with the children it started, and nothing for one that does not exist', async () => {
    const alone = treeUsage(process.pid);
    assert.ok(alone !== undefined && alone.memoryBytes > 1 << 20, JSON.stringify(alone));
    // A child of a child: both are counted (each a Node process of tens of MB).
    const child = spawn(
      process.execPath,
      [
        '-e',
        "require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'inherit' }); console.log('up')",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
    );
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const withChildren = treeUsage(process.pid)!;
      const below = treeUsage(child.pid!)!;
      assert.ok(below.memoryBytes > 2 * (8 << 20), JSON.stringify(below));
      assert.ok(below.cpuTimeMs > 0, 'a Node start takes CPU');
      assert.ok(withChildren.memoryBytes >= alone.memoryBytes + below.memoryBytes / 2);
    } finally {
      process.kill(-child.pid!, 'SIGKILL'); // its group: the grandchild too
    }
    assert.equal(treeUsage(2 ** 22 + 1), undefined);
  });
});
