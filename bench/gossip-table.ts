/**
 * Simulated vs formula ages for every cell of the table in shared/research/gossip.md
 * (n ∈ {32, 64, 128, 256, 1024}, w ∈ {8, 16, 32}, w < n), for the threshold window the formulas
 * describe and for the daemon's fixed window. Prints a Markdown table per window kind.
 * Run: npx tsc -p tsconfig.json && node dist/bench/gossip-table.js [--seed N] [--kind threshold|fixed]
 * Takes about two minutes per kind; the two n = 1024 cells dominate.
 */
import { runGossipExperiment } from '../src/sim/gossip-report.js';
import type { GossipWindowKind } from '../src/sim/gossip-report.js';

const MEAN_TOLERANCE = 0.05;
const MAX_TOLERANCE = 0.1;
const CELLS: readonly (readonly [number, number])[] = [
  [32, 8],
  [32, 16],
  [64, 8],
  [64, 16],
  [128, 8],
  [128, 16],
  [128, 32],
  [256, 8],
  [256, 16],
  [256, 32],
  [1024, 16],
  [1024, 32],
];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seed = Number(flag('--seed') ?? 1);
const kindFlag = flag('--kind');
if (kindFlag !== undefined && kindFlag !== 'threshold' && kindFlag !== 'fixed') {
  console.error(`gossip-table: --kind must be 'threshold' or 'fixed', not '${kindFlag}'`);
  process.exit(2);
}
const kinds: readonly GossipWindowKind[] =
  kindFlag === undefined ? ['threshold', 'fixed'] : [kindFlag];
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;

for (const windowKind of kinds) {
  console.log(
    `\nGossip ages, ${windowKind} window, simulated vs formula (seed ${seed}; ages in intervals, ` +
      `sim at random instants → in whole steps; tolerance 5 % / 10 %)\n`,
  );
  console.log(
    '| n | w | avg sim | avg sim, steps | avg formula | Δ avg | max sim | max sim, steps | max formula | Δ max | ok | wall |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  let failures = 0;
  for (const [n, w] of CELLS) {
    const r = runGossipExperiment({ nodes: n, window: w, windowKind, seed, agesOnly: true }, () =>
      performance.now(),
    );
    const ok =
      Math.abs(r.meanAgeError) <= MEAN_TOLERANCE && Math.abs(r.maxAgeError) <= MAX_TOLERANCE;
    if (!ok) failures++;
    if (r.windowsCapped > 0)
      console.log(`(n=${n} w=${w}: ${r.windowsCapped} windows cut at the cap)`);
    console.log(
      `| ${n} | ${w} | ${r.measured.meanAge.toFixed(2)} | ${r.measuredSteps.meanAge.toFixed(2)} | ${r.formula.meanAge.toFixed(2)} | ${pct(r.meanAgeError)} ` +
        `| ${r.measured.maxAge.toFixed(1)} | ${r.measuredSteps.maxAge.toFixed(1)} | ${r.formula.maxAge.toFixed(1)} | ${pct(r.maxAgeError)} ` +
        `| ${ok ? 'yes' : 'NO'} | ${(r.wallMs / 1000).toFixed(1)} s |`,
    );
  }
  console.log(`\n${windowKind}: ${CELLS.length - failures}/${CELLS.length} cells within tolerance`);
}
