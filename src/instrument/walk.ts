/**
 * A generic pre-order walk over binaryen IR. binaryen.js exposes children only through per-kind
 * info objects, so the kinds are listed here; the features the instrumenter enables (MVP, mutable
 * globals, sign-ext, non-trapping float-to-int, bulk memory) cannot produce any other kind, and an
 * unknown kind is an error rather than a silently skipped subtree (a loop inside it would go
 * uncounted).
 */
import { OsmoError } from '../core/errors.js';
import type binaryen from 'binaryen';
import type { Binaryen } from './load-binaryen.js';

type Ref = number;
export type ExpressionId = binaryen.ExpressionIds;

/** Whether `root` or any expression below it is of one of the `kinds`. */
export function containsKind(b: Binaryen, root: Ref, kinds: readonly ExpressionId[]): boolean {
  return containsWhere(b, root, (_expr, id) => kinds.includes(id));
}

/** Whether `root` or any expression below it satisfies `test`. */
export function containsWhere(
  b: Binaryen,
  root: Ref,
  test: (expr: Ref, id: ExpressionId) => boolean,
): boolean {
  let found = false;
  walk(b, root, (expr, id) => {
    if (!found && test(expr, id)) found = true;
  });
  return found;
}

/** An expression's kind (binaryen.js types `getExpressionId` as a plain number). */
export function kindOf(b: Binaryen, expr: Ref): ExpressionId {
  return b.getExpressionId(expr);
}

/** Whether `root` makes a call, direct or indirect. */
export function containsCall(b: Binaryen, root: Ref): boolean {
  return containsKind(b, root, [b.CallId, b.CallIndirectId]);
}

/** The direct calls to `target` in `root`. */
export function callsTo(b: Binaryen, root: Ref, target: string): Ref[] {
  const calls: Ref[] = [];
  walk(b, root, (expr, id) => {
    if (id === b.CallId && (b.getExpressionInfo(expr) as { target?: string }).target === target)
      calls.push(expr);
  });
  return calls;
}

/** Calls `visit` on `root` and every expression below it, parents before children. */
export function walk(b: Binaryen, root: Ref, visit: (expr: Ref, id: ExpressionId) => void): void {
  const kinds = childFields(b);
  const stack: Ref[] = [root];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    if (expr === 0) continue;
    const id = b.getExpressionId(expr);
    visit(expr, id);
    const fields = kinds.get(id);
    if (fields === undefined) {
      throw new OsmoError(
        'E_BAD_WASM',
        `the instrumenter cannot walk expression kind ${id}; rebuild the program for wasm32-wasi without SIMD, threads, exceptions or GC`,
      );
    }
    if (fields.length === 0) continue;
    const info = b.getExpressionInfo(expr) as unknown as Record<string, unknown>;
    // Pushed in reverse so that children are visited in source order.
    for (let f = fields.length - 1; f >= 0; f--) {
      const value = info[fields[f]!];
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) stack.push(value[i] as Ref);
      } else if (typeof value === 'number') {
        stack.push(value);
      }
    }
  }
}

let cached: Map<ExpressionId, readonly string[]> | undefined;

function childFields(b: Binaryen): Map<ExpressionId, readonly string[]> {
  if (cached) return cached;
  const m = new Map<ExpressionId, readonly string[]>([
    [b.BlockId, ['children']],
    [b.IfId, ['condition', 'ifTrue', 'ifFalse']],
    [b.LoopId, ['body']],
    [b.BreakId, ['value', 'condition']],
    [b.SwitchId, ['value', 'condition']],
    [b.CallId, ['operands']],
    [b.CallIndirectId, ['operands', 'target']],
    [b.LocalGetId, []],
    [b.LocalSetId, ['value']],
    [b.GlobalGetId, []],
    [b.GlobalSetId, ['value']],
    [b.LoadId, ['ptr']],
    [b.StoreId, ['ptr', 'value']],
    [b.ConstId, []],
    [b.UnaryId, ['value']],
    [b.BinaryId, ['left', 'right']],
    [b.SelectId, ['ifTrue', 'ifFalse', 'condition']],
    [b.DropId, ['value']],
    [b.ReturnId, ['value']],
    [b.MemorySizeId, []],
    [b.MemoryGrowId, ['delta']],
    [b.NopId, []],
    [b.UnreachableId, []],
    [b.MemoryInitId, ['dest', 'offset', 'size']],
    [b.DataDropId, []],
    [b.MemoryCopyId, ['dest', 'source', 'size']],
    [b.MemoryFillId, ['dest', 'value', 'size']],
    [b.RefNullId, []],
    [b.RefFuncId, []],
    [b.RefIsNullId, ['value']],
    [b.TableGetId, ['index']],
    [b.TableSetId, ['index', 'value']],
    [b.TableSizeId, []],
    [b.TableGrowId, ['value', 'delta']],
  ]);
  cached = m;
  return m;
}

