import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobOf } from '../../../src/cli/placement.js';
import { holdIdOf, isOsmosisJob, slurmJobOf } from '../../../src/cli/slurm.js';
import { staleHolds } from '../../../src/cli/slurm-stale.js';
import type { JobLookup } from '../../../src/cli/slurm-stale.js';

describe('osmo slurm: the job slurmd runs a hook for', () => {
  it('reads the job from the environment slurmd sets', () => {
    assert.deepEqual(slurmJobOf({ SLURM_JOB_ID: '42', SLURM_JOB_PARTITION: 'plain' }), {
      id: '42',
      partition: 'plain',
    });
    assert.deepEqual(slurmJobOf({ SLURM_JOBID: '7_3' }), { id: '7_3' });
    assert.deepEqual(slurmJobOf({ SLURM_JOB_ID: '5', SLURM_JOB_PARTITION: '' }), { id: '5' });
    assert.throws(() => slurmJobOf({}), /no SLURM_JOB_ID in the environment/);
    assert.throws(() => slurmJobOf({ SLURM_JOB_ID: '4;rm' }), /"4;rm" is not a job number/);
  });

  it('takes only jobs of the listed partitions for Osmosis jobs', () => {
    assert.equal(isOsmosisJob({ id: '1', partition: 'osmosis' }, ['osmosis']), true);
    assert.equal(isOsmosisJob({ id: '1', partition: 'gpu' }, ['osmosis', 'long']), false);
    assert.equal(isOsmosisJob({ id: '1' }, ['osmosis']), false, 'unknown partition: reserve');
    assert.equal(holdIdOf({ id: '42' }), 'slurm-job-42');
  });

  it("tags a task with its SLURM job unless -J names one (osmo ps's JOB)", () => {
    assert.equal(jobOf(undefined, { SLURM_JOB_ID: '42' }), 'slurm-job-42');
    assert.equal(jobOf('sweep-3', { SLURM_JOB_ID: '42' }), 'sweep-3');
    assert.equal(jobOf(undefined, {}), undefined);
    assert.equal(jobOf(undefined, { SLURM_JOB_ID: 'junk' }), undefined);
    assert.throws(() => jobOf('a b', {}), /-J: a job id is 1–100 of/);
  });
});

describe('osmo slurm: holds of jobs that are over', () => {
  const slurm: Record<string, JobLookup> = {
    '10': { known: true, state: 'RUNNING' },
    '11': { known: true, state: 'COMPLETED' },
    '12': { known: false },
    '13': undefined, // SLURM did not answer
    '14': { known: true, state: 'COMPLETING' },
    '15_2': { known: true, state: 'NODE_FAIL' },
  };
  it('releases those SLURM says ended or forgot, keeps running ones, unanswered ones and others', () => {
    const holds = ['slurm-job-10', 'slurm-job-11', 'slurm-job-12', 'slurm-job-13', 'slurm-job-14'];
    const asked: string[] = [];
    const stale = staleHolds(
      [...holds, 'slurm-job-15_2', 'maintenance', 'slurm-job-16'],
      'slurm-job-16',
      (id) => {
        asked.push(id);
        return slurm[id];
      },
    );
    assert.deepEqual(stale, [
      { id: 'slurm-job-11', why: 'the job is COMPLETED' },
      { id: 'slurm-job-12', why: 'SLURM no longer knows the job' },
      { id: 'slurm-job-15_2', why: 'the job is NODE_FAIL' },
    ]);
    // Neither the hook's own job nor a hold an administrator named is asked about.
    assert.deepEqual(asked, ['10', '11', '12', '13', '14', '15_2']);
  });
});
