/**
 * Fast paths: a copy of each function Asyncify rewrote, without the code only a rewind runs.
 *
 * Asyncify makes one body serve three modes — normal, unwinding, rewinding — by reading its state
 * global before every stretch of code ("rewinding? then skip this, it ran before the unwind") and
 * after every call that may unwind ("unwinding? then save this frame and return"). On call-heavy
 * code those guards are most of the instrumentation's cost (fib: ADR 0006, rounds 1–5), and V8
 * cannot fold them: the global may change during any call.
 *
 * Only a rewind needs the guards, and a rewind enters a function only through its caller's
 * rewind, from `_start` down. So each such function F gets a copy `F.fast` in which the state
 * reads as 0 everywhere except in the checks right after calls, and F gains a first line
 * "fast paths on and not rewinding: tail-call F.fast(args)". binaryen then folds the copy's rewind
 * code and guards away. The switch (`FAST_SWITCH_EXPORT`, off in a new instance) is the
 * runtime's: see ./contract.ts. The copy keeps Asyncify's save code and frame layout (it is F's
 * code run with state 0), so a frame it saves is one F's rewind restores; each check passes it the
 * locals a rewind to its call needs and zeros for the others (`saveGroups`). Fast copies call
 * each other directly; a rewind runs the original functions, and a frame it rebuilt goes on in
 * the original code until it returns — its new calls take the fast path again.
 *
 * Why 0 is right in the copy, checked per function (a function that fails a check gets no copy):
 * the state is 0 when a fast copy is entered (F's first line; fast copies are called only from
 * fast copies, where it is 0 before any call); it changes only inside a call whose callee may
 * change it (`mayChange`); after such a call it is 0 or 1 (a rewind never starts while wasm frames
 * are live: ADR 0006, runtime contract); and every such call is the last thing its statement does,
 * followed at once by `br_if $save (state == 1)`, which leaves the block `$save` for the save code.
 * So inside `$save`, and before it, every other read of the state sees 0; after `$save` (the save
 * code) no read of the state may stand, and none does in what Asyncify writes.
 */
import type binaryen from 'binaryen';
import type { Binaryen } from './load-binaryen.js';
import { callIndirectSignature, functionsThatMayUnwind } from './indirect.js';
import {
  containsWhere,
  kindOf,
  replaceBelow,
  setFunctionBody,
  walk,
  type ExpressionId,
} from './walk.js';
import { FAST_SUFFIX, FAST_SWITCH_EXPORT } from './contract.js';
import { liveAfter } from './liveness.js';

type Ref = number;
type Module = InstanceType<Binaryen['Module']>;

/**
 * Run on each fast copy: fold the constant state and drop the code it made dead. Not the local
 * passes (simplify-locals, coalesce-locals): measured, they made nbody's copy slower (1.21× →
 * 1.41× of plain on Node 20) and fib's no faster (ADR 0006, round 6).
 */
const FAST_PASSES = [
  'precompute-propagate',
  'optimize-instructions',
  'dce',
  'remove-unused-brs',
  'remove-unused-names',
  'merge-blocks',
  'vacuum',
];

export interface FastPathStats {
  /** Functions that got a fast copy. */
  fast: number;
  /** Asyncified functions left without one: their shape did not pass the checks above. */
  refused: string[];
}

interface Plan {
  name: string;
  copy: Ref;
  /** The state reads that stay reads: the checks after calls. */
  kept: Set<Ref>;
  /** Index, in the body's statements, of the one holding `$save`; the save code follows it. */
  saveAt: number;
  /** The checks after calls. */
  checks: Check[];
}

interface Check {
  /** The check `[drop] br_if $save (state == 1)`. */
  stmt: Ref;
  /** The local the call before it sets, if any. */
  sets: number | undefined;
  /** The locals the call reads, if a rewind makes it again with them (see `saveGroups`). */
  rereads: number[];
}

/** Checks whose calls need the same locals to be saved: they share one save (`saveGroups`). */
interface SaveGroup {
  /** The locals a rewind to these calls needs; the others are saved as zeros. */
  needed: ReadonlySet<number>;
  checks: Ref[];
}

interface SaveGroups {
  /** The local `$save`'s value sets (the call's index, which the save code stores), if any. */
  indexLocal: number | undefined;
  groups: SaveGroup[];
}

