/**
 * Starting a native program so that it dies with the process that started it, even when that
 * process is killed with SIGKILL (`kill -9` of `osmo run`, of a runner, the OOM killer): Linux's
 * parent-death signal. Node cannot call prctl(PR_SET_PDEATHSIG) itself, so util-linux's setpriv
 * (essential on Debian) sets it and execs the program: the same pid, the same argv, nothing left
 * in between. Where setpriv is missing the program starts as it is and could outlive a killed
 * parent (docs/native.md).
 */
import { existsSync } from 'node:fs';

const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];

let setpriv: string | null | undefined;

function setprivPath(): string | undefined {
  setpriv ??= SETPRIV_PATHS.find((p) => existsSync(p)) ?? null;
  return setpriv ?? undefined;
}

/**
 * What to spawn for `file args…` so that it gets SIGKILL when this process dies. The program is
 * looked up (PATH, a relative path against the spawn's cwd) exactly as spawn would; a program
 * that cannot be executed then exits 126 or 127 with setpriv's line on its stderr rather than
 * failing the spawn, so callers check the executable first (executable-lookup.ts).
 */
export function dyingWithParent(
  file: string,
  args: readonly string[],
): { file: string; args: string[] } {
  const wrapper = process.platform === 'linux' ? setprivPath() : undefined;
  if (wrapper === undefined) return { file, args: [...args] };
  return { file: wrapper, args: ['--pdeathsig', 'KILL', '--', file, ...args] };
}
