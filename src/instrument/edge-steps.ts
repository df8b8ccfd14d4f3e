/**
 * Steps on the paths that need them. The step counter's rule is that every turn of a loop spends
 * at least one step; ./step-counter.ts spends it where the turn starts. But a turn that always
 * enters a nested loop which counts its own turns has spent a step there already, and paying
 * again at the outer turn's start doubles the cost. fib shows it: unrolled once
 * (./unroll-recursion.ts), its loop holds the inlined copy's loop behind a guard,
 *
 *   loop $outer                         ;; one turn per level of the recursion
 *     block $skip
 *       br_if $skip (n - 1 < 2)         ;; the copy has nothing to loop over: rare
 *       loop $inner  …call fib…         ;; counts each turn where it starts
 *     …
 *     br_if $outer …
 *
 * and the outer step is one of the two read-modify-writes of the budget (a global, so a chain
 * through memory V8 cannot keep in a register) that each level pays. Here the outer loop spends
 * its step only on the edge that skips the inner loop: `br_if $skip c` becomes
 * `if c (step; br $skip)`.
 *
 * The plan is a forward pass over the loop's body with one fact per program point: has every
 * path from the turn's start spent a step? Steps are spent by entering a nested loop that counts
 * where its turns start and by calling a function with an entry check. Where paths join (a
 * block's end, an if's arms) and some have spent and others not, the others get a step on their
 * edge: a `br`, a `br_if` without a value, a block's fall-through, an if's arm, or its missing
 * else. If then every back edge of the loop has spent, the plan holds; otherwise (a back edge on
 * a path without any) the loop keeps its step at the turn's start. Joins inside nested loops are
 * never given steps (they would run once per nested turn).
 *
 * The step on an edge is the entry check's code: the budget is decremented and, when it runs
 * out, tick is called right there (it may unwind: Asyncify instruments it like any call). A
 * loop's turn-start step instead leaves its loop to call tick and comes back at the header,
 * which is possible only before the turn has done anything.
 */
import type { Binaryen } from './load-binaryen.js';
import { childrenOf, kindOf, replaceBelow, walk, type ExpressionId } from './walk.js';

type Ref = number;

/** Where a step goes. */
export type EdgeSite =
  /** A `br` to a block, or a `br_if` without a value: it spends before it is taken. */
  | { kind: 'branch'; expr: Ref }
  /** A block without a value: it spends at its fall-through end. */
  | { kind: 'end'; block: Ref }
  /** An if without a value: one arm spends at its end (or a new else arm spends). */
  | { kind: 'arm'; ifExpr: Ref; arm: 'ifTrue' | 'ifFalse' };

export interface SpendPoints {
  /** Nested loops that spend a step where each of their turns starts. */
  countingLoops: ReadonlySet<Ref>;
  /** Functions with an entry check: a call to one spends a step. */
  checked: (target: string) => boolean;
}

/**
 * Spent-on-every-path at a point: true, false, or undefined where no path reaches (after a
 * `br`, `return` or `unreachable`). Once spent, a path stays spent.
 */
type Spent = boolean | undefined;

interface Incoming {
  spent: Spent;
  /** Where a step would go on this edge, if one can. */
  site?: EdgeSite;
}

const join = (a: Spent, c: Spent): Spent => (a === undefined ? c : c === undefined ? a : a && c);

/**
 * The edges of `loop`'s body that need a step so that every turn spends one, or undefined when
 * no such plan exists (a back edge is reached by a path that enters no counting loop and calls
 * no checked function, whatever steps the joins get).
 */
