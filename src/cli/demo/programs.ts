/**
 * The bundled CPU-bound programs the demo runs (examples/*.c, committed as .wasm) and how big a
 * job of each is. Sizes are calibrated so a job takes about 1.6 s of CPU on the machine the project
 * is developed on (instrumented, as a program that may move is); `--scale` multiplies the work.
 * Each program prints one line ending in "(cpu S s)", its own CPU time, which the summary sums.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OsmoError } from '../../core/errors.js';

export interface DemoProgram {
  readonly name: string;
  /** The argument for `scale` × the calibrated work. */
  readonly argFor: (scale: number) => string;
  /** The smallest run, used to fill the instrumentation cache before anything is timed. */
  readonly warmArg: string;
}

export const PROGRAMS: readonly DemoProgram[] = [
  // Trial division to N costs about N^1.5 / ln N: the work scales as N^(3/2).
  {
    name: 'primes',
    argFor: (s) => String(Math.max(10, Math.round(6_300_000 * s ** (2 / 3)))),
    warmArg: '10',
  },
  // A SIZE × SIZE grid: the work scales as SIZE².
  {
    name: 'mandel',
    argFor: (s) => String(Math.max(1, Math.round(1240 * Math.sqrt(s)))),
    warmArg: '1',
  },
  // Linear in the steps.
  { name: 'nbody', argFor: (s) => String(Math.max(1, Math.round(13_000_000 * s))), warmArg: '1' },
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
      args: [program.argFor(scale)],
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
