/** Whether something listens on a Unix socket path (a live daemon or process, not a stale file). */
import net from 'node:net';

export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
