/**
 * The guest side of posted-writes.test.ts, in a worker thread (a guest blocks with Atomics.wait):
 * one synchronous write, three writes to an fd it may post to, then settle and report.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChannelClient } from '../../../src/runtime/channel.js';
import { createChannelPort } from '../../../src/runtime/channel-port.js';

const { sab } = workerData as { sab: SharedArrayBuffer };
const client = new ChannelClient(sab);
const port = createChannelPort(client);
const results = [port.fdWrite(6, [new Uint8Array(10).fill(9)])];
for (let i = 0; i < 3; i++) results.push(port.fdWrite(5, [new Uint8Array(1000).fill(i)]));
client.settle();
parentPort!.postMessage(results);
