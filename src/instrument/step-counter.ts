/**
 * The step counter: a global budget decremented at every loop iteration and at every entry to a
 * function on a call-graph cycle; when it runs out the guest calls the `osmosis.tick` import,
 * which returns the new budget (and may unwind the stack, see ./instrument.ts). With those two
 * placements no loop or recursion can run unboundedly without reaching tick. (Two exceptions,
 * each argued where it is decided: a self-recursion whose every level passes a counted loop turn
 * needs no entry check — recursionCountedByLoops — and libc's copy and fill functions get no
 * counter at all — ./bulk-like.ts.) A loop that makes calls around nested loops that count may
 * spend its step only on the paths that skip them, instead of at each turn's start
 * (./edge-steps.ts).
 *
 * Loops are split (research note, "keep the tick call OUT of hot loops"):
 *
 *   loop $outer                       ;; the original loop expression, renamed
 *     block $value (result T)
 *       block $out_of_steps
 *         br $value (loop $L          ;; original name: every `br $L` continues here
 *           budget -= 1; br_if $out_of_steps (budget <= 0)
 *           BODY))
 *       budget = tick(); br $outer    ;; re-enter at the header, a valid point for any state
 *
 * The inner loop then contains no call that can unwind (unless BODY itself does), so Asyncify
 * leaves it alone and V8 keeps its locals in registers; only the cold outer part pays.
 */
import type { Binaryen } from './load-binaryen.js';
import { findCountedLoops } from './counted-loops.js';
import { applyEdgeSteps, insideSome, planEdgeSteps, type EdgeSite } from './edge-steps.js';
import { callsTo, containsCall, containsKind, walk, type ExpressionId } from './walk.js';

type Ref = number;
type Module = InstanceType<Binaryen['Module']>;

export type LoopShape = 'split-local' | 'split' | 'inline';

export interface StepCounterOptions {
  tickInterval: number;
  /**
   * 'split-local' (default): split, and call-free loops count in a local written through to the
   * global; 'split': split, counting in the global; 'inline': the research note's shape.
   */
  loopShape: LoopShape;
  /** Functions that get an entry check: those on call-graph cycles, or all (research shape). */
  entryChecks: ReadonlySet<string> | 'all';
  /** false: every loop gets a counter, even one that calls an entry-checked function each turn. */
  calleeCounts?: boolean;
  /** false: loops with a constant trip count keep a counter instead of a charge (./counted-loops.ts). */
  chargeCounted?: boolean;
  /**
   * Functions alone on their call-graph cycle (they call only themselves back). One of them needs
   * no entry check when every call to itself lies inside a loop of its own that counts each turn:
   * each level of the recursion then spends a step in that loop (see recursionCountedByLoops).
   */
  selfRecursive?: ReadonlySet<string>;
  /** Functions whose loops get no counter: they run like one bulk-memory instruction (./bulk-like.ts). */
  uncounted?: ReadonlySet<string>;
  /**
   * false: every loop that counts spends its step where each turn starts; otherwise a loop that
   * makes calls spends it only on the paths that enter no counting nested loop (./edge-steps.ts).
   */
  edgeSteps?: boolean;
}

/** binaryen.js has these wrappers at run time but not in its typings. */
interface LoopApi {
  getName(expr: Ref): string | null;
  getBody(expr: Ref): Ref;
  setName(expr: Ref, name: string): void;
  setBody(expr: Ref, body: Ref): void;
}

export const BUDGET_GLOBAL = 'osmo_budget';
export const TICK_FUNCTION = 'osmo_tick';

