/**
 * A program that may move by itself tells its home daemon where its process-control socket is
 * (`adopt`), and says it again while it runs, so that a restarted daemon learns it anew. The
 * daemon's balancer then reads its profile and moves it through that socket.
 */
import { requestOnce } from '../daemon/control-client.js';
import type { ProcessInfo } from '../process-control/types.js';

const FIRST_RENEW_MS = 2000;

/**
 * Starts the adoption; the returned function stops it. Failures are silent: the daemon may be
 * restarting. Each request carries the program's `info` as of then: the daemon can list it
 * before it first reads the program itself (which a program stopped at once never answers).
 */
export function adoptByDaemon(
  daemonSocket: string,
  pid: number,
  socket: string,
  info: () => ProcessInfo,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const renew = (): void => {
    requestOnce(daemonSocket, 'adopt', { pid, socket, info: info() }, 2000).then(
      (answer) => schedule(answer.renewMs),
      () => schedule(FIRST_RENEW_MS),
    );
  };
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(renew, Math.max(100, ms / 2));
    timer.unref();
  };
  renew();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
