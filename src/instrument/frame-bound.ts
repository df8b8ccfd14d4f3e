/**
 * The most bytes one frame can take in Asyncify's unwind data, read from the code Asyncify wrote:
 * the runtime sizes its unwind region from it and the live stack's depth (runtime/unwind-region.ts),
 * so that an unwind never runs past its region — which would trap and lose the process.
 *
 * An instrumented function unwinds its frame by storing its call index and its locals at the
 * data's current pointer and advancing the pointer by a constant each time:
 * `i32.store (global.get $data) (i32.add (i32.load (global.get $data)) (i32.const K))`.
 * The sum of those constants in a function bounds what its frame takes (with several unwind paths
 * it is more than any one of them: still a bound). Reading the code, not counting locals, keeps
 * the bound right whatever binaryen's optimisations did to the locals after saving them.
 */
import { OsmoError } from '../core/errors.js';
import type binaryen from 'binaryen';
import type { Binaryen } from './load-binaryen.js';
import { walk } from './walk.js';

/** Asyncify's data global, named so by binaryen's pass. */
export const ASYNCIFY_DATA_GLOBAL = '__asyncify_data';

type Ref = number;
type Module = InstanceType<Binaryen['Module']>;

/**
 * The bytes one frame of each function adds to the unwind data (`max`), and, by name, the
 * functions whose frames take less than that (`smaller`; a function not listed is bounded by
 * `max`). The runtime adds up the frames on the stack by name (runtime/unwind-region.ts): a deep
 * recursion of a small function reserves what its frames need, not `max` each.
 */
export function asyncifyFrameBytes(
  b: Binaryen,
  module: Module,
): { max: number; smaller: Record<string, number> } {
  const byFunction = new Map<string, number>();
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = b.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.base) continue; // an import: no body
    let bytes = 0;
    walk(b, info.body, (expr, id) => {
      if (id === b.StoreId) bytes += advanceOf(b, expr);
    });
    byFunction.set(info.name, bytes);
  }
  const max = Math.max(0, ...byFunction.values());
  if (max === 0) {
    throw new OsmoError(
      'E_INTERNAL',
      'no function saves a frame for Asyncify: an instrumenter bug; please report it with the module',
    );
  }
  // Functions that save nothing are not listed: they are never on the stack of an unwind.
  const smaller: Record<string, number> = {};
  for (const [name, bytes] of byFunction) if (bytes > 0 && bytes < max) smaller[name] = bytes;
  return { max, smaller };
}

/**
 * K if `expr` is `data.current += K` (unwinding), 0 for `data.current -= K` (rewinding) and for
 * any store elsewhere. A store to `data.current` of any other shape fails loudly: a bound read
 * from a shape not understood could be too small.
 */
function advanceOf(b: Binaryen, expr: Ref): number {
  const store = b.getExpressionInfo(expr) as unknown as { ptr: Ref; value: Ref; offset: number };
  if (!isDataGlobal(b, store.ptr) || store.offset !== 0) return 0;
  const value = b.getExpressionInfo(store.value) as unknown as {
    id: binaryen.ExpressionIds;
    op?: binaryen.Operations;
    right?: Ref;
  };
  if (value.id === b.BinaryId && value.right !== undefined) {
    const right = b.getExpressionInfo(value.right) as unknown as {
      id: binaryen.ExpressionIds;
      value?: unknown;
    };
    if (right.id === b.ConstId && typeof right.value === 'number') {
      // binaryen's optimiser writes `-= K` as `+= -K` too: the sign says which way it moves.
      const delta =
        value.op === b.AddInt32 ? right.value : value.op === b.SubInt32 ? -right.value : undefined;
      if (delta !== undefined) return Math.max(delta, 0);
    }
  }
  throw new OsmoError(
    'E_INTERNAL',
    'Asyncify moved its data pointer in a way the instrumenter does not recognise (so it cannot bound a frame): an instrumenter bug; please report it with the module',
  );
}

function isDataGlobal(b: Binaryen, expr: Ref): boolean {
  const id: binaryen.ExpressionIds = b.getExpressionId(expr);
  if (id !== b.GlobalGetId) return false;
  return (b.getExpressionInfo(expr) as unknown as { name: string }).name === ASYNCIFY_DATA_GLOBAL;
}
