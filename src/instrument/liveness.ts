/**
 * Which locals are live after given statements of a function body: read, on some path from there,
 * before being written. Binaryen computes this for its own passes but binaryen.js does not expose
 * it, so it is done here, backwards over the structured IR: a block's label stands for the code
 * after the block, a loop's for the loop's start (iterated to a fixed point), and every other
 * expression evaluates its children in order (./walk.ts `childrenOf`).
 *
 * The answer may be larger than the truth, never smaller: a condition that is a constant still
 * counts both its arms. A branch to a label it cannot find, or a nesting too deep to follow,
 * gives up: every local is then live everywhere.
 */
import type binaryen from 'binaryen';
import type { Binaryen } from './load-binaryen.js';
import { childrenOf, kindOf } from './walk.js';

type Ref = number;

export interface LivenessQuery {
  /** Statements (children of some block) after which the live locals are wanted. */
  after: ReadonlySet<Ref>;
  /** Statements to take as doing nothing (e.g. a check whose branch leaves for code not analysed). */
  skip?: ReadonlySet<Ref>;
}

/**
 * For each statement of `query.after` found in `body`, the locals live right after it; undefined
 * if the analysis gave up.
 */
export function liveAfter(
  b: Binaryen,
  body: Ref,
  query: LivenessQuery,
): Map<Ref, ReadonlySet<number>> | undefined {
  const analysis = new Analysis(b, query);
  try {
    analysis.before(body, 0n);
  } catch (e) {
    if (e instanceof GaveUp || e instanceof RangeError) return undefined;
    throw e;
  }
  return new Map([...analysis.found].map(([stmt, live]) => [stmt, membersOf(live)]));
}

class GaveUp extends Error {}

/** A set of locals as a bit mask (local i is bit i): unions and differences without copies. */
type Live = bigint;

/** binaryen.js's per-class accessors this analysis reads (untyped in its declarations). */
interface Accessors {
  LocalGet: { getIndex(e: Ref): number };
  LocalSet: { getIndex(e: Ref): number; getValue(e: Ref): Ref };
  Block: { getName(e: Ref): string | null };
  Loop: { getName(e: Ref): string | null; getBody(e: Ref): Ref };
  If: { getCondition(e: Ref): Ref; getIfTrue(e: Ref): Ref; getIfFalse(e: Ref): Ref };
  Break: { getName(e: Ref): string; getCondition(e: Ref): Ref; getValue(e: Ref): Ref };
  Switch: {
    getNumNames(e: Ref): number;
    getNameAt(e: Ref, i: number): string;
    getDefaultName(e: Ref): string;
    getCondition(e: Ref): Ref;
    getValue(e: Ref): Ref;
  };
  Return: { getValue(e: Ref): Ref };
  Call: { isReturn(e: Ref): boolean };
  CallIndirect: { isReturn(e: Ref): boolean };
  Const: { getValueI32(e: Ref): number };
  Unary: { getOp(e: Ref): binaryen.Operations; getValue(e: Ref): Ref };
  Binary: { getOp(e: Ref): binaryen.Operations; getLeft(e: Ref): Ref; getRight(e: Ref): Ref };
}

class Analysis {
  readonly found = new Map<Ref, Live>();
  /** Live at each label's target: after a block, at a loop's start. */
  private readonly labels = new Map<string, Live>();
  /** Each loop's start, kept across the iterations of enclosing loops (it only grows). */
  private readonly loopStarts = new Map<Ref, Live>();
  private readonly api: Accessors;

  constructor(
    private readonly b: Binaryen,
    private readonly query: LivenessQuery,
  ) {
    this.api = b as unknown as Accessors;
  }

  /** The locals live before `expr`, given those live after it. */
  before(expr: Ref, after: Live): Live {
    const { b, api } = this;
    const id = kindOf(b, expr);
    switch (id) {
      case b.LocalGetId:
        return after | bit(api.LocalGet.getIndex(expr));
      case b.LocalSetId:
        return this.before(api.LocalSet.getValue(expr), after & ~bit(api.LocalSet.getIndex(expr)));
      case b.BlockId:
        return this.block(api.Block.getName(expr), childrenOf(b, expr, id), after);
      case b.LoopId:
        return this.loop(expr, api.Loop.getName(expr), api.Loop.getBody(expr), after);
      case b.IfId: {
        const condition = api.If.getCondition(expr);
        const known = truthOf(b, condition);
        const ifFalse = api.If.getIfFalse(expr);
        const whenFalse = (): Live => (ifFalse ? this.before(ifFalse, after) : after);
        const whenTrue = (): Live => this.before(api.If.getIfTrue(expr), after);
        let arms: Live;
        if (known === undefined) arms = whenTrue() | whenFalse();
        else arms = known ? whenTrue() : whenFalse();
        return this.before(condition, arms);
      }
      case b.BreakId: {
        const target = this.target(api.Break.getName(expr));
        const condition = api.Break.getCondition(expr);
        const known = condition ? truthOf(b, condition) : true;
        let live: Live;
        if (known === undefined) live = this.before(condition, target | after);
        else live = known ? target : after;
        const value = api.Break.getValue(expr);
        return value ? this.before(value, live) : live;
      }
      case b.SwitchId: {
        let live = this.target(api.Switch.getDefaultName(expr));
        const names = api.Switch.getNumNames(expr);
        for (let i = 0; i < names; i++) live |= this.target(api.Switch.getNameAt(expr, i));
        live = this.before(api.Switch.getCondition(expr), live);
        const value = api.Switch.getValue(expr);
        return value ? this.before(value, live) : live;
      }
      case b.ReturnId: {
        const value = api.Return.getValue(expr);
        return value ? this.before(value, 0n) : 0n;
      }
      case b.UnreachableId:
        return 0n;
      default: {
        // A tail call leaves the function: nothing after it is live.
        const tail =
          (id === b.CallId && api.Call.isReturn(expr)) ||
          (id === b.CallIndirectId && api.CallIndirect.isReturn(expr));
        return this.sequence(childrenOf(b, expr, id), tail ? 0n : after);
      }
    }
  }

