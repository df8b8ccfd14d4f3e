#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';
await main(process.argv.slice(2));
// Exit explicitly: a stdin read still parked in the thread pool must not keep us alive.
process.exit(process.exitCode ?? 0);
