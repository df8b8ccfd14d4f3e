/** Shared by the instrumenter tests: fixtures, seeded choices, suspend/resume chains. */
import { readFileSync } from 'node:fs';
import { instrumentWith, type InstrumentOptions } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { newStubState, type StubWasiState } from '../../../src/instrument/stub-wasi.js';
import { runGuest, type Image, type SuspendPolicy } from '../../../src/instrument/test-driver.js';

export const fixturesDir = new URL('../../../../test/unit/instrument/fixtures/', import.meta.url)
  .pathname;
export const kernelsDir = new URL('../../../../bench/kernels/', import.meta.url).pathname;

export function fixture(name: string): Uint8Array {
  return readFileSync(`${fixturesDir}${name}.wasm`);
}

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;

/**
 * A module in the text format, as bytes. `names`: with or without the name section, as clang
 * writes it or as a stripped module (undefined: binaryen's current setting).
 */
export function wasmOf(b: Binaryen, wat: string, names?: boolean): Uint8Array {
  const module = (
    b as unknown as { parseText(t: string): InstanceType<Binaryen['Module']> }
  ).parseText(wat);
  const debug = b.getDebugInfo();
  if (names !== undefined) b.setDebugInfo(names);
  try {
    return module.emitBinary();
  } finally {
    b.setDebugInfo(debug);
    module.dispose();
  }
}

/** fib as clang writes it: the second recursive call turned into a loop around the first. */
export const FIB_LOOP = `(module
  (func $f (export "f") (param $n i32) (result i32) (local $acc i32)
    (if (i32.lt_s (local.get $n) (i32.const 2)) (then (return (local.get $n))))
    (loop $L
      (local.set $acc (i32.add (local.get $acc) (call $f (i32.sub (local.get $n) (i32.const 1)))))
      (local.set $n (i32.sub (local.get $n) (i32.const 2)))
      (br_if $L (i32.ge_s (local.get $n) (i32.const 2))))
    (i32.add (local.get $acc) (local.get $n))))`;

export async function instrumented(
  bytes: Uint8Array,
  options: InstrumentOptions,
): Promise<WebAssembly.Module> {
  return new WebAssembly.Module(instrumentWith(await loadBinaryen(), bytes, options).bytes);
}

/** xorshift32: the tests' only randomness, seeded so a failure can be replayed. */
export function seeded(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % below;
  };
}

export const text = (host: StubWasiState): string =>
  new TextDecoder().decode(new Uint8Array(host.stdout));

export interface ChainResult {
  output: string;
  code: number;
  suspends: { stackBytes: number; unwindMs: number; pages: number; dataPages: number }[];
}

/**
 * Runs to completion, suspending once per policy: each suspended image is continued in a NEW
 * instance (only the image crosses), like a move to another process.
 */
export function chain(
  module: WebAssembly.Module,
  args: string[],
  policies: SuspendPolicy[],
  options: { stdin?: string; asyncifyBytes?: number } = {},
): ChainResult {
  let image: Image | undefined;
  let host = newStubState(args, options.stdin);
  const suspends: ChainResult['suspends'] = [];
  for (let step = 0; ; step++) {
    const outcome = runGuest(
      module,
      host,
      { policy: policies[step] ?? {}, asyncifyBytes: options.asyncifyBytes ?? 1 << 20 },
      image,
    );
    if (outcome.kind === 'exited')
      return { output: text(outcome.host), code: outcome.code, suspends };
    image = outcome.image;
    // Nothing of the old instance survives except the image (host state included).
    host = structuredClone(image.host);
    suspends.push({
      stackBytes: outcome.stackBytes,
      unwindMs: outcome.unwindMs,
      pages: image.pages,
      dataPages: image.data.size,
    });
    if (step > policies.length + 2) throw new Error('suspended more often than requested');
  }
}