export function addStepCounter(
  b: Binaryen,
  module: Module,
  tick: { module: string; name: string },
  opts: StepCounterOptions,
): {
  loops: number;
  entries: number;
  loopsViaCallee: number;
  loopsCharged: number;
  /** Self-recursive functions left without an entry check: their loops count the recursion. */
  entriesViaLoops: number;
  /** Loops whose step is on the paths that enter no counting nested loop (./edge-steps.ts). */
  loopsOnEdges: number;
} {
  module.addGlobal(BUDGET_GLOBAL, b.i32, true, module.i32.const(opts.tickInterval));
  module.addFunctionImport(TICK_FUNCTION, tick.module, tick.name, b.none, b.i32);
  const { Loop: loopApi, Function: functionApi } = b as unknown as {
    Loop: LoopApi;
    Function: { setBody(fn: Ref, body: Ref): void; getNumLocals(fn: Ref): number };
  };

  const decrement = (): Ref =>
    module.global.set(
      BUDGET_GLOBAL,
      module.i32.sub(module.global.get(BUDGET_GLOBAL, b.i32), module.i32.const(1)),
    );
  const exhausted = (): Ref =>
    module.i32.le_s(module.global.get(BUDGET_GLOBAL, b.i32), module.i32.const(0));
  const refill = (): Ref => module.global.set(BUDGET_GLOBAL, module.call(TICK_FUNCTION, [], b.i32));
  const check = (): Ref => module.if(exhausted(), refill());

  let loops = 0;
  let entries = 0;
  let loopsViaCallee = 0;
  let loopsCharged = 0;
  const entryChecked = opts.entryChecks === 'all' ? 'all' : new Set(opts.entryChecks);
  let entriesViaLoops = 0;
  let loopsOnEdges = 0;
  /** Functions whose entry check was dropped: their self calls must stay in turn-start loops. */
  const countedByLoops = new Set<string>();
  if (entryChecked !== 'all' && opts.loopShape !== 'inline') {
    for (const name of opts.selfRecursive ?? []) {
      if (!entryChecked.has(name)) continue;
      // Decided against the checked set as it is now; the set only shrinks, so a loop found to
      // count here (not exempted as "via callee") still counts in the pass below.
      const othersChecked = (target: string): boolean =>
        target !== name && entryChecked.has(target);
      if (recursionCountedByLoops(b, module, name, othersChecked, opts)) {
        entryChecked.delete(name);
        countedByLoops.add(name);
        entriesViaLoops++;
      }
    }
  }
  const checked = (target: string): boolean => entryChecked === 'all' || entryChecked.has(target);
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const fn = module.getFunctionByIndex(i);
    const info = b.getFunctionInfo(fn);
    if (info.base) continue; // an import
    if (opts.uncounted?.has(info.name)) continue;
    const found: Ref[] = [];
    walk(b, info.body, (expr, id) => {
      // An unnamed loop has no back edge: it runs its body once.
      if (id === b.LoopId && loopApi.getName(expr)) found.push(expr);
    });
    // Decided on the original bodies, before any loop gets its tick call.
    const callFree = found.map((loop) => !containsCall(b, loopApi.getBody(loop)));
    // A loop every iteration of which calls a function that has an entry check already spends a
    // step per iteration there (and ticks there): it needs no counter of its own (fib's loop).
    const viaCallee = found.map((loop) =>
      definitelyCallsChecked(b, loopApi.getBody(loop), checked),
    );
    const counted =
      found.length > 0 && opts.loopShape !== 'inline' && opts.chargeCounted !== false
        ? findCountedLoops(b, info.body)
        : new Map<Ref, never>();
    let local = -1;
    const counterLocal = (): number => {
      if (local < 0) {
        local = functionApi.getNumLocals(fn);
        (
          b as unknown as { _BinaryenFunctionAddVar(fn: Ref, type: number): number }
        )._BinaryenFunctionAddVar(fn, b.i32);
      }
      return local;
    };
    // Where each loop spends its step, decided inner loops first (reverse pre-order): an outer
    // loop's plan counts on its nested loops' turn-start steps.
    const turnStart = new Set<Ref>();
    const onEdges = new Map<Ref, EdgeSite[]>();
    if (opts.loopShape !== 'inline' && opts.edgeSteps !== false) {
      for (let k = found.length - 1; k >= 0; k--) {
        const loop = found[k]!;
        if (opts.calleeCounts !== false && viaCallee[k] === true) continue;
        if (counted.has(loop)) continue;
        // A call-free loop counts in a local (a register): there the turn-start step is cheap,
        // and a tick call inside would make Asyncify instrument the loop.
        const sites =
          callFree[k] === true
            ? undefined
            : planEdgeSteps(b, loop, { countingLoops: turnStart, checked });
        // A function left without its entry check relies on a turn-start step before each of its
        // self calls (recursionCountedByLoops): those calls must stay inside counting loops.
        const selfCallsCounted = (): boolean =>
          !countedByLoops.has(info.name) ||
          insideSome(b, loop, callsTo(b, loopApi.getBody(loop), info.name), turnStart);
        if (sites !== undefined && selfCallsCounted()) onEdges.set(loop, sites);
        else turnStart.add(loop);
      }
    }
    loopsOnEdges += onEdges.size;
    // Before any loop is split: the sites lie outside the nested loops.
    for (const [loop, sites] of onEdges) {
      applyEdgeSteps(b, module, loop, sites, () => [decrement(), check()]);
    }
    let label = 0;
    for (const [k, loop] of found.entries()) {
      const name = loopApi.getName(loop)!;
      const body = loopApi.getBody(loop);
      const type = b.getExpressionType(loop);
      loops++;
      if (opts.loopShape !== 'inline' && opts.calleeCounts !== false && viaCallee[k] === true) {
        loopsViaCallee++;
        continue;
      }
      if (onEdges.has(loop)) continue;
      const charge = counted.get(loop);
      if (charge !== undefined) {
        // Its steps are spent at once where it starts; an enclosing loop counting in the local
        // sees them too (it writes the local through to the global each turn, so they agree).
        loopsCharged++;
        const setApi = b as unknown as {
          LocalSet: { getValue(e: Ref): Ref; setValue(e: Ref, v: Ref): void };
        };
        const counter = counterLocal();
        setApi.LocalSet.setValue(
          charge.init,
          module.block(
            null,
            [
              module.global.set(
                BUDGET_GLOBAL,
                module.i32.sub(
                  module.global.get(BUDGET_GLOBAL, b.i32),
                  module.i32.const(charge.trips),
                ),
              ),
              module.local.set(counter, module.global.get(BUDGET_GLOBAL, b.i32)),
              setApi.LocalSet.getValue(charge.init),
            ],
            b.i32,
          ),
        );
        continue;
      }
      if (opts.loopShape === 'inline') {
        loopApi.setBody(
          loop,
          module.block(null, [decrement(), check(), body], type === b.unreachable ? b.auto : type),
        );
        continue;
      }
      // A call-free body cannot change the budget behind the loop's back: count in a local
      // (a register) and only store it (write-through, no load: no dependency through memory).
      const useLocal = opts.loopShape === 'split-local' && callFree[k] === true;
      if (useLocal) counterLocal();
      const step = (): Ref =>
        useLocal
          ? module.block(null, [
              module.local.set(
                local,
                module.i32.sub(module.local.get(local, b.i32), module.i32.const(1)),
              ),
              module.global.set(BUDGET_GLOBAL, module.local.get(local, b.i32)),
            ])
          : decrement();
      const stepExhausted = (): Ref =>
        useLocal
          ? module.i32.le_s(module.local.get(local, b.i32), module.i32.const(0))
          : exhausted();
      const reload = (): Ref[] =>
        useLocal ? [module.local.set(local, module.global.get(BUDGET_GLOBAL, b.i32))] : [];
      const outer = `osmo$o${label}`;
      const value = `osmo$v${label}`;
      const out = `osmo$x${label}`;
      label++;
      const inner = module.loop(
        name,
        module.block(
          null,
          [step(), module.br(out, stepExhausted()), body],
          type === b.unreachable ? b.auto : type,
        ),
      );
      let wrapped: Ref;
      if (type === b.unreachable) {
        wrapped = module.block(
          null,
          [...reload(), module.block(out, [inner], b.none), refill(), module.br(outer)],
          b.auto,
        );
      } else if (type === b.none) {
        wrapped = module.block(
          value,
          [
            ...reload(),
            module.block(out, [inner, module.br(value)], b.none),
            refill(),
            module.br(outer),
          ],
          b.none,
        );
      } else {
        wrapped = module.block(
          value,
          [
            ...reload(),
            module.block(out, [module.br(value, 0, inner)], b.none),
            refill(),
            module.br(outer),
          ],
          type,
        );
      }
      loopApi.setName(loop, outer);
      loopApi.setBody(loop, wrapped);
    }
    if (checked(info.name)) {
      entries++;
      functionApi.setBody(fn, module.block(null, [decrement(), check(), info.body], b.auto));
    }
  }
  return {
    loops,
    entries,
    loopsViaCallee,
    loopsCharged,
    entriesViaLoops,
    loopsOnEdges,
  };
}

