// The floor of a warm start with our process model, no Osmosis code: Node starts, boots one
// worker thread, and the worker runs a WASI program with Node's own node:wasi, then the process
// exits. `osmo run` cannot be faster than this on the same machine (BENCHMARKS.md, Warm start).
//
//   hyperfine -N 'node -e 0' 'node bench/probes/worker-floor.cjs examples/hello.wasm' \
//     'node bin/osmo.js run examples/hello.wasm'
//   node bench/probes/worker-floor.cjs --main examples/hello.wasm   (no worker: node:wasi alone)
'use strict';
const { resolve } = require('node:path');

const inMain = process.argv[2] === '--main';
const file = resolve(process.argv[inMain ? 3 : 2] ?? 'examples/hello.wasm');
const program = `
const { WASI } = require('node:wasi');
const { readFileSync } = require('node:fs');
const wasi = new WASI({ version: 'preview1', args: ['hello'], env: {}, returnOnExit: true });
const module = new WebAssembly.Module(readFileSync(${JSON.stringify(file)}));
wasi.start(new WebAssembly.Instance(module, wasi.getImportObject()));
`;
if (inMain) new Function('require', program)(require);
else {
  const { Worker } = require('node:worker_threads');
  new Worker(program, { eval: true }).on('exit', () => process.exit(0));
}
