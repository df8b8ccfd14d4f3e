/**
 * Innermost loops with a trip count known when the program is built — `for (j = 0; j < 512;
 * j++)` with nothing else touching j — need no step counter of their own: the steps they will
 * take are charged to the budget once, where the induction variable is initialised, and the
 * enclosing loop's counter (or the next function entry) checks the budget. The loop body then
 * runs exactly as the compiler made it (matmul's inner loop is two multiply-adds: a counter there
 * costs more than the multiply-adds).
 *
 * Only innermost loops (no loop with a back edge inside), so a charge never multiplies through
 * a nest, and at most MAX_CHARGED_TRIPS: a tick may come that many steps late, no more.
 */
import type binaryen from 'binaryen';
import type { Binaryen } from './load-binaryen.js';
import { kindOf, walk } from './walk.js';

type Ref = number;

/** Larger trip counts keep their counter (a quarter of the default tick interval). */
export const MAX_CHARGED_TRIPS = 1 << 16;

export interface CountedLoop {
  /** The `local.set $x (i32.const C)` that starts the loop: the charge goes into its value. */
  init: Ref;
  trips: number;
}

interface Info {
  id: binaryen.ExpressionIds;
  name?: string | null;
  children?: Ref[];
  condition?: Ref;
  value?: Ref;
  index?: number;
  isTee?: boolean;
  op?: binaryen.Operations;
  left?: Ref;
  right?: Ref;
}

/** The innermost loops of `body` whose trip count is a constant, with their initialisation. */
export function findCountedLoops(b: Binaryen, body: Ref): Map<Ref, CountedLoop> {
  const info = (e: Ref) => infoOf(b, e);
  const found = new Map<Ref, CountedLoop>();
  walk(b, body, (expr, id) => {
    if (id !== b.BlockId) return;
    const children = info(expr).children ?? [];
    children.forEach((child, i) => {
      if (kindOf(b, child) !== b.LoopId) return;
      const latch = latchOf(b, child);
      if (latch === undefined) return;
      const init = initBefore(b, children, i, latch.local);
      if (init === undefined) return;
      const trips = tripCount(init.start, latch);
      if (trips !== undefined && trips >= 1 && trips <= MAX_CHARGED_TRIPS)
        found.set(child, { init: init.set, trips });
    });
  });
  return found;
}

interface Latch {
  local: number;
  step: number;
  end: number;
  compare: 'ne' | 'lt_s' | 'lt_u';
}

/**
 * The loop's only back edge, if it is its body's last instruction and has the form
 * `br_if $L (cmp (local.tee $x (i32.add (local.get $x) (i32.const S))) (i32.const E))` or
 * `br_if $L (local.tee $x (i32.add (local.get $x) (i32.const S)))` (a count-down: ne 0), with no
 * other write to $x and no inner loop with a back edge.
 */
function latchOf(b: Binaryen, loop: Ref): Latch | undefined {
  const info = (e: Ref) => infoOf(b, e);
  const name = info(loop).name;
  const body = (info(loop) as { body?: Ref }).body;
  if (!name || body === undefined || kindOf(b, body) !== b.BlockId) return undefined;
  const children = info(body).children ?? [];
  const last = children[children.length - 1];
  if (last === undefined || kindOf(b, last) !== b.BreakId) return undefined;
  const br = info(last);
  if (br.name !== name || !br.condition || br.value) return undefined;
  const cmp = info(br.condition);
  let compare: Latch['compare'] | undefined;
  let tee: Info;
  let end: number | undefined;
  if (cmp.id === b.LocalSetId) {
    // clang's count-down `do … while (--k)`: `br_if $L (local.tee $k (i32.add $k (i32.const -1)))`.
    compare = 'ne';
    tee = cmp;
    end = 0;
  } else if (cmp.id === b.BinaryId) {
    compare =
      cmp.op === b.NeInt32
        ? 'ne'
        : cmp.op === b.LtSInt32
          ? 'lt_s'
          : cmp.op === b.LtUInt32
            ? 'lt_u'
            : undefined;
    tee = info(cmp.left!);
    end = constI32(b, cmp.right!);
  } else return undefined;
  if (compare === undefined || tee.id !== b.LocalSetId || !tee.isTee || end === undefined)
    return undefined;
  const add = info(tee.value!);
  if (add.id !== b.BinaryId || add.op !== b.AddInt32) return undefined;
  const base = info(add.left!);
  const step = constI32(b, add.right!);
  if (base.id !== b.LocalGetId || base.index !== tee.index || step === undefined) return undefined;
  let backEdges = 0;
  let writes = 0;
  let innerLoop = false;
  walk(b, body, (e, id) => {
    const x = info(e);
    if (id === b.BreakId && x.name === name) backEdges++;
    else if (id === b.SwitchId) {
      const sw = x as unknown as { names: string[]; defaultName: string };
      if (sw.names.includes(name) || sw.defaultName === name) backEdges += 2;
    } else if (id === b.LocalSetId && x.index === tee.index) writes++;
    else if (id === b.LoopId && x.name) innerLoop = true;
  });
  if (backEdges !== 1 || writes !== 1 || innerLoop) return undefined;
  return { local: tee.index!, step, end, compare };
}

/**
 * The `local.set $x (i32.const C)` before `children[at]`, looking back over siblings that do not
 * write $x (control reaches a block's child only from the one before it).
 */
function initBefore(
  b: Binaryen,
  children: Ref[],
  at: number,
  local: number,
): { set: Ref; start: number } | undefined {
  for (let i = at - 1; i >= 0; i--) {
    const child = children[i]!;
    const x = infoOf(b, child);
    if (kindOf(b, child) === b.LocalSetId && x.index === local && !x.isTee) {
      const start = constI32(b, x.value!);
      return start === undefined ? undefined : { set: child, start };
    }
    let writes = false;
    walk(b, child, (e, id) => {
      if (id === b.LocalSetId && infoOf(b, e).index === local) writes = true;
    });
    if (writes) return undefined;
  }
  return undefined;
}

/** How many times the body runs, starting at `start` (i32 wrap-around arithmetic). */
function tripCount(start: number, latch: Latch): number | undefined {
  const { step, end, compare } = latch;
  if (step === 0) return undefined;
  if (compare === 'ne') {
    const distance = (end - start) >>> 0;
    if (step > 0) return distance % step === 0 ? distance / step : undefined;
    const back = (start - end) >>> 0;
    return back % -step === 0 ? back / -step : undefined;
  }
  if (step < 0) return undefined;
  // x < end after each increment: the body runs once more than the increments that stay below.
  const [s, e] = compare === 'lt_s' ? [start | 0, end | 0] : [start >>> 0, end >>> 0];
  if (s >= e) return 1;
  // The increments must not wrap past the end.
  const limit = compare === 'lt_s' ? 0x7fffffff : 0xffffffff;
  if (e - 1 + step > limit) return undefined;
  return Math.ceil((e - s) / step);
}

function constI32(b: Binaryen, e: Ref): number | undefined {
  if (kindOf(b, e) !== b.ConstId || b.getExpressionType(e) !== b.i32) return undefined;
  return (b.getExpressionInfo(e) as unknown as { value: number }).value;
}

function infoOf(b: Binaryen, e: Ref) {
  return b.getExpressionInfo(e) as unknown as Info;
}