/**
 * Save groups per function, at most: each nests the function's body one block deeper, and
 * binaryen's `precompute-propagate` grows faster than linearly with that. printf_core (114 checks,
 * 76 groups): 123 → 1156 ms in that pass with every group, 142 ms with 16 (ADR 0006, round 7).
 * The checks of the groups left out keep their branch to the shared save.
 */
const MAX_SAVE_GROUPS = 16;

/** Suffix of the function a fast copy's save code is moved to. */
const SAVE_SUFFIX = '.save';

/**
 * Adds the fast copies (after Asyncify). `frameBytes` (by function name, ./frame-bound.ts) gains
 * each copy's bound: the copy saves the same frame as its original.
 */
export function addFastPaths(
  b: Binaryen,
  module: Module,
  frameBytes: Record<string, number>,
  options: { liveSaves?: boolean } = {},
): FastPathStats {
  module.setFeatures(module.getFeatures() | b.Features.TailCall | b.Features.MutableGlobals);
  const state = asyncifyStateGlobal(b, module);
  const control = new Set<string>();
  for (let i = 0; i < module.getNumExports(); i++) {
    const e = b.getExportInfo(module.getExportByIndex(i));
    if (e.kind === b.ExternalFunction && e.name.startsWith('asyncify_')) control.add(e.value);
  }
  const seeds = new Set<string>();
  const candidates: string[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = b.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.base) {
      seeds.add(info.name); // an import: anything may happen in it
      continue;
    }
    if (!touchesGlobal(b, info.body, state)) continue;
    seeds.add(info.name);
    if (!control.has(info.name)) candidates.push(info.name);
  }
  const { mayUnwind, tableBySig } = functionsThatMayUnwind(b, module, seeds);
  const mayChange = new Set([...seeds, ...mayUnwind]);
  const callMayChange = (expr: Ref, id: ExpressionId): boolean => {
    if (id === b.CallId)
      return mayChange.has((b.getExpressionInfo(expr) as unknown as { target: string }).target);
    if (id !== b.CallIndirectId) return false;
    const targets = tableBySig.get(callIndirectSignature(b, expr)) ?? [];
    return targets.some((t) => mayChange.has(t));
  };

  // A rewind calls an import again with its arguments, and an indirect call through its index;
  // a function's arguments it ignores (the callee restores its own frame).
  const rewindReadsOperands = (call: Ref): boolean => {
    const id = kindOf(b, call);
    if (id === b.CallIndirectId) return true;
    if (id !== b.CallId) return false;
    const target = (b.getExpressionInfo(call) as unknown as { target: string }).target;
    return b.getFunctionInfo(module.getFunction(target)).base !== '';
  };

  const plans: Plan[] = [];
  const refused: string[] = [];
  for (const name of candidates) {
    const info = b.getFunctionInfo(module.getFunction(name));
    const copy = module.copyExpression(info.body);
    const checked = checkedReads(b, copy, state, callMayChange);
    if (checked === undefined) {
      refused.push(name);
      continue;
    }
    const checks = checked.calls.map(({ stmt, callStmt }) => {
      const call = valueOf(b, callStmt);
      const rereads = rewindReadsOperands(call) ? localsRead(b, call) : [];
      return { stmt, sets: localSetBy(b, callStmt), rereads };
    });
    plans.push({ name, copy, kept: checked.kept, saveAt: checked.saveAt, checks });
  }

  const sw = uniqueName(FAST_SWITCH_EXPORT, (n) => module.getGlobal(n) !== 0);
  module.addGlobal(sw, b.i32, true, module.i32.const(0));
  module.addGlobalExport(sw, FAST_SWITCH_EXPORT);
  const functionExists = (n: string): boolean => module.getFunction(n) !== 0;
  const fastName = new Map<string, string>();
  for (const p of plans)
    fastName.set(p.name, uniqueName(`${p.name}${FAST_SUFFIX}`, functionExists));
  for (const p of plans) {
    const fn = module.getFunction(p.name);
    const info = b.getFunctionInfo(fn);
    const fast = fastName.get(p.name)!;
    const saves = uniqueName(`${fast}${SAVE_SUFFIX}`, functionExists);
    const locals = [...b.expandType(info.params), ...info.vars];
    const body = replaceBelow(b, p.copy, (expr, id) => {
      if (id === b.GlobalGetId && !p.kept.has(expr) && globalOf(b, expr) === state)
        return module.i32.const(0);
      if (id !== b.CallId) return undefined;
      const call = b.getExpressionInfo(expr) as unknown as {
        target: string;
        operands: Ref[];
        type: number;
      };
      const fast = fastName.get(call.target);
      return fast === undefined ? undefined : module.call(fast, call.operands, call.type);
    });
    if (options.liveSaves !== false) {
      const groups = saveGroups(b, body, p.saveAt, p.checks, info);
      if (groups) addGroupSaves(b, module, body, p.saveAt, groups, saves, locals, info.results);
    }
    module.addFunction(
      fast,
      info.params,
      info.results,
      info.vars,
      outlineSaveCode(b, module, body, p.saveAt, saves, locals, info.results),
    );
    module.runPassesOnFunction(fast, FAST_PASSES);
    const params = b.expandType(info.params).map((t, k) => module.local.get(k, t));
    // A tail call: the original's frame gives way to the copy's, so a recursion through the
    // table (whose entries are the originals) takes one native frame a level, not two.
    const fastAndNotRewinding = module.i32.and(
      module.global.get(sw, b.i32),
      module.i32.eqz(module.global.get(state, b.i32)),
    );
    const first = module.if(fastAndNotRewinding, module.return_call(fast, params, info.results));
    setFunctionBody(b, fn, module.block(null, [first, info.body], info.results));
    const bound = frameBytes[p.name];
    if (bound !== undefined) frameBytes[fast] = bound;
  }
  return { fast: plans.length, refused };
}

