/** WASI signal numbers → POSIX numbers and default actions, for proc_raise and exit statuses. */
import { Signal } from '../wasi/abi.js';

export type DefaultAction = 'terminate' | 'ignore';

interface SignalInfo {
  name: string;
  posix: number;
  action: DefaultAction;
}

const S = Signal;
// Stop/continue signals are ignored: an Osmosis program has no job control of its own.
const TABLE: ReadonlyMap<number, SignalInfo> = new Map<number, SignalInfo>([
  [S.HUP, { name: 'SIGHUP', posix: 1, action: 'terminate' }],
  [S.INT, { name: 'SIGINT', posix: 2, action: 'terminate' }],
  [S.QUIT, { name: 'SIGQUIT', posix: 3, action: 'terminate' }],
  [S.ILL, { name: 'SIGILL', posix: 4, action: 'terminate' }],
  [S.TRAP, { name: 'SIGTRAP', posix: 5, action: 'terminate' }],
  [S.ABRT, { name: 'SIGABRT', posix: 6, action: 'terminate' }],
  [S.BUS, { name: 'SIGBUS', posix: 7, action: 'terminate' }],
  [S.FPE, { name: 'SIGFPE', posix: 8, action: 'terminate' }],
  [S.KILL, { name: 'SIGKILL', posix: 9, action: 'terminate' }],
  [S.USR1, { name: 'SIGUSR1', posix: 10, action: 'terminate' }],
  [S.SEGV, { name: 'SIGSEGV', posix: 11, action: 'terminate' }],
  [S.USR2, { name: 'SIGUSR2', posix: 12, action: 'terminate' }],
  [S.PIPE, { name: 'SIGPIPE', posix: 13, action: 'terminate' }],
  [S.ALRM, { name: 'SIGALRM', posix: 14, action: 'terminate' }],
  [S.TERM, { name: 'SIGTERM', posix: 15, action: 'terminate' }],
  [S.CHLD, { name: 'SIGCHLD', posix: 17, action: 'ignore' }],
  [S.CONT, { name: 'SIGCONT', posix: 18, action: 'ignore' }],
  [S.STOP, { name: 'SIGSTOP', posix: 19, action: 'ignore' }],
  [S.TSTP, { name: 'SIGTSTP', posix: 20, action: 'ignore' }],
  [S.TTIN, { name: 'SIGTTIN', posix: 21, action: 'ignore' }],
  [S.TTOU, { name: 'SIGTTOU', posix: 22, action: 'ignore' }],
  [S.URG, { name: 'SIGURG', posix: 23, action: 'ignore' }],
  [S.XCPU, { name: 'SIGXCPU', posix: 24, action: 'terminate' }],
  [S.XFSZ, { name: 'SIGXFSZ', posix: 25, action: 'terminate' }],
  [S.VTALRM, { name: 'SIGVTALRM', posix: 26, action: 'terminate' }],
  [S.PROF, { name: 'SIGPROF', posix: 27, action: 'terminate' }],
  [S.WINCH, { name: 'SIGWINCH', posix: 28, action: 'ignore' }],
  [S.POLL, { name: 'SIGPOLL', posix: 29, action: 'terminate' }],
  [S.PWR, { name: 'SIGPWR', posix: 30, action: 'terminate' }],
  [S.SYS, { name: 'SIGSYS', posix: 31, action: 'terminate' }],
]);

export function signalInfo(wasiSignal: number): SignalInfo | undefined {
  return TABLE.get(wasiSignal);
}