/**
 * True if every call `name` makes to itself lies inside a loop of its own that will get a
 * per-turn counter with its check: not a loop charged at its start (it never ticks by itself)
 * and not one exempted because each turn calls another entry-checked function (that function's
 * check may go the same way). Then a recursion one level deeper always passes one counted turn,
 * and the function's entry check only repeats that count: dropping it removes a tick site from
 * the function — Asyncify's code for it and a read-modify-write of the budget per call (fib,
 * unrolled: 1.48× → 1.38×). Never with an indirect call in the function (it might reach itself
 * outside any loop), nor in the research shape.
 */
function recursionCountedByLoops(
  b: Binaryen,
  module: Module,
  name: string,
  othersChecked: (target: string) => boolean,
  opts: StepCounterOptions,
): boolean {
  const loopApi = (b as unknown as { Loop: LoopApi }).Loop;
  const body = b.getFunctionInfo(module.getFunction(name)).body;
  const selfCalls = new Set(callsTo(b, body, name));
  if (selfCalls.size === 0 || containsKind(b, body, [b.CallIndirectId])) return false;
  const charged = opts.chargeCounted === false ? new Map<Ref, never>() : findCountedLoops(b, body);
  const covered = new Set<Ref>();
  walk(b, body, (expr, id) => {
    if (id !== b.LoopId || !loopApi.getName(expr) || charged.has(expr)) return;
    const loopBody = loopApi.getBody(expr);
    if (opts.calleeCounts !== false && definitelyCallsChecked(b, loopBody, othersChecked)) return;
    walk(b, loopBody, (inner, innerId) => {
      if (innerId === b.CallId && selfCalls.has(inner)) covered.add(inner);
    });
  });
  return covered.size === selfCalls.size;
}

