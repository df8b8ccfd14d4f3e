/**
 * Instrumentation cost per bench kernel: the same module uninstrumented vs instrumented, run with
 * the same stub WASI in the same process, interleaved A/B/A/B, medians; code size growth and
 * binaryen time; geomean. Prints a Markdown table.
 *
 *   node dist/bench/instrument-cost.js [--rounds N] [--variant JSON] [--against JSON]
 *                                      [--kernels a,b] [--scale F]
 *
 * --variant takes InstrumentOptions as JSON, to measure the alternatives recorded in
 * docs/adr/0006-instrumentation.md (e.g. '{"loopShape":"inline","entryChecks":"all"}').
 * --against JSON measures a second variant in the same rounds (plain, against, variant, in turn)
 * and adds a table of both ratios, of medians and of minimums: on a noisy machine the fastest
 * of many runs is the steadiest figure of what the code costs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { instrumentWith, type InstrumentOptions } from '../src/instrument/instrument.js';
import { loadBinaryen } from '../src/instrument/load-binaryen.js';
import { newStubState } from '../src/instrument/stub-wasi.js';
import { runGuest } from '../src/instrument/test-driver.js';
import { KERNEL_ARGS } from './kernel-args.js';
import { fmt, geomean, median } from './measure.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rounds = Number(flag('--rounds') ?? 5);
const scale = Number(flag('--scale') ?? 1);
const variant = JSON.parse(flag('--variant') ?? '{}') as InstrumentOptions;
const only = flag('--kernels')?.split(',');
const againstFlag = flag('--against');
const against =
  againstFlag === undefined ? undefined : (JSON.parse(againstFlag) as InstrumentOptions);
const minimum = (xs: readonly number[]): number => Math.min(...xs);
const root = new URL('../../bench/kernels/', import.meta.url).pathname;

function timeRun(module: WebAssembly.Module, args: string[]): { ms: number; out: string } {
  const host = newStubState(args);
  const start = performance.now();
  const outcome = runGuest(module, host);
  const ms = performance.now() - start;
  if (outcome.kind !== 'exited' || outcome.code !== 0)
    throw new Error(`${args[0]} did not exit cleanly`);
  return { ms, out: new TextDecoder().decode(new Uint8Array(host.stdout)) };
}

const b = await loadBinaryen();
const rows: string[] = [];
const ratios: number[] = [];
/** With --against: per kernel, [against median, against min, variant median, variant min] ratios. */
const paired: { name: string; r: [number, number, number, number] }[] = [];
console.log(`node ${process.version}, variant ${JSON.stringify(variant)}, rounds ${rounds}\n`);
console.log(
  '| kernel | args | plain ms | instrumented ms | ratio | size plain → instr. | growth | binaryen ms | ticks | tick gap p99 / max ms |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [name, argsOf] of Object.entries(KERNEL_ARGS)) {
  if (only && !only.includes(name)) continue;
  const args = [name, ...argsOf(scale)];
  const plainBytes = readFileSync(join(root, `${name}.wasm`));
  const inst = instrumentWith(b, plainBytes, variant);
  const plain = new WebAssembly.Module(plainBytes);
  const instr = new WebAssembly.Module(inst.bytes);
  // Warm-up of each (compilation tiers), and an output check: the instrumented run must agree.
  const a0 = timeRun(plain, args);
  const b0 = timeRun(instr, args);
  if (a0.out !== b0.out) throw new Error(`${name}: outputs differ:\n${a0.out}\n${b0.out}`);
  const other = against && new WebAssembly.Module(instrumentWith(b, plainBytes, against).bytes);
  if (other && timeRun(other, args).out !== a0.out) throw new Error(`${name}: --against differs`);
  const ta: number[] = [];
  const tb: number[] = [];
  const tc: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ta.push(timeRun(plain, args).ms);
    if (other) tc.push(timeRun(other, args).ms);
    tb.push(timeRun(instr, args).ms);
  }
  if (other) {
    const [pm, pmin] = [median(ta), minimum(ta)];
    paired.push({
      name,
      r: [median(tc) / pm, minimum(tc) / pmin, median(tb) / pm, minimum(tb) / pmin],
    });
  }
  // Suspend latency is bounded by the gap between two ticks (a request waits for the next one).
  const stamps: number[] = [];
  runGuest(instr, newStubState(args), { onTick: (now) => stamps.push(now) });
  const gaps = stamps
    .slice(1)
    .map((t, i) => t - stamps[i]!)
    .sort((x, y) => x - y);
  const p99 =
    gaps.length > 0 ? gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.99))]! : NaN;
  const maxGap = gaps.length > 0 ? gaps[gaps.length - 1]! : NaN;
  const ma = median(ta);
  const mb = median(tb);
  const ratio = mb / ma;
  ratios.push(ratio);
  const row = `| ${name} | ${args.slice(1).join(' ')} | ${fmt(ma, 0)} | ${fmt(mb, 0)} | ${fmt(ratio)} | ${(plainBytes.length / 1024).toFixed(1)} → ${(inst.bytes.length / 1024).toFixed(1)} KiB | ${fmt(inst.bytes.length / plainBytes.length)}× | ${fmt(inst.stats.ms, 0)} | ${stamps.length} | ${fmt(p99)} / ${fmt(maxGap)} |`;
  rows.push(row);
  console.log(row);
}
console.log(`\ngeomean ${fmt(geomean(ratios), 3)}, worst ${fmt(Math.max(...ratios), 3)}`);
if (against) {
  console.log(`\nagainst ${JSON.stringify(against)}, same rounds (ratios to plain):\n`);
  console.log('| kernel | against median | against min | variant median | variant min |');
  console.log('|---|---|---|---|---|');
  for (const { name, r } of paired)
    console.log(`| ${name} | ${r.map((x) => fmt(x)).join(' | ')} |`);
  const column = (i: number): string => fmt(geomean(paired.map((p) => p.r[i]!)), 3);
  console.log(`| geomean | ${[0, 1, 2, 3].map(column).join(' | ')} |`);
}