export function planEdgeSteps(b: Binaryen, loop: Ref, points: SpendPoints): EdgeSite[] | undefined {
  const api = b as unknown as {
    Loop: { getName(e: Ref): string | null; getBody(e: Ref): Ref };
    Block: { getName(e: Ref): string | null };
    Break: { getName(e: Ref): string; getValue(e: Ref): Ref; getCondition(e: Ref): Ref };
    Switch: { getNames(e: Ref): string[]; getDefaultName(e: Ref): string };
    If: { getCondition(e: Ref): Ref; getIfTrue(e: Ref): Ref; getIfFalse(e: Ref): Ref };
    Call: { getTarget(e: Ref): string };
  };
  const self = api.Loop.getName(loop);
  if (!self) return undefined;
  const sites: EdgeSite[] = [];
  const backEdges: Spent[] = [];
  /** Branches to each enclosing block of the body, by label. */
  const blocks = new Map<string, Incoming[]>();

  const branchTo = (label: string, incoming: Incoming): void => {
    if (label === self) backEdges.push(incoming.spent);
    else blocks.get(label)?.push(incoming);
    // Other labels: nested loops' headers (a nested turn starts no fresher than this point) or
    // outside this loop (the path leaves it).
  };

  /** Joins `incoming`; with `fixing`, puts steps on the unspent ones if some others spent. */
  const settle = (incoming: Incoming[], fixing: boolean): Spent => {
    let all: Spent;
    for (const i of incoming) all = join(all, i.spent);
    if (all !== false || !fixing || !incoming.some((i) => i.spent === true)) return all;
    const unspent = incoming.filter((i) => i.spent === false);
    if (unspent.some((i) => i.site === undefined)) return false;
    for (const i of unspent) sites.push(i.site!);
    return true;
  };

  /** The children of `expr` in evaluation order, from `spent`. */
  const inOrder = (expr: Ref, id: ExpressionId, spent: Spent, fixing: boolean): Spent => {
    let s = spent;
    for (const child of childrenOf(b, expr, id)) s = flow(child, s, fixing);
    return s;
  };

  const flow = (expr: Ref, spent: Spent, fixing: boolean): Spent => {
    const id = kindOf(b, expr);
    switch (id) {
      case b.BlockId: {
        const name = api.Block.getName(expr);
        if (name) blocks.set(name, []);
        const s = inOrder(expr, id, spent, fixing);
        const incoming = name ? blocks.get(name)! : [];
        if (name) blocks.delete(name);
        const valueless = b.getExpressionType(expr) === b.none;
        const end: EdgeSite = { kind: 'end', block: expr };
        return settle([...incoming, { spent: s, ...(valueless ? { site: end } : {}) }], fixing);
      }
      case b.IfId: {
        const s = flow(api.If.getCondition(expr), spent, fixing);
        const whenTrue = flow(api.If.getIfTrue(expr), s, fixing);
        const elseArm = api.If.getIfFalse(expr);
        const whenFalse = elseArm ? flow(elseArm, s, fixing) : s;
        const joined = join(whenTrue, whenFalse);
        if (joined !== false || !fixing || b.getExpressionType(expr) !== b.none) return joined;
        if (whenTrue === true && whenFalse === false)
          sites.push({ kind: 'arm', ifExpr: expr, arm: 'ifFalse' });
        else if (whenTrue === false && whenFalse === true)
          sites.push({ kind: 'arm', ifExpr: expr, arm: 'ifTrue' });
        else return false;
        return true;
      }
      case b.LoopId: {
        // A nested loop's turns repeat: no steps at its joins. Entering a counting one spends.
        const inside = points.countingLoops.has(expr) && spent !== undefined ? true : spent;
        return flow(api.Loop.getBody(expr), inside, false);
      }
      case b.BreakId: {
        const s = inOrder(expr, id, spent, fixing);
        // A step goes before a `br` (its value, if any, is computed after the step: no matter) or
        // on a taken `br_if`, which can be rewritten only without a value (the value comes first).
        const fixable = api.Break.getCondition(expr) === 0 || api.Break.getValue(expr) === 0;
        const site: EdgeSite = { kind: 'branch', expr };
        branchTo(api.Break.getName(expr), { spent: s, ...(fixable ? { site } : {}) });
        return api.Break.getCondition(expr) === 0 ? undefined : s;
      }
      case b.SwitchId: {
        const s = inOrder(expr, id, spent, fixing);
        for (const label of new Set([
          ...api.Switch.getNames(expr),
          api.Switch.getDefaultName(expr),
        ]))
          branchTo(label, { spent: s });
        return undefined;
      }
      case b.CallId: {
        const s = inOrder(expr, id, spent, fixing);
        return s !== undefined && points.checked(api.Call.getTarget(expr)) ? true : s;
      }
      case b.ReturnId:
      case b.UnreachableId:
        inOrder(expr, id, spent, fixing);
        return undefined;
      default:
        return inOrder(expr, id, spent, fixing);
    }
  };

  flow(api.Loop.getBody(loop), false, true);
  if (backEdges.length === 0 || backEdges.some((s) => s === false)) return undefined;
  return sites;
}

/** Whether every expression in `exprs` lies inside one of the `loops` (within `root`). */
export function insideSome(
  b: Binaryen,
  root: Ref,
  exprs: readonly Ref[],
  loops: ReadonlySet<Ref>,
): boolean {
  const covered = new Set<Ref>();
  walk(b, root, (expr, id) => {
    if (id !== b.LoopId || !loops.has(expr)) return;
    walk(b, expr, (inner) => {
      covered.add(inner);
    });
  });
  return exprs.every((e) => covered.has(e));
}

/** Puts `step()` (fresh code each call) on each of `sites` in `loop`'s body. */
export function applyEdgeSteps(
  b: Binaryen,
  module: InstanceType<Binaryen['Module']>,
  loop: Ref,
  sites: readonly EdgeSite[],
  step: () => Ref[],
): void {
  const api = b as unknown as {
    Loop: { getBody(e: Ref): Ref; setBody(e: Ref, body: Ref): void };
    Block: { appendChild(e: Ref, child: Ref): number };
    If: Record<'getIfTrue' | 'getIfFalse', (e: Ref) => Ref> &
      Record<'setIfTrue' | 'setIfFalse', (e: Ref, arm: Ref) => void>;
    Break: { getName(e: Ref): string; getCondition(e: Ref): Ref };
  };
  const branches = new Set<Ref>();
  for (const site of sites) {
    if (site.kind === 'branch') branches.add(site.expr);
    else if (site.kind === 'end') for (const e of step()) api.Block.appendChild(site.block, e);
    else {
      const arm =
        site.arm === 'ifTrue' ? api.If.getIfTrue(site.ifExpr) : api.If.getIfFalse(site.ifExpr);
      const spent = module.block(null, arm ? [arm, ...step()] : step(), b.none);
      if (site.arm === 'ifTrue') api.If.setIfTrue(site.ifExpr, spent);
      else api.If.setIfFalse(site.ifExpr, spent);
    }
  }
  if (branches.size === 0) return;
  const body = replaceBelow(b, api.Loop.getBody(loop), (expr) => {
    // Deleted as it is rewritten: a `br` stays inside its own rewrite, visited again there.
    if (!branches.delete(expr)) return undefined;
    const condition = api.Break.getCondition(expr);
    if (condition === 0) return module.block(null, [...step(), expr], b.auto);
    return module.if(
      condition,
      module.block(null, [...step(), module.br(api.Break.getName(expr))], b.auto),
    );
  });
  api.Loop.setBody(loop, body);
}
