/**
 * Baseline for the benchmarks: runs a WASI program with Node's own `node:wasi` in the main
 * thread, with the same view of the file system osmo gives (`/` and the cwd as `.`).
 * Usage: node dist/bench/node-wasi-runner.js PROG.wasm [ARGS…]
 */
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [path, ...args] = process.argv.slice(2);
if (path === undefined) {
  process.stderr.write('usage: node-wasi-runner PROG.wasm [ARGS…]\n');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [path, ...args],
  env: process.env,
  preopens: { '/': '/', '.': process.cwd() },
  returnOnExit: true,
});
const module = new WebAssembly.Module(readFileSync(path));
const instance = new WebAssembly.Instance(module, {
  wasi_snapshot_preview1: wasi.wasiImport as never,
});
process.exitCode = wasi.start(instance);
