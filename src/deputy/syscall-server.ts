/**
 * The deputy's dispatch: decodes a system-call request, calls the matching SyscallBackend
 * method and encodes its answer. The same function serves a guest in a worker thread (over the
 * SharedArrayBuffer channel) and, later, a guest on another node (over its link).
 */
import { decodeRequest, encodeResponse } from '../protocol/syscall-codec.js';
import type { ResultValue, ServerArg } from '../protocol/syscall-codec.js';
import { Errno } from '../wasi/abi.js';
import type { MaybePromise, Result, SyscallBackend } from '../wasi/backend.js';

type Answer = number | Result<ResultValue>;
type Method = (...args: ServerArg[]) => MaybePromise<Answer>;

/**
 * `isCurrent` says whether the request is still waited for: after the deputy answered it early
 * (a suspension interrupted it), a late result must not write into the response region.
 */
export type SyscallHandler = (
  request: DataView,
  length: number,
  response: DataView,
  isCurrent?: () => boolean,
) => number | Promise<number>;

export function createSyscallHandler(
  backend: SyscallBackend,
  onBadRequest: (error: unknown) => void,
): SyscallHandler {
  return (request, length, response, isCurrent = () => true) => {
    let op: number;
    let answer: MaybePromise<Answer>;
    try {
      const decoded = decodeRequest(request, length, response);
      op = decoded.op;
      const args = decoded.args;
      // fd_seek's offset is a signed filedelta; the wire carries it as u64.
      if (decoded.name === 'fdSeek') args[1] = BigInt.asIntN(64, args[1] as bigint);
      const method = (backend as unknown as Record<string, Method>)[decoded.name];
      if (method === undefined) return encodeResponse(response, op, Errno.NOSYS);
      answer = method.apply(backend, args);
    } catch (error) {
      onBadRequest(error);
      // Answer with EIO under op 2 (fdClose: errno-only), which any op decodes as a failure.
      return encodeResponse(response, 2, Errno.IO);
    }
    if (answer instanceof Promise) {
      return answer.then((a) => (isCurrent() ? encodeResponse(response, op, a) : 0));
    }
    return encodeResponse(response, op, answer);
  };
}