/** The global `asyncify_get_state` returns. */
function asyncifyStateGlobal(b: Binaryen, module: Module): string {
  for (let i = 0; i < module.getNumExports(); i++) {
    const e = b.getExportInfo(module.getExportByIndex(i));
    if (e.kind !== b.ExternalFunction || e.name !== 'asyncify_get_state') continue;
    let global: string | undefined;
    walk(b, b.getFunctionInfo(module.getFunction(e.value)).body, (expr, id) => {
      if (id === b.GlobalGetId) global = globalOf(b, expr);
    });
    if (global !== undefined) return global;
  }
  throw new Error('asyncify_get_state not found: run after Asyncify');
}

function globalOf(b: Binaryen, expr: Ref): string {
  return (b.getExpressionInfo(expr) as unknown as { name: string }).name;
}

function touchesGlobal(b: Binaryen, root: Ref, global: string): boolean {
  return containsWhere(
    b,
    root,
    (expr, id) => (id === b.GlobalGetId || id === b.GlobalSetId) && globalOf(b, expr) === global,
  );
}

/**
 * The state reads of `body` that must stay reads (the checks after calls), or undefined if the
 * function's shape does not let every other read be 0 (see the module comment):
 * - it never writes the state;
 * - its body is a block with one statement holding the block `$save` that every check leaves;
 * - statements before that one make no call that may change the state, statements after it
 *   read no state;
 * - each call that may change the state is a statement of its own within `$save` (or the value
 *   of one: `local.set`, `drop`), followed at once by the check `br_if $save (state == 1)`.
 */
