/**
 * Which functions can recurse. A function that is on no call-graph cycle and has no loop always
 * finishes after a bounded number of steps, so only functions on cycles need a step check at
 * entry (research note: "counters at function entry only for functions on call-graph cycles").
 * An indirect call may reach any function placed in a table with the same signature: that is
 * conservative (never misses a cycle through a comparator or a stdio hook).
 */
import type { Binaryen } from './load-binaryen.js';
import { walk } from './walk.js';

type Ref = number;

interface RawCallIndirect {
  _BinaryenCallIndirectGetParams(expr: Ref): number;
  _BinaryenCallIndirectGetResults(expr: Ref): number;
}

/** Names of the defined functions that lie on a call-graph cycle (including self-calls). */
export function functionsOnCycles(
  b: Binaryen,
  module: InstanceType<Binaryen['Module']>,
): Set<string> {
  return new Set(callGraphCycles(b, module).flat());
}

/** The call graph's cycles: its strongly connected components that contain a cycle. */
export function callGraphCycles(b: Binaryen, module: InstanceType<Binaryen['Module']>): string[][] {
  const raw = b as unknown as RawCallIndirect;
  const defined: string[] = [];
  const signature = new Map<string, string>();
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = b.getFunctionInfo(module.getFunctionByIndex(i));
    signature.set(info.name, `${info.params}:${info.results}`);
    if (!info.base) defined.push(info.name);
  }
  const definedSet = new Set(defined);

  // Table members by signature, the possible targets of a call_indirect.
  const tableBySig = new Map<string, string[]>();
  for (let i = 0; i < module.getNumElementSegments(); i++) {
    const seg = b.getElementSegmentInfo(module.getElementSegmentByIndex(i));
    for (const name of seg.data) {
      if (!definedSet.has(name)) continue;
      const sig = signature.get(name)!;
      const list = tableBySig.get(sig) ?? [];
      if (!list.includes(name)) list.push(name);
      tableBySig.set(sig, list);
    }
  }

  const edges = new Map<string, Set<string>>();
  for (const name of defined) {
    const out = new Set<string>();
    walk(b, b.getFunctionInfo(module.getFunction(name)).body, (expr, id) => {
      if (id === b.CallId) {
        const target = b.getExpressionInfo(expr) as unknown as { target: string };
        if (definedSet.has(target.target)) out.add(target.target);
      } else if (id === b.CallIndirectId) {
        const sig = `${raw._BinaryenCallIndirectGetParams(expr)}:${raw._BinaryenCallIndirectGetResults(expr)}`;
        for (const t of tableBySig.get(sig) ?? []) out.add(t);
      }
    });
    edges.set(name, out);
  }
  return cycleComponents(defined, edges);
}

/** The nodes on a cycle of the graph. */
export function cyclicNodes(
  nodes: readonly string[],
  edges: ReadonlyMap<string, ReadonlySet<string>>,
): Set<string> {
  return new Set(cycleComponents(nodes, edges).flat());
}

/**
 * Tarjan's strongly connected components, iterative (call graphs can be deep): those with more
 * than one node or a self-edge.
 */
export function cycleComponents(
  nodes: readonly string[],
  edges: ReadonlyMap<string, ReadonlySet<string>>,
): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let next = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; it: Iterator<string> }[] = [];
    const enter = (n: string): void => {
      index.set(n, next);
      low.set(n, next);
      next++;
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, it: (edges.get(n) ?? new Set<string>()).values() });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const step = top.it.next();
      if (!step.done) {
        const m = step.value;
        if (!index.has(m)) enter(m);
        else if (onStack.has(m)) low.set(top.node, Math.min(low.get(top.node)!, index.get(m)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        for (;;) {
          const m = stack.pop()!;
          onStack.delete(m);
          component.push(m);
          if (m === top.node) break;
        }
        const selfLoop = edges.get(top.node)?.has(top.node) ?? false;
        if (component.length > 1 || selfLoop) result.push(component);
      }
    }
  }
  return result;
}
