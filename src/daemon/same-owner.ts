import { statSync } from 'node:fs';
import { OsmoError } from '../core/errors.js';

/**
 * A program registers with its home's balancer by pid and control socket; both must belong to
 * the same user. Through the users' socket anyone may ask, and without this a user could point
 * the balancer at their own socket in place of another user's program. Skipped where /proc is
 * missing (the ids cannot be compared there).
 */
export function requireSameOwner(args: Record<string, unknown>): void {
  const { pid, socket } = args;
  if (typeof pid !== 'number' || typeof socket !== 'string') return; // adopt says what is wrong
  let processOwner: number;
  try {
    processOwner = statSync(`/proc/${pid}`).uid;
  } catch {
    return;
  }
  let socketOwner: number;
  try {
    socketOwner = statSync(socket).uid;
  } catch {
    throw new OsmoError('E_USAGE', `adopt: no control socket at ${socket}`);
  }
  if (socketOwner !== processOwner) {
    throw new OsmoError('E_USAGE', `adopt: ${socket} and process ${pid} belong to different users`);
  }
}
