/**
 * Starting a program that waits, already spawned (its pid, and so its process group, known),
 * until its starter releases it. A native program's runner uses it so that its daemon has
 * recorded the program's process group before the program can start anything: a runner killed
 * at any moment after that leaves its daemon a group to end (native-runner.ts). Without the gate
 * there was a window of a few ms in which the program ran and forked while the daemon did not
 * yet know the group, and what it had started outlived a killed runner (seen in CI, twice).
 *
 * Node cannot stop a child between fork and exec, so /bin/sh (essential on Debian) waits: it
 * reads one line from an extra pipe, closes that pipe and execs the program (the same pid, the
 * same argv, no descriptor added). A pipe closed without the line (the starter died or gave up)
 * ends it with GATE_CLOSED_STATUS, the program never run. Where /bin/sh is missing the program
 * starts at once.
 */
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

const SHELL = '/bin/sh';
/** The descriptor the gate reads: the first one after stdio. */
const GATE_FD = 3;
/** What the gate process exits with when it is closed without being opened. */
export const GATE_CLOSED_STATUS = 125;
const OPEN = 'go';
// $0 is the program: exec "$0" looks it up in the program's PATH, as spawn would.
const SCRIPT = `read -r gate <&${GATE_FD} && [ "$gate" = ${OPEN} ] && exec "$0" "$@" ${GATE_FD}<&-; exit ${GATE_CLOSED_STATUS}`;

export interface GatedStart {
  readonly file: string;
  readonly args: string[];
  /** Extra stdio entries to spawn with, after stdin, stdout and stderr. */
  readonly stdio: 'pipe'[];
  /** Lets the spawned program run (nothing to do without a gate). */
  open(child: ChildProcess): void;
}

let shell: boolean | undefined;

/** What to spawn for `file args…` so that it waits for `open` before it runs. */
export function gatedStart(file: string, args: readonly string[]): GatedStart {
  shell ??= existsSync(SHELL);
  if (!shell) return { file, args: [...args], stdio: [], open: () => undefined };
  return {
    file: SHELL,
    args: ['-c', SCRIPT, file, ...args],
    stdio: ['pipe'],
    open: (child) => {
      const gate = child.stdio[GATE_FD] as NodeJS.WritableStream | null | undefined;
      gate?.on('error', () => undefined); // the program was killed before it was opened
      gate?.end(`${OPEN}\n`);
    },
  };
}
