/**
 * `osmo SUBCOMMAND` defines only that subcommand (a faster start); everything else — no
 * subcommand, `help`, a typo — still sees them all, so help lists them and a typo gets a hint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram } from '../../../src/cli/main.js';

const ALL = [
  'run',
  'restart',
  'daemon',
  'status',
  'mon',
  'ps',
  'checkpoint',
  'freeze',
  'continue',
  'migrate',
  'ctl',
  'slurm',
  'demo',
  'runner',
];
const names = (argv: string[]): string[] => buildProgram(argv).commands.map((c) => c.name());

describe('buildProgram', () => {
  it('defines only the subcommand named first', () => {
    assert.deepEqual(names(['run', '-r', 'n2', 'x.wasm']), ['run']);
    assert.deepEqual(names(['ps', '--json']), ['ps']);
  });

  it('defines them all for help, --version, a typo, or nothing', () => {
    for (const argv of [[], ['help', 'run'], ['--help'], ['--version'], ['rn'], ['constructor']])
      assert.deepEqual(names(argv), ALL, argv.join(' '));
  });
});
