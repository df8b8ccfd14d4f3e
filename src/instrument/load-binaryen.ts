/**
 * binaryen.js is ~10 MB of JavaScript + wasm and takes ~100 ms to load: it is imported only when a
 * module is missing from the cache, never on the warm path of `osmo run`.
 */
import type binaryenDefault from 'binaryen';

export type Binaryen = typeof binaryenDefault;

let loading: Promise<Binaryen> | undefined;

export function loadBinaryen(): Promise<Binaryen> {
  loading ??= import('binaryen').then((m) => m.default);
  return loading;
}