function checkedReads(
  b: Binaryen,
  body: Ref,
  state: string,
  callMayChange: (expr: Ref, id: ExpressionId) => boolean,
): { kept: Set<Ref>; saveAt: number; calls: { stmt: Ref; callStmt: Ref }[] } | undefined {
  if (kindOf(b, body) !== b.BlockId) return undefined;
  const writes = (expr: Ref, id: ExpressionId): boolean =>
    id === b.GlobalSetId && globalOf(b, expr) === state;
  if (containsWhere(b, body, writes)) return undefined;

  const kept = new Set<Ref>();
  const checks: { stmt: Ref; callStmt: Ref }[] = [];
  let label: string | undefined;
  let changingCalls = 0;
  let labels = 0;
  walk(b, body, (expr, id) => {
    if (callMayChange(expr, id)) changingCalls++;
    if (id !== b.BlockId) return;
    const list = (b.getExpressionInfo(expr) as unknown as { children: Ref[] }).children;
    for (let i = 0; i + 1 < list.length; i++) {
      if (!endsWithCall(b, list[i]!, callMayChange)) continue;
      const check = stateCheck(b, list[i + 1]!, state);
      if (check === undefined) continue;
      if (check.label !== label) labels++;
      label = check.label;
      kept.add(check.read);
      checks.push({ stmt: list[i + 1]!, callStmt: list[i]! });
    }
  });
  if (label === undefined || labels !== 1 || checks.length !== changingCalls) return undefined;

  const top = (b.getExpressionInfo(body) as unknown as { children: Ref[] }).children;
  const at = top.findIndex((s) => savesTo(b, s) === label);
  if (at < 0) return undefined;
  for (let i = 0; i < top.length; i++) {
    if (i < at && containsWhere(b, top[i]!, callMayChange)) return undefined;
    if (i > at && touchesGlobal(b, top[i]!, state)) return undefined;
  }
  return { kept, saveAt: at, calls: checks };
}

/**
 * The checks that can save only the locals a rewind to their call needs (the others as zeros),
 * grouped by those locals: each group gets a save of its own (`addGroupSaves`). Fewer locals
 * reaching a save keeps fewer alive across each call (V8 spills what is live across a call):
 * a round 6 experiment passing none made fib 1.68 → 1.40× on Node 24 (ADR 0006, round 7).
 *
 * A frame saved here is restored into the original F, whose rewind runs no code but the calls on
 * its way back to this call, then goes on as this copy would from the same locals (state 0 in
 * both). So it needs the locals live after the check in the copy (./liveness.ts, on the copy
 * before any pass changed it, its state reads already 0), minus the one the call sets, plus those
 * the call reads if the rewind really makes it again with them (an import, or an indirect call's
 * index). The checks' branches are left out of the liveness: each save needs only what its own
 * continuation reads, and a later save in the original F that writes a stale dead local writes
 * one nobody reads. A check that needs every local the save code stores keeps its branch to the
 * shared save.
 *
 * Undefined (every check keeps its branch to the shared save) when the body's shape differs from
 * Asyncify's: no save code after `$save`, a `$save` block that can end without a branch, a
 * check that carries an index `$save`'s value does not set or the other way round, a final value
 * that is not a constant, or a liveness that gave up.
 */
function saveGroups(
  b: Binaryen,
  body: Ref,
  saveAt: number,
  checks: readonly Check[],
  fn: { results: number },
): SaveGroups | undefined {
  const top = (b.getExpressionInfo(body) as unknown as { children: Ref[] }).children;
  const end = saveCodeEnd(b, body, fn.results);
  if (end <= saveAt + 1) return undefined;
  const save = (b.getExpressionInfo(valueOf(b, top[saveAt]!)) as unknown as { children: Ref[] })
    .children;
  if (save.length === 0 || b.getExpressionType(save[save.length - 1]!) !== b.unreachable)
    return undefined;
  const final = lastValue(b, body, fn.results);
  if (final !== undefined && kindOf(b, final) !== b.ConstId) return undefined;
  const indexLocal = localSetBy(b, top[saveAt]!);
  // The save code stores some locals only (Asyncify's own liveness); the others need no value.
  const stored = new Set(top.slice(saveAt + 1, end).flatMap((stmt) => localsRead(b, stmt)));
  stored.delete(indexLocal ?? -1);
  const stmts = new Set(checks.map((c) => c.stmt));
  const live = liveAfter(b, body, { after: stmts, skip: stmts });
  if (live === undefined) return undefined;
  const groups = new Map<string, SaveGroup>();
  for (const { stmt, sets, rereads } of checks) {
    // Each check carries the index exactly when `$save`'s value sets it (the blocks' type).
    if ((indexLocal === undefined) !== (checkValue(b, stmt) === undefined)) return undefined;
    const needed = new Set(live.get(stmt) ?? []);
    if (sets !== undefined) needed.delete(sets);
    for (const l of rereads) needed.add(l);
    for (const l of needed) if (!stored.has(l)) needed.delete(l);
    if (needed.size === stored.size) continue;
    const key = [...needed].sort((x, y) => x - y).join(',');
    const group = groups.get(key) ?? { needed, checks: [] };
    group.checks.push(stmt);
    groups.set(key, group);
  }
  // The groups that cover most checks, then those that leave out most locals, up to a bound.
  const kept = [...groups.values()]
    .sort((x, y) => y.checks.length - x.checks.length || x.needed.size - y.needed.size)
    .slice(0, MAX_SAVE_GROUPS);
  return { indexLocal, groups: kept };
}

