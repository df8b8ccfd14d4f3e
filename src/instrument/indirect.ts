/**
 * Indirect calls that cannot unwind. Asyncify treats every `call_indirect` as a call that may
 * unwind (unless `asyncify-ignore-indirect`, which is unsafe: research note). But a call_indirect
 * can only reach table members of its own signature; when none of them can reach an unwinding
 * import (tick or a may-unwind WASI import) the call cannot unwind either — the usual case for
 * qsort comparators, which neither loop unboundedly nor call imports.
 *
 * Such calls are hidden from Asyncify: each becomes a direct call to a helper
 * `osmo_ci<k>(args…, index)` that does the call_indirect, and the helpers are in
 * `asyncify-removelist` (Asyncify then treats calls to them as unable to unwind). After Asyncify
 * the helper calls are turned back into the original call_indirect and the helpers removed, so
 * the output has no extra call.
 */
import type { Binaryen } from './load-binaryen.js';
import { replaceBelow, setFunctionBody, walk, type ExpressionId } from './walk.js';

type Ref = number;
type Module = InstanceType<Binaryen['Module']>;

interface RawCallIndirect {
  _BinaryenCallIndirectGetParams(expr: Ref): number;
  _BinaryenCallIndirectGetResults(expr: Ref): number;
}

/** A call_indirect's signature as `tableBySig` keys it: `params:results` (binaryen types). */
export function callIndirectSignature(b: Binaryen, expr: Ref): string {
  const raw = b as unknown as RawCallIndirect;
  return `${raw._BinaryenCallIndirectGetParams(expr)}:${raw._BinaryenCallIndirectGetResults(expr)}`;
}

export const HELPER_PREFIX = 'osmo_ci';

/**
 * Names of the defined functions that may unwind: they call one of `unwinding` (internal names
 * of imports), or a function that may unwind, directly or through a call_indirect whose signature
 * has a table member that may unwind. Least fixpoint.
 */
export function functionsThatMayUnwind(
  b: Binaryen,
  module: Module,
  unwinding: ReadonlySet<string>,
): { mayUnwind: Set<string>; tableBySig: Map<string, string[]> } {
  const signature = new Map<string, string>();
  const defined: string[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = b.getFunctionInfo(module.getFunctionByIndex(i));
    signature.set(info.name, `${info.params}:${info.results}`);
    if (!info.base) defined.push(info.name);
  }
  const tableBySig = new Map<string, string[]>();
  for (let i = 0; i < module.getNumElementSegments(); i++) {
    const seg = b.getElementSegmentInfo(module.getElementSegmentByIndex(i));
    for (const name of seg.data) {
      const sig = signature.get(name);
      if (sig === undefined) continue;
      const list = tableBySig.get(sig) ?? [];
      if (!list.includes(name)) list.push(name);
      tableBySig.set(sig, list);
    }
  }
  const direct = new Map<string, Set<string>>();
  const viaSig = new Map<string, Set<string>>();
  for (const name of defined) {
    const d = new Set<string>();
    const s = new Set<string>();
    walk(b, b.getFunctionInfo(module.getFunction(name)).body, (expr, id) => {
      if (id === b.CallId)
        d.add((b.getExpressionInfo(expr) as unknown as { target: string }).target);
      else if (id === b.CallIndirectId) s.add(callIndirectSignature(b, expr));
    });
    direct.set(name, d);
    viaSig.set(name, s);
  }
  const may = new Set<string>(unwinding);
  for (let changed = true; changed;) {
    changed = false;
    for (const name of defined) {
      if (may.has(name)) continue;
      let yes = false;
      for (const t of direct.get(name)!) if (may.has(t)) yes = true;
      for (const sig of viaSig.get(name)!)
        for (const t of tableBySig.get(sig) ?? []) if (may.has(t)) yes = true;
      if (yes) {
        may.add(name);
        changed = true;
      }
    }
  }
  for (const u of unwinding) may.delete(u);
  return { mayUnwind: may, tableBySig };
}

/** Rewrites every defined function of `module` with `replaceBelow` (./walk.ts). */
function rewrite(
  b: Binaryen,
  module: Module,
  replace: (expr: Ref, id: ExpressionId) => Ref | undefined,
): void {
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const fn = module.getFunctionByIndex(i);
    const info = b.getFunctionInfo(fn);
    if (info.base) continue;
    const body = replaceBelow(b, info.body, replace);
    if (body !== info.body) setFunctionBody(b, fn, body);
  }
}

/**
 * Turns every call_indirect whose signature has no table member that may unwind into a call to
 * a helper; returns the helper names (for asyncify-removelist).
 */
export function hideSafeIndirectCalls(
  b: Binaryen,
  module: Module,
  mayUnwind: ReadonlySet<string>,
  tableBySig: ReadonlyMap<string, readonly string[]>,
): { helpers: Helper[]; sites: number; unsafeSites: number } {
  const raw = b as unknown as RawCallIndirect;
  const helperBySig = new Map<string, Helper>();
  let sites = 0;
  let unsafeSites = 0;
  rewrite(b, module, (expr, id) => {
    if (id !== b.CallIndirectId) return undefined;
    const params = raw._BinaryenCallIndirectGetParams(expr);
    const results = raw._BinaryenCallIndirectGetResults(expr);
    const sig = `${params}:${results}`;
    const info = b.getExpressionInfo(expr) as unknown as {
      target: Ref;
      operands: Ref[];
      table: string;
      isReturn: boolean;
      type: number;
    };
    if (info.isReturn || info.type === b.unreachable) return undefined;
    if ((tableBySig.get(sig) ?? []).some((t) => mayUnwind.has(t))) {
      unsafeSites++;
      return undefined;
    }
    sites++;
    const key = `${info.table}|${sig}`;
    let helper = helperBySig.get(key);
    if (helper === undefined) {
      helper = { name: `${HELPER_PREFIX}${helperBySig.size}`, table: info.table, params, results };
      helperBySig.set(key, helper);
      const paramTypes = b.expandType(params);
      module.addFunction(
        helper.name,
        b.createType([...paramTypes, b.i32]),
        results,
        [],
        module.call_indirect(
          info.table,
          module.local.get(paramTypes.length, b.i32),
          paramTypes.map((t, k) => module.local.get(k, t)),
          params,
          results,
        ),
      );
    }
    return module.call(helper.name, [...info.operands, info.target], results);
  });
  return { helpers: [...helperBySig.values()], sites, unsafeSites };
}

export interface Helper {
  name: string;
  table: string;
  params: number;
  results: number;
}

/** After Asyncify: calls to the helpers become call_indirect again; the helpers are removed. */
export function restoreIndirectCalls(
  b: Binaryen,
  module: Module,
  helpers: readonly Helper[],
): void {
  if (helpers.length === 0) return;
  const byName = new Map(helpers.map((h) => [h.name, h]));
  rewrite(b, module, (expr, id) => {
    if (id !== b.CallId) return undefined;
    const info = b.getExpressionInfo(expr) as unknown as { target: string; operands: Ref[] };
    const h = byName.get(info.target);
    if (!h) return undefined;
    const ops = info.operands;
    return module.call_indirect(
      h.table,
      ops[ops.length - 1]!,
      ops.slice(0, -1),
      h.params,
      h.results,
    );
  });
  for (const h of helpers) module.removeFunction(h.name);
}
