#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner.
// Usage: node scripts/run-tests.mjs [substring-filter...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js') && filters.every((f) => path.includes(f))) files.push(path);
  }
})(root);
if (files.length === 0) {
  console.error(`run-tests: no test files under ${root} match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
// A test that hangs (the longest takes ~30 s) fails after 4 minutes under its own name instead of
// stalling the run; a file whose tests are all done exits even if something it started lingers.
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-timeout=240000',
    '--test-force-exit',
    ...files,
  ],
  // Tests name the daemons they start (--daemon); a daemon this host runs (its own default
  // socket, /run/osmosis/…) must not be found by the ones that expect none.
  { stdio: 'inherit', env: { ...process.env, OSMOSIS_DAEMON: 'none' } },
);
process.exit(result.status ?? 1);
