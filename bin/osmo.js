#!/usr/bin/env node
// Node's default for SIGUSR1 opens a debugger on 127.0.0.1:9229 that any local user could attach
// to (a runner holds a guest and its link to the deputy). A listener turns that off; `osmo run`
// adds its own, which ends the program as a native one would end.
process.on('SIGUSR1', () => {});
// First: on Node ≥ 22.1 V8 reuses its compiled code of the bundle (src/cli/compile-cache.ts).
import '../dist/bundle/compile-cache.js';
const args = process.argv.slice(2);
if (args[0] === 'runner' && process.send !== undefined) {
  // Started by its daemon: without the CLI, a lighter start (src/cli/runner-main.ts).
  await (await import('../dist/bundle/runner-main.js')).runnerMain(args.slice(1));
} else {
  // Boot a guest worker on the other core while the CLI loads (src/runtime/worker-pool.ts).
  if (args[0] === 'run') (await import('../dist/bundle/prestart.js')).prestartForRun(args.slice(1));
  const { main } = await import('../dist/bundle/main.js');
  await main(args);
}
// Exit explicitly: a stdin read still parked in the thread pool must not keep us alive.
process.exit(process.exitCode ?? 0);