  private block(name: string | null, children: Ref[], after: Live): Live {
    return this.labelled(name, after, () => {
      let live = after;
      for (let i = children.length - 1; i >= 0; i--) {
        const stmt = children[i]!;
        if (this.query.after.has(stmt)) this.found.set(stmt, (this.found.get(stmt) ?? 0n) | live);
        if (!this.query.skip?.has(stmt)) live = this.before(stmt, live);
      }
      return live;
    });
  }

  private loop(expr: Ref, name: string | null, body: Ref, after: Live): Live {
    if (!name) return this.before(body, after);
    let start = this.loopStarts.get(expr) ?? 0n;
    for (;;) {
      const live = this.labelled(name, start, () => this.before(body, after));
      if ((live & ~start) === 0n) return start;
      start |= live;
      this.loopStarts.set(expr, start);
    }
  }

  private sequence(children: Ref[], after: Live): Live {
    let live = after;
    for (let i = children.length - 1; i >= 0; i--) live = this.before(children[i]!, live);
    return live;
  }

  /** Runs `inside` with `name` standing for `live` (a label may shadow an outer one's name). */
  private labelled(name: string | null, live: Live, inside: () => Live): Live {
    if (!name) return inside();
    const outer = this.labels.get(name);
    this.labels.set(name, live);
    try {
      return inside();
    } finally {
      if (outer === undefined) this.labels.delete(name);
      else this.labels.set(name, outer);
    }
  }

  private target(name: string): Live {
    const live = this.labels.get(name);
    if (live === undefined) throw new GaveUp(name);
    return live;
  }
}

function bit(local: number): Live {
  return 1n << BigInt(local);
}

function membersOf(live: Live): Set<number> {
  const out = new Set<number>();
  for (let i = 0; live !== 0n; i++, live >>= 1n) if (live & 1n) out.add(i);
  return out;
}

/**
 * Whether an i32 condition built of constants is true, where that can be known without any
 * local's value (a copy whose state reads were replaced by 0 has `i32.eqz (i32.const 0)` and
 * `i32.or (i32.eqz (i32.const 0)) (i32.eqz (local.get $i))`); undefined otherwise.
 */
function truthOf(b: Binaryen, expr: Ref): boolean | undefined {
  const api = b as unknown as Accessors;
  const id = kindOf(b, expr);
  if (id === b.UnaryId) {
    if (api.Unary.getOp(expr) !== b.EqZInt32) return undefined;
    const t = truthOf(b, api.Unary.getValue(expr));
    return t === undefined ? undefined : !t;
  }
  if (id === b.BinaryId && api.Binary.getOp(expr) === b.OrInt32) {
    // One true side decides an `or` (the other is still evaluated, for its reads).
    if (truthOf(b, api.Binary.getLeft(expr)) || truthOf(b, api.Binary.getRight(expr))) return true;
  }
  const value = valueOf(b, expr);
  return value === undefined ? undefined : value !== 0;
}

/** The exact value of an i32 expression built of constants, or undefined. */
function valueOf(b: Binaryen, expr: Ref): number | undefined {
  const api = b as unknown as Accessors;
  if (b.getExpressionType(expr) !== b.i32) return undefined;
  const id = kindOf(b, expr);
  if (id === b.ConstId) return api.Const.getValueI32(expr);
  if (id === b.UnaryId) {
    const t = truthOf(b, expr);
    return t === undefined ? undefined : Number(t); // eqz, the only unary truthOf knows
  }
  if (id !== b.BinaryId) return undefined;
  const op = api.Binary.getOp(expr);
  const l = valueOf(b, api.Binary.getLeft(expr));
  const r = valueOf(b, api.Binary.getRight(expr));
  if (op === b.AndInt32 && (l === 0 || r === 0)) return 0;
  if (l === undefined || r === undefined) return undefined;
  if (op === b.OrInt32) return l | r;
  if (op === b.AndInt32) return l & r;
  if (op === b.EqInt32) return Number(l === r);
  if (op === b.NeInt32) return Number(l !== r);
  return undefined;
}
