#!/usr/bin/env node
// Bundles the CLI and the guest worker into a few files (dist/bundle/). Loading ~20 ES modules
// costs a worker thread ~30 ms at start; a bundle ~8 ms, which keeps `osmo run` warm start
// under 100 ms (docs/adr/0001-process-model.md). Code splitting keeps one instance of shared
// modules (the pre-started worker pool) across the entry points.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: without this, every build would leave the last one's behind.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: {
    main: 'dist/src/cli/main.js',
    'compile-cache': 'dist/src/cli/compile-cache.js',
    prestart: 'dist/src/cli/prestart.js',
    'runner-main': 'dist/src/cli/runner-main.js',
    'guest-worker': 'dist/src/runtime/guest-worker.js',
    'instrument-worker': 'dist/src/instrument/instrument-worker.js',
  },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // binaryen (14 MB, top-level await) is loaded lazily, only when a module must be instrumented.
  external: ['binaryen'],
  // commander is CommonJS; give its require() a home inside an ES module bundle.
  banner: {
    js: "import { createRequire as __osmoRequire } from 'node:module'; const require = __osmoRequire(import.meta.url);",
  },
});
