import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobOf } from '../../../src/cli/placement.js';
import { holdIdOf, isOsmosisJob, slurmJobOf } from '../../../src/cli/slurm.js';

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
