/**
 * libc's memcpy, memmove and memset run like one bulk-memory instruction: their loops get no step
 * counter. They are what the compiler emits for a copy or a fill — with `-mbulk-memory` it emits
 * `memory.copy` / `memory.fill` instead, which no tick interrupts either — and they run in time
 * proportional to their size argument, so a suspension waits at most as long as the copy takes
 * (~0.1–0.3 s for 1 GiB here). In return they can never unwind, and Asyncify leaves every call to
 * them alone: musl's qsort, which copies each element it moves with memcpy, went from 1.32× to
 * 1.12× (ADR 0006, round 4).
 *
 * Recognised by name (the name section; a stripped module is instrumented in full) and only as
 * leaves of the libc shape `(i32, i32, i32) -> i32` that call nothing: a function of that name
 * that calls back into the program, or has another signature, is counted like any other.
 */
import type { Binaryen } from './load-binaryen.js';
import { containsCall } from './walk.js';

type Module = InstanceType<Binaryen['Module']>;

export const BULK_LIKE_NAMES: readonly string[] = ['memcpy', 'memmove', 'memset'];

/** The functions of `module` that qualify (see above). */
export function bulkLikeFunctions(b: Binaryen, module: Module): Set<string> {
  const found = new Set<string>();
  for (const name of BULK_LIKE_NAMES) {
    const fn = module.getFunction(name);
    if (fn === 0) continue;
    const info = b.getFunctionInfo(fn);
    if (info.base) continue; // an import
    const params = b.expandType(info.params);
    if (params.length !== 3 || params.some((t) => t !== b.i32) || info.results !== b.i32) continue;
    if (!containsCall(b, info.body)) found.add(name);
  }
  return found;
}