/** Kind → [binaryen.js class, child fields]: where an expression can sit, and how to replace it. */
function parents(b: Binaryen): Map<number, [string, string[]]> {
  return new Map<number, [string, string[]]>([
    [b.BlockId, ['Block', ['children']]],
    [b.IfId, ['If', ['condition', 'ifTrue', 'ifFalse']]],
    [b.LoopId, ['Loop', ['body']]],
    [b.BreakId, ['Break', ['value', 'condition']]],
    [b.SwitchId, ['Switch', ['value', 'condition']]],
    [b.CallId, ['Call', ['operands']]],
    [b.CallIndirectId, ['CallIndirect', ['operands', 'target']]],
    [b.LocalSetId, ['LocalSet', ['value']]],
    [b.GlobalSetId, ['GlobalSet', ['value']]],
    [b.LoadId, ['Load', ['ptr']]],
    [b.StoreId, ['Store', ['ptr', 'value']]],
    [b.UnaryId, ['Unary', ['value']]],
    [b.BinaryId, ['Binary', ['left', 'right']]],
    [b.SelectId, ['Select', ['ifTrue', 'ifFalse', 'condition']]],
    [b.DropId, ['Drop', ['value']]],
    [b.ReturnId, ['Return', ['value']]],
    [b.MemoryGrowId, ['MemoryGrow', ['delta']]],
    [b.MemoryInitId, ['MemoryInit', ['dest', 'offset', 'size']]],
    [b.MemoryCopyId, ['MemoryCopy', ['dest', 'source', 'size']]],
    [b.MemoryFillId, ['MemoryFill', ['dest', 'value', 'size']]],
  ]);
}

/**
 * Replaces, in `root` and below it, each expression for which `replace` returns a new expression;
 * the new expression's children are visited in turn, the new expression itself is not. Returns
 * the new root (`root` itself unless `replace` replaced it).
 */
export function replaceBelow(
  b: Binaryen,
  root: Ref,
  replace: (expr: Ref, id: ExpressionId) => Ref | undefined,
): Ref {
  const kinds = parents(b);
  const api = b as unknown as Record<string, Record<string, (...a: unknown[]) => void>>;
  const top = replace(root, b.getExpressionId(root)) ?? root;
  const stack: Ref[] = [top];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    const kind = kinds.get(b.getExpressionId(expr));
    if (!kind) continue;
    const [cls, fields] = kind;
    const exprInfo = b.getExpressionInfo(expr) as unknown as Record<string, unknown>;
    for (const f of fields) {
      const value = exprInfo[f];
      const children = Array.isArray(value) ? (value as Ref[]) : [value as Ref];
      children.forEach((child, k) => {
        if (!child) return;
        const r = replace(child, b.getExpressionId(child));
        if (r === undefined) {
          stack.push(child);
          return;
        }
        stack.push(r);
        if (Array.isArray(value)) {
          const setter = f === 'children' ? 'setChildAt' : 'setOperandAt';
          api[cls]![setter]!(expr, k, r);
        } else {
          api[cls]![`set${f[0]!.toUpperCase()}${f.slice(1)}`]!(expr, r);
        }
      });
    }
  }
  return top;
}

/** Sets a function's body (binaryen.js has the setter; its typings do not declare it there). */
export function setFunctionBody(b: Binaryen, fn: number, body: Ref): void {
  (b as unknown as { Function: { setBody(fn: Ref, body: Ref): void } }).Function.setBody(fn, body);
}
