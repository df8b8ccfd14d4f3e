/** Describes a WebAssembly trap in one line: what happened and, when known, in which function. */
import { FAST_SUFFIX } from '../instrument/contract.js';
import type { GuestOutcome } from './guest-messages.js';

const NAMED_FRAME = /at (\S+) \(wasm:\/\/wasm\/[0-9a-f]+:(wasm-function\[\d+\]:0x[0-9a-f]+)\)/;
const ANON_FRAME = /at wasm:\/\/wasm\/[0-9a-f]+:(wasm-function\[\d+\]:0x[0-9a-f]+)/;

export function describeTrap(error: Error): Extract<GuestOutcome, { kind: 'trap' }> {
  const message = error instanceof RangeError ? 'call stack exhausted' : error.message;
  const stack = error.stack ?? '';
  const named = NAMED_FRAME.exec(stack);
  if (named?.[1] !== undefined) {
    // V8 prints an unnamed function as its index; keep only real names. A fast copy of a
    // function (ADR 0006, round 6) is the user's function.
    const printed = named[1].startsWith('$') ? named[1].slice(1) : named[1];
    const name = printed.endsWith(FAST_SUFFIX) ? printed.slice(0, -FAST_SUFFIX.length) : printed;
    return { kind: 'trap', message, functionName: name, location: named[2] };
  }
  const anon = ANON_FRAME.exec(stack);
  return anon?.[1] !== undefined
    ? { kind: 'trap', message, location: anon[1] }
    : { kind: 'trap', message };
}

export function formatTrap(t: Extract<GuestOutcome, { kind: 'trap' }>): string {
  const where =
    t.functionName !== undefined
      ? ` in function ${t.functionName}`
      : t.location !== undefined
        ? ` at ${t.location}`
        : '';
  return `trap: ${t.message}${where}`;
}
