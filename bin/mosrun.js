#!/usr/bin/env node
// MOSIX-compatible alias: `mosrun PROG ARGS…` = `osmo run PROG ARGS…`.
import { main } from '../dist/src/cli/main.js';
await main(['run', ...process.argv.slice(2)]);
process.exit(process.exitCode ?? 0);
