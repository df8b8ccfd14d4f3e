/**
 * Whether a pid names a live process. Signal 0 checks without sending anything: ESRCH means no
 * such process; EPERM means it exists but belongs to someone else (alive, for our purpose: its
 * socket file is not ours to remove).
 */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
