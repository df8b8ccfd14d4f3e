/**
 * The bundled programs the demo runs (examples/*.c, committed as .wasm) and how big a job of each
 * is: three that only compute and one that computes, then reads its home's disk. Sizes are
 * calibrated so a job takes about 1.2–1.6 s of CPU at home on the machine the project is developed
 * on (instrumented, as a program that may move is); `--scale` multiplies the work.
 * Each program prints one line ending in "(cpu S s)", its own CPU time, which the summary sums.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OsmoError } from '../../core/errors.js';

export interface DemoProgram {
  readonly name: string;
  /** The arguments of job `id` for `scale` × the calibrated work. */
  readonly argsFor: (scale: number, id: number) => string[];
  /** The smallest run, used to fill the instrumentation cache before anything is timed. */
  readonly warmArgs: readonly string[];
}

export const PROGRAMS: readonly DemoProgram[] = [
  // Trial division to N costs about N^1.5 / ln N: the work scales as N^(3/2).
  {
    name: 'primes',
    argsFor: (s) => [String(Math.max(10, Math.round(6_300_000 * s ** (2 / 3))))],
    warmArgs: ['10'],
  },
  // A SIZE × SIZE grid: the work scales as SIZE².
  {
    name: 'mandel',
    argsFor: (s) => [String(Math.max(1, Math.round(1240 * Math.sqrt(s))))],
    warmArgs: ['1'],
  },
  // Linear in the steps.
  {
    name: 'nbody',
    argsFor: (s) => [String(Math.max(1, Math.round(13_000_000 * s)))],
    warmArgs: ['1'],
  },
  // Computes a table (linear in the records), then reads it back at random from its home's
  // disk: the one whose work changes character, so the home's balancer brings it back. Its file
  // lies in the demo's directory (the jobs' working directory) and is removed by the program.
  {
    name: 'lookup',
    argsFor: (s, id) => [
      `lookup-${id}.dat`,
      String(Math.max(16, Math.round(72_000 * s))),
      String(Math.max(1, Math.round(20_000 * s))),
    ],
    warmArgs: ['lookup-warm.dat', '16', '1'],
  },
];

export interface JobSpec {
  /** 1-based, as the demo prints it. */
  readonly id: number;
  readonly program: DemoProgram;
  readonly wasm: string;
  readonly args: readonly string[];
}

/** `count` jobs taking the programs in turn. */
export function demoJobs(count: number, scale: number, examplesDir: string): JobSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const program = PROGRAMS[i % PROGRAMS.length]!;
    return {
      id: i + 1,
      program,
      wasm: join(examplesDir, `${program.name}.wasm`),
      args: program.argsFor(scale, i + 1),
    };
  });
}

/** The CPU seconds a program reported on its result line, if it printed one. */
export function reportedCpuSeconds(output: string): number | undefined {
  const m = /\(cpu (\d+(?:\.\d+)?) s\)\s*$/m.exec(output);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * The installed package's root (holding bin/osmo.js and examples/), found upwards from this
 * module: it runs from dist/bundle/ (bundled) or dist/src/cli/demo/ (tsc output).
 */
export function packageRoot(from = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'bin', 'osmo.js'))) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'osmosis')
          return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir)
      throw new OsmoError('E_NOT_FOUND', `cannot find the osmosis package above ${from}`);
    dir = up;
  }
}

/** The bundled programs' directory; E_NOT_FOUND naming the missing file if one is absent. */
export function examplesDir(root: string): string {
  const dir = join(root, 'examples');
  for (const p of PROGRAMS) {
    const wasm = join(dir, `${p.name}.wasm`);
    if (!existsSync(wasm))
      throw new OsmoError(
        'E_NOT_FOUND',
        `the demo program ${wasm} is missing; rebuild it with scripts/build-fixtures.sh`,
      );
  }
  return dir;
}