/**
 * Gives each group its save: `$save`'s content is wrapped in one block per group, and after each
 * block its save, `save(index, the group's locals, zeros for the others); return <final>`; the
 * group's checks branch to its block instead of `$save`. Nested, so that the index each check
 * carries reaches its save as the block's value, as it reaches the shared save code.
 */
function addGroupSaves(
  b: Binaryen,
  module: Module,
  body: Ref,
  saveAt: number,
  { indexLocal, groups }: SaveGroups,
  saves: string,
  locals: readonly number[],
  results: number,
): void {
  if (groups.length === 0) return;
  const top = (b.getExpressionInfo(body) as unknown as { children: Ref[] }).children;
  const holder = top[saveAt]!;
  const save = b.getExpressionInfo(valueOf(b, holder)) as unknown as {
    name: string;
    children: Ref[];
    type: number;
  };
  const final = lastValue(b, body, results);
  const labels = new Set<string>();
  walk(b, body, (expr, id) => {
    if (id === b.BlockId || id === b.LoopId) {
      const name = (b.getExpressionInfo(expr) as unknown as { name: string | null }).name;
      if (name) labels.add(name);
    }
  });
  const api = b as unknown as { Break: { setName(e: Ref, name: string): void } };
  let content = save.children;
  for (const group of groups) {
    const label = uniqueName(`${save.name}.live`, (n) => labels.has(n));
    labels.add(label);
    for (const check of group.checks) api.Break.setName(valueOf(b, check), label);
    const block = module.block(label, content, indexLocal === undefined ? b.none : b.i32);
    const args = locals.map((type, k) => {
      if (k === indexLocal || group.needed.has(k)) return module.local.get(k, type);
      return zeroOf(b, module, type) ?? module.local.get(k, type);
    });
    content = [
      indexLocal === undefined ? block : module.local.set(indexLocal, block),
      module.call(saves, args, b.none),
      module.return(final === undefined ? undefined : module.copyExpression(final)),
    ];
  }
  const rebuilt = module.block(save.name, content, save.type);
  const kind = kindOf(b, holder);
  const set = b as unknown as Record<'LocalSet' | 'Drop', { setValue(e: Ref, v: Ref): void }> & {
    Block: { setChildAt(e: Ref, i: number, c: Ref): void };
  };
  if (kind === b.LocalSetId) set.LocalSet.setValue(holder, rebuilt);
  else if (kind === b.DropId) set.Drop.setValue(holder, rebuilt);
  else set.Block.setChildAt(body, saveAt, rebuilt);
}

/**
 * Moves the save code (the statements after `$save`'s, but a function's final value) to a
 * function of its own taking every local, and calls it there instead. A frame is saved once per
 * unwind; in line, its stores (one per local, with their address arithmetic) made every fast copy
 * larger, which V8 compiles into larger frames and inlines less. The checks that `saveGroups`
 * gives a save of their own call it too, with fewer locals.
 */
function outlineSaveCode(
  b: Binaryen,
  module: Module,
  body: Ref,
  saveAt: number,
  name: string,
  locals: readonly number[],
  results: number,
): Ref {
  const block = b.getExpressionInfo(body) as unknown as { name: string | null; children: Ref[] };
  const top = block.children;
  const end = saveCodeEnd(b, body, results);
  if (end <= saveAt + 1) return body;
  module.addFunction(
    name,
    b.createType(locals),
    b.none,
    [],
    module.block(null, top.slice(saveAt + 1, end), b.none),
  );
  const call = module.call(
    name,
    locals.map((t, k) => module.local.get(k, t)),
    b.none,
  );
  return module.block(
    block.name,
    [...top.slice(0, saveAt + 1), call, ...top.slice(end)],
    b.getExpressionType(body),
  );
}

