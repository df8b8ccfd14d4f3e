/**
 * Is a host up? One TCP connection attempt to `port` on it: an accepted connection or a refusal
 * (the host's kernel answering a reset) both prove it runs; no answer within the deadline, or
 * no route to it, says it does not — or that it cannot be reached from here, which for a link
 * to it is the same.
 *
 * A link uses this when its peer goes silent. A peer process that died has its connections
 * closed by its kernel (and on a live host our next heartbeat would draw a reset), so silence
 * from a host that is up means a process alive but not running: stopped (Ctrl-Z, SIGSTOP),
 * starved of CPU, or swapped out.
 */
import net from 'node:net';

export function hostAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const settle = (up: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(up);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    socket.once('connect', () => settle(true));
    socket.once('error', (e: NodeJS.ErrnoException) => settle(e.code === 'ECONNREFUSED'));
  });
}
