import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUsage, processUsage } from '../../../src/platform/process-usage.js';

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

  it('reads this process, and nothing for one that does not exist', () => {
    const own = processUsage(process.pid);
    assert.ok(own !== undefined && own.memoryBytes > 1 << 20, JSON.stringify(own));
    assert.equal(processUsage(2 ** 22 + 1), undefined);
  });
});
