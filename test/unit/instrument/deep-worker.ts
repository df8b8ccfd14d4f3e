/**
 * Runs in a worker with a large stack (resourceLimits.stackSizeMb): the deep recursion fixture,
 * uninterrupted and with suspends ~60 000 frames deep, each continued in a new instance.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { newStubState } from '../../../src/instrument/stub-wasi.js';
import { runGuest } from '../../../src/instrument/test-driver.js';
import { chain, text } from './helpers.js';

const { plain, instrumented, args, ticks } = workerData as {
  plain: Uint8Array;
  instrumented: Uint8Array;
  args: string[];
  ticks: number[];
};
const refHost = newStubState(args);
runGuest(new WebAssembly.Module(plain), refHost);
const module = new WebAssembly.Module(instrumented);
const r = chain(
  module,
  args,
  ticks.map((t) => ({ atTick: (n: number) => n === t })),
  { asyncifyBytes: 16 << 20 },
);
parentPort!.postMessage({ reference: text(refHost), ...r });
