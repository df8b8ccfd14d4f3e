/**
 * Simulated vs formula ages for every cell of the table in shared/research/gossip.md
 * (n ∈ {32, 64, 128, 256, 1024}, w ∈ {8, 16, 32}, w < n). Prints a Markdown table.
 * Run: npx tsc -p tsconfig.json && node dist/bench/gossip-table.js [--seed N]
 * Takes about a minute; the two n = 1024 cells dominate.
 */
import { runGossipExperiment } from '../src/sim/gossip-report.js';

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

const seedFlag = process.argv.indexOf('--seed');
const seed = seedFlag >= 0 ? Number(process.argv[seedFlag + 1]) : 1;
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;

console.log(
  `Gossip ages, simulated vs formula (seed ${seed}; ages in intervals; tolerance 5 % / 10 %)\n`,
);
console.log(
  '| n | w | avg sim | avg formula | Δ avg | max sim | max formula | Δ max | ok | wall |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
let failures = 0;
for (const [n, w] of CELLS) {
  const r = runGossipExperiment({ nodes: n, window: w, seed, agesOnly: true }, () =>
    performance.now(),
  );
  const ok = Math.abs(r.meanAgeError) <= MEAN_TOLERANCE && Math.abs(r.maxAgeError) <= MAX_TOLERANCE;
  if (!ok) failures++;
  console.log(
    `| ${n} | ${w} | ${r.measured.meanAge.toFixed(2)} | ${r.formula.meanAge.toFixed(2)} | ${pct(r.meanAgeError)} ` +
      `| ${r.measured.maxAge.toFixed(1)} | ${r.formula.maxAge.toFixed(1)} | ${pct(r.maxAgeError)} ` +
      `| ${ok ? 'yes' : 'NO'} | ${(r.wallMs / 1000).toFixed(1)} s |`,
  );
}
console.log(`\n${CELLS.length - failures}/${CELLS.length} cells within tolerance`);
