#!/usr/bin/env node
// MOSIX-compatible alias: `mosrun PROG ARGS…` = `osmo run PROG ARGS…`.
// First: on Node ≥ 22.1 V8 reuses its compiled code of the bundle (src/cli/compile-cache.ts).
import '../dist/bundle/compile-cache.js';
(await import('../dist/bundle/prestart.js')).prestartForRun(process.argv.slice(2));
const { main } = await import('../dist/bundle/main.js');
await main(['run', ...process.argv.slice(2)]);
process.exit(process.exitCode ?? 0);
