/**
 * Self-recursion unrolled once. Every call of a recursive function pays for an entry check and
 * for Asyncify's bookkeeping around its recursive call site (ADR 0006: fib 2.3× with both, 1.2×
 * with the counter alone). A small function that calls itself gets a copy; its recursive calls
 * go to the copy, whose calls go back to it, and binaryen's inliner folds the copy (one caller,
 * one call site) into the original. Each call then does the work of two levels of recursion:
 * half as many instrumented calls for the same work (and a tick still comes at least every other
 * level, the original keeping its entry check).
 */
import type { Binaryen } from './load-binaryen.js';
import { callsTo, walk } from './walk.js';

type Ref = number;
type Module = InstanceType<Binaryen['Module']>;

/** Larger functions are not copied (the copy doubles their code). In expressions. */
export const MAX_UNROLLED_SIZE = 400;
const COPY_SUFFIX = '$osmo_u';
/**
 * Copies per function: each call then does the work of UNROLL_COPIES + 1 levels. Measured on
 * fib (Node 20): 1 copy 1.47–1.55×, 2 copies 1.80–1.85×, 3 copies 1.85–1.88× (ADR 0006).
 */
export const UNROLL_COPIES = 1;

interface CallApi {
  Call: { setTarget(expr: Ref, target: string): void };
  getAllowInliningFunctionsWithLoops(): boolean;
  setAllowInliningFunctionsWithLoops(on: boolean): void;
  getAlwaysInlineMaxSize(): number;
  setAlwaysInlineMaxSize(size: number): void;
  getFlexibleInlineMaxSize(): number;
  setFlexibleInlineMaxSize(size: number): void;
  getOneCallerInlineMaxSize(): number;
  setOneCallerInlineMaxSize(size: number): void;
}

/** Unrolls every small self-recursive function once. Returns how many. */
export function unrollSelfRecursion(b: Binaryen, module: Module): number {
  const api = b as unknown as CallApi;
  const defined: Ref[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const fn = module.getFunctionByIndex(i);
    if (!b.getFunctionInfo(fn).base) defined.push(fn);
  }
  const recursive: { fn: Ref; selfCalls: Ref[] }[] = [];
  for (const fn of defined) {
    const info = b.getFunctionInfo(fn);
    const selfCalls = callsTo(b, info.body, info.name);
    let size = 0;
    walk(b, info.body, () => size++);
    // With two recursive calls a copy would have two call sites and stay a function of its own.
    if (selfCalls.length === 1 && size <= MAX_UNROLLED_SIZE) recursive.push({ fn, selfCalls });
  }
  if (recursive.length === 0) return 0;
  // Every function there is now is marked not to be inlined: the inliner then folds the copies
  // made below and nothing else (the rest keeps the shape its compiler gave it).
  b.setPassArgument('no-inline', '*');
  try {
    module.runPasses(['no-inline']);
  } finally {
    b.setPassArgument('no-inline', null);
  }
  for (const { fn, selfCalls } of recursive) {
    const info = b.getFunctionInfo(fn);
    // f → f$1 → … → f$k → f: each copy has one call site, in the one before it.
    let calls = selfCalls;
    for (let k = 1; k <= UNROLL_COPIES; k++) {
      const copy = `${info.name}${COPY_SUFFIX}${k}`;
      const body = module.copyExpression(info.body);
      module.addFunction(copy, info.params, info.results, info.vars, body);
      for (const call of calls) api.Call.setTarget(call, copy);
      calls = callsTo(b, body, info.name);
    }
  }
  inlineCopies(b, module);
  return recursive.length;
}

/** binaryen's inliner, for functions with one call site only (the copies), loops or not. */
function inlineCopies(b: Binaryen, module: Module): void {
  const api = b as unknown as CallApi;
  const saved = {
    loops: api.getAllowInliningFunctionsWithLoops(),
    always: api.getAlwaysInlineMaxSize(),
    flexible: api.getFlexibleInlineMaxSize(),
    oneCaller: api.getOneCallerInlineMaxSize(),
  };
  api.setAllowInliningFunctionsWithLoops(true);
  api.setAlwaysInlineMaxSize(0);
  api.setFlexibleInlineMaxSize(0);
  api.setOneCallerInlineMaxSize(-1);
  try {
    module.runPasses(['inlining']);
  } finally {
    api.setAllowInliningFunctionsWithLoops(saved.loops);
    api.setAlwaysInlineMaxSize(saved.always);
    api.setFlexibleInlineMaxSize(saved.flexible);
    api.setOneCallerInlineMaxSize(saved.oneCaller);
  }
}
