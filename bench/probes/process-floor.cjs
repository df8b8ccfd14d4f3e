// The floor of a guest runner's start (bench/runner-start.ts): a Node process forked with an IPC
// channel that listens on a loopback port and says so, as `osmo runner` does, with one worker
// thread booted beside it (`--worker`) or none. No Osmosis code at all.
'use strict';
const net = require('node:net');

if (process.argv.includes('--worker')) {
  const { Worker } = require('node:worker_threads');
  new Worker('0', { eval: true });
}
const server = net.createServer();
server.listen(0, '127.0.0.1', () => process.send({ t: 'ready', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
