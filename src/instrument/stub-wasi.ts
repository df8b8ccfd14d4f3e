/**
 * A small WASI preview1 host for the instrumenter's tests and benchmarks: args, stdout/stderr into
 * buffers, stdin from a buffer, clocks, seeded random, sleeping poll_oneoff, proc_exit. Its whole
 * state is a plain object so that a suspended run can be continued in a new instance (Node's
 * node:wasi cannot take part in an Asyncify rewind). Not the project's WASI host (src/wasi).
 */

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;
const ESPIPE = 70;

/** Thrown by proc_exit; unwinds the JavaScript and wasm stacks. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

export interface StubWasiState {
  args: string[];
  stdout: number[];
  stderr: number[];
  stdin: number[];
  stdinPos: number;
  /** xorshift32 state for random_get: deterministic, so outputs can be compared. */
  randomState: number;
}

export function newStubState(args: readonly string[], stdin = ''): StubWasiState {
  return {
    args: [...args],
    stdout: [],
    stderr: [],
    stdin: [...new TextEncoder().encode(stdin)],
    stdinPos: 0,
    randomState: 0x9e3779b9,
  };
}

export type WasiFunction = (...args: number[]) => number;

/** The WASI functions over `state`; `memory()` is read on each call (memory.grow detaches views). */
export function stubWasi(
  state: StubWasiState,
  memory: () => WebAssembly.Memory,
): Record<string, WasiFunction> {
  const view = (): DataView => new DataView(memory().buffer);
  const bytes = (): Uint8Array => new Uint8Array(memory().buffer);
  const enc = new TextEncoder();
  const argBytes = (): Uint8Array[] => state.args.map((a) => enc.encode(`${a}\0`));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));

  const fns: Record<string, WasiFunction> = {
    args_sizes_get(argcPtr, sizePtr) {
      const a = argBytes();
      view().setUint32(argcPtr, a.length, true);
      view().setUint32(
        sizePtr,
        a.reduce((s, x) => s + x.length, 0),
        true,
      );
      return ESUCCESS;
    },
    args_get(argvPtr, bufPtr) {
      let p = bufPtr;
      argBytes().forEach((a, i) => {
        view().setUint32(argvPtr + 4 * i, p, true);
        bytes().set(a, p);
        p += a.length;
      });
      return ESUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get: () => ESUCCESS,
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      const sink = fd === 1 ? state.stdout : fd === 2 ? state.stderr : undefined;
      if (!sink) return EBADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true);
        const len = v.getUint32(iovs + 8 * i + 4, true);
        for (const byte of bytes().subarray(ptr, ptr + len)) sink.push(byte);
        n += len;
      }
      v.setUint32(nwrittenPtr, n, true);
      return ESUCCESS;
    },
    fd_read(fd, iovs, iovsLen, nreadPtr) {
      if (fd !== 0) return EBADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true);
        const len = v.getUint32(iovs + 8 * i + 4, true);
        const chunk = state.stdin.slice(state.stdinPos, state.stdinPos + len);
        bytes().set(chunk, ptr);
        state.stdinPos += chunk.length;
        n += chunk.length;
        if (chunk.length < len) break;
      }
      v.setUint32(nreadPtr, n, true);
      return ESUCCESS;
    },
    fd_fdstat_get(fd, statPtr) {
      if (fd > 2) return EBADF;
      const v = view();
      v.setUint8(statPtr, 2); // character device: stdio is line-buffered as on a terminal
      v.setUint16(statPtr + 2, 0, true);
      v.setBigUint64(statPtr + 8, 0xffffffffn, true);
      v.setBigUint64(statPtr + 16, 0xffffffffn, true);
      return ESUCCESS;
    },
    fd_close: () => ESUCCESS,
    fd_seek: () => ESPIPE,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => EBADF,
    proc_exit(code) {
      throw new ProcExit(code);
    },
    clock_time_get(id, _precision, outPtr) {
      const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
      view().setBigUint64(outPtr, ns, true);
      return ESUCCESS;
    },
    random_get(ptr, len) {
      const b = bytes();
      for (let i = 0; i < len; i++) {
        let x = state.randomState;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        state.randomState = x >>> 0;
        b[ptr + i] = x & 0xff;
      }
      return ESUCCESS;
    },
    // Clock subscriptions only (what nanosleep uses): sleeps, then reports every one as fired.
    poll_oneoff(inPtr, outPtr, n, neventsPtr) {
      const v = view();
      let sleepNs = 0n;
      for (let i = 0; i < n; i++) {
        const sub = inPtr + 48 * i;
        if (v.getUint8(sub + 8) !== 0) return ENOSYS;
        const timeout = v.getBigUint64(sub + 24, true);
        if (timeout > sleepNs) sleepNs = timeout;
        const ev = outPtr + 32 * i;
        v.setBigUint64(ev, v.getBigUint64(sub, true), true);
        v.setUint16(ev + 8, 0, true);
        v.setUint8(ev + 10, 0);
      }
      if (n === 0) return EINVAL;
      Atomics.wait(sleeper, 0, 0, Number(sleepNs / 1_000_000n));
      v.setUint32(neventsPtr, n, true);
      return ESUCCESS;
    },
  };
  return fns;
}

/** Any import the stub lacks answers ENOSYS rather than failing instantiation. */
export const missingWasi: WasiFunction = () => ENOSYS;
