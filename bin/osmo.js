#!/usr/bin/env node
// Boot a guest worker on the other core while the CLI loads (src/runtime/worker-pool.ts).
const args = process.argv.slice(2);
if (args[0] === 'run') (await import('../dist/bundle/prestart.js')).prestartForRun(args.slice(1));
const { main } = await import('../dist/bundle/main.js');
await main(args);
// Exit explicitly: a stdin read still parked in the thread pool must not keep us alive.
process.exit(process.exitCode ?? 0);