/** The local `stmt` sets, if it is a `local.set`. */
function localSetBy(b: Binaryen, stmt: Ref): number | undefined {
  if (kindOf(b, stmt) !== b.LocalSetId) return undefined;
  return (b.getExpressionInfo(stmt) as unknown as { index: number }).index;
}

/** The locals read in `root`. */
function localsRead(b: Binaryen, root: Ref): number[] {
  const read: number[] = [];
  walk(b, root, (expr, id) => {
    if (id === b.LocalGetId)
      read.push((b.getExpressionInfo(expr) as unknown as { index: number }).index);
  });
  return read;
}

/** The value a check `[drop] br_if $save (value) (cond)` carries, if any. */
function checkValue(b: Binaryen, check: Ref): Ref | undefined {
  const value = (b.getExpressionInfo(valueOf(b, check)) as unknown as { value: Ref }).value;
  return value === 0 ? undefined : value;
}

/** Where the save code after `$save` ends in a function body: before its final value, if any. */
function saveCodeEnd(b: Binaryen, body: Ref, results: number): number {
  const top = (b.getExpressionInfo(body) as unknown as { children: Ref[] }).children;
  return results === b.none ? top.length : top.length - 1;
}

/** A function body's final value (its last statement when it has results). */
function lastValue(b: Binaryen, body: Ref, results: number): Ref | undefined {
  if (results === b.none) return undefined;
  const top = (b.getExpressionInfo(body) as unknown as { children: Ref[] }).children;
  return top[top.length - 1];
}

/** The constant 0 of a number type; undefined for another type. */
function zeroOf(b: Binaryen, module: Module, type: number): Ref | undefined {
  if (type === b.i32) return module.i32.const(0);
  if (type === b.i64) return module.i64.const(0n);
  if (type === b.f32) return module.f32.const(0);
  if (type === b.f64) return module.f64.const(0);
  return undefined;
}

/** The expression a statement computes: its own, or the one it sets a local to or drops. */
function valueOf(b: Binaryen, stmt: Ref): Ref {
  const id = kindOf(b, stmt);
  return id === b.LocalSetId || id === b.DropId
    ? (b.getExpressionInfo(stmt) as unknown as { value: Ref }).value
    : stmt;
}

/** Whether `stmt` is a call that may change the state, or sets or drops the value of one. */
function endsWithCall(
  b: Binaryen,
  stmt: Ref,
  callMayChange: (expr: Ref, id: ExpressionId) => boolean,
): boolean {
  const expr = valueOf(b, stmt);
  return callMayChange(expr, kindOf(b, expr));
}

/** `[drop] br_if $label (state == 1)`: its label and its read of the state. */
function stateCheck(
  b: Binaryen,
  stmt: Ref,
  state: string,
): { label: string; read: Ref } | undefined {
  const expr = kindOf(b, stmt) === b.DropId ? valueOf(b, stmt) : stmt;
  if (kindOf(b, expr) !== b.BreakId) return undefined;
  const br = b.getExpressionInfo(expr) as unknown as { name: string; condition: Ref };
  if (!br.condition || kindOf(b, br.condition) !== b.BinaryId) return undefined;
  const cmp = b.getExpressionInfo(br.condition) as unknown as {
    op: binaryen.Operations;
    left: Ref;
    right: Ref;
  };
  if (cmp.op !== b.EqInt32) return undefined;
  if (kindOf(b, cmp.left) !== b.GlobalGetId || globalOf(b, cmp.left) !== state) return undefined;
  if (kindOf(b, cmp.right) !== b.ConstId) return undefined;
  if ((b.getExpressionInfo(cmp.right) as unknown as { value: number }).value !== 1)
    return undefined;
  return { label: br.name, read: cmp.left };
}

/** The label of the block `stmt` is, or sets or drops the value of. */
function savesTo(b: Binaryen, stmt: Ref): string | undefined {
  const expr = valueOf(b, stmt);
  if (kindOf(b, expr) !== b.BlockId) return undefined;
  return (b.getExpressionInfo(expr) as unknown as { name: string | null }).name ?? undefined;
}

/** `wanted`, or `wanted2`, `wanted3`… : the first that `taken` does not hold. */
function uniqueName(wanted: string, taken: (name: string) => boolean): string {
  let name = wanted;
  for (let k = 2; taken(name); k++) name = `${wanted}${k}`;
  return name;
}
