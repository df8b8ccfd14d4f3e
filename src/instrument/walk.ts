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
  const stack: Ref[] = [root];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    if (expr === 0) continue;
    const id = b.getExpressionId(expr);
    visit(expr, id);
    const children = childrenOf(b, expr, id);
    // Pushed in reverse so that children are visited in source order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

/** The children of `expr` (of kind `id`) in the order they are evaluated, absent ones left out. */
export function childrenOf(b: Binaryen, expr: Ref, id: ExpressionId): Ref[] {
  const kind = kinds(b).get(id);
  if (kind === undefined) {
    throw new OsmoError(
      'E_BAD_WASM',
      `the instrumenter cannot walk expression kind ${id}; rebuild the program for wasm32-wasi without SIMD, threads, exceptions or GC`,
    );
  }
  const children: Ref[] = [];
  for (const field of kind.fields) {
    if (field.many) {
      const n = field.count(expr);
      for (let i = 0; i < n; i++) children.push(field.at(expr, i));
    } else {
      const child = field.get(expr);
      if (child !== 0) children.push(child);
    }
  }
  return children;
}

type Getter = (expr: Ref) => Ref;
type Field =
  | { name: string; many: false; get: Getter; set: (expr: Ref, child: Ref) => void }
  | {
      name: string;
      many: true;
      count: (expr: Ref) => number;
      at: (expr: Ref, i: number) => Ref;
      setAt: (expr: Ref, i: number, child: Ref) => void;
    };

interface Kind {
  fields: readonly Field[];
}

let cached: Map<ExpressionId, Kind> | undefined;

/**
 * Every kind the instrumenter may meet, with its child fields in evaluation order, read and written
 * through binaryen.js's per-class accessors (`Block.getChildAt`, `If.getCondition`…): the generic
 * `getExpressionInfo` reads every property of a node and costs several times more.
 */
function kinds(b: Binaryen): Map<ExpressionId, Kind> {
  if (cached) return cached;
  const api = b as unknown as Record<string, Record<string, (...a: number[]) => number>>;
  const kind = (cls: string, names: string[]): Kind => ({
    fields: names.map((name): Field => {
      const c = api[cls]!;
      if (name === 'children' || name === 'operands') {
        const [one, all] = name === 'children' ? ['Child', 'Children'] : ['Operand', 'Operands'];
        return {
          name,
          many: true,
          count: c[`getNum${all}`]!,
          at: c[`get${one}At`]!,
          setAt: c[`set${one}At`]!,
        };
      }
      const cap = `${name[0]!.toUpperCase()}${name.slice(1)}`;
      return { name, many: false, get: c[`get${cap}`]!, set: c[`set${cap}`]! };
    }),
  });
  const leaf: Kind = { fields: [] };
  cached = new Map<ExpressionId, Kind>([
    [b.BlockId, kind('Block', ['children'])],
    [b.IfId, kind('If', ['condition', 'ifTrue', 'ifFalse'])],
    [b.LoopId, kind('Loop', ['body'])],
    [b.BreakId, kind('Break', ['value', 'condition'])],
    [b.SwitchId, kind('Switch', ['value', 'condition'])],
    [b.CallId, kind('Call', ['operands'])],
    [b.CallIndirectId, kind('CallIndirect', ['operands', 'target'])],
    [b.LocalGetId, leaf],
    [b.LocalSetId, kind('LocalSet', ['value'])],
    [b.GlobalGetId, leaf],
    [b.GlobalSetId, kind('GlobalSet', ['value'])],
    [b.LoadId, kind('Load', ['ptr'])],
    [b.StoreId, kind('Store', ['ptr', 'value'])],
    [b.ConstId, leaf],
    [b.UnaryId, kind('Unary', ['value'])],
    [b.BinaryId, kind('Binary', ['left', 'right'])],
    [b.SelectId, kind('Select', ['ifTrue', 'ifFalse', 'condition'])],
    [b.DropId, kind('Drop', ['value'])],
    [b.ReturnId, kind('Return', ['value'])],
    [b.MemorySizeId, leaf],
    [b.MemoryGrowId, kind('MemoryGrow', ['delta'])],
    [b.NopId, leaf],
    [b.UnreachableId, leaf],
    [b.MemoryInitId, kind('MemoryInit', ['dest', 'offset', 'size'])],
    [b.DataDropId, leaf],
    [b.MemoryCopyId, kind('MemoryCopy', ['dest', 'source', 'size'])],
    [b.MemoryFillId, kind('MemoryFill', ['dest', 'value', 'size'])],
    [b.RefNullId, leaf],
    [b.RefFuncId, leaf],
    [b.RefIsNullId, kind('RefIsNull', ['value'])],
    [b.TableGetId, kind('TableGet', ['index'])],
    [b.TableSetId, kind('TableSet', ['index', 'value'])],
    [b.TableSizeId, leaf],
    [b.TableGrowId, kind('TableGrow', ['value', 'delta'])],
  ]);
  return cached;
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
  const top = replace(root, b.getExpressionId(root)) ?? root;
  const stack: Ref[] = [top];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    const kind = kinds(b).get(b.getExpressionId(expr));
    if (!kind) continue;
    const visit = (child: Ref, set: (r: Ref) => void): void => {
      if (!child) return;
      const r = replace(child, b.getExpressionId(child));
      if (r !== undefined) set(r);
      stack.push(r ?? child);
    };
    for (const field of kind.fields) {
      if (field.many) {
        const n = field.count(expr);
        for (let i = 0; i < n; i++) visit(field.at(expr, i), (r) => field.setAt(expr, i, r));
      } else {
        visit(field.get(expr), (r) => field.set(expr, r));
      }
    }
  }
  return top;
}

/** Sets a function's body (binaryen.js has the setter; its typings do not declare it there). */
export function setFunctionBody(b: Binaryen, fn: number, body: Ref): void {
  (b as unknown as { Function: { setBody(fn: Ref, body: Ref): void } }).Function.setBody(fn, body);
}