/**
 * True if evaluating `expr` certainly calls (directly) a function that has an entry check before
 * it can take any branch. Conservative: any branch, any construct not listed, means false.
 */
function definitelyCallsChecked(
  b: Binaryen,
  expr: Ref,
  checked: (target: string) => boolean,
): boolean {
  const hasBranch = (e: Ref): boolean => {
    let found = false;
    walk(b, e, (_x, id) => {
      if (id === b.BreakId || id === b.SwitchId) found = true;
    });
    return found;
  };
  /** Children evaluated unconditionally, in order. */
  const inOrder = (children: Ref[]): boolean => {
    for (const c of children) {
      if (c === 0) continue;
      if (visit(c)) return true;
      if (hasBranch(c)) return false;
    }
    return false;
  };
  const visit = (e: Ref): boolean => {
    const id = b.getExpressionId(e) as ExpressionId;
    const info = b.getExpressionInfo(e) as unknown as Record<string, unknown>;
    switch (id) {
      case b.CallId: {
        const call = info as unknown as { target: string; operands: Ref[] };
        if (inOrder(call.operands)) return true;
        return !call.operands.some(hasBranch) && checked(call.target);
      }
      case b.BlockId:
        return inOrder(info.children as Ref[]);
      case b.LocalSetId:
      case b.GlobalSetId:
      case b.DropId:
      case b.UnaryId:
        return inOrder([info.value as Ref]);
      case b.BinaryId:
        return inOrder([info.left as Ref, info.right as Ref]);
      case b.LoadId:
        return inOrder([info.ptr as Ref]);
      case b.StoreId:
        return inOrder([info.ptr as Ref, info.value as Ref]);
      case b.IfId:
        return inOrder([info.condition as Ref]);
      default:
        return false;
    }
  };
  return visit(expr);
}
