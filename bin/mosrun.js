#!/usr/bin/env node
// MOSIX-compatible alias: `mosrun PROG ARGS…` = `osmo run PROG ARGS…`.
(await import('../dist/bundle/prestart.js')).prestartForRun(process.argv.slice(2));
const { main } = await import('../dist/bundle/main.js');
await main(['run', ...process.argv.slice(2)]);
process.exit(process.exitCode ?? 0);
