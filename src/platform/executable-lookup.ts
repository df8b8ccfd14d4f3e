/**
 * Which file a program name runs, looked up as execvp does: a name with a slash is a path (from
 * the directory it runs in), a bare name is searched in PATH. Asked before a native program is
 * admitted (daemon/native-admission.ts) and before one starts (osmo run at home, its runner):
 * started through setpriv (die-with-parent.ts), a missing one would not fail the spawn itself.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** What is looked up: the program as the user gave it, where it runs, and the user's PATH. */
export interface ProgramLookup {
  readonly program: string;
  /** Absolute directory it runs in. */
  readonly cwd: string;
  readonly path: string;
}

/** Ways the file system is asked (tests give a fake). */
export interface FileCheck {
  isDirectory(path: string): boolean;
  /** A regular file with an execute bit. */
  isExecutable(path: string): boolean;
}

export const hostFiles: FileCheck = {
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  isExecutable: (path) => {
    try {
      if (!statSync(path).isFile()) return false;
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/** The file that would run: the path given, or the first match in PATH (as execvp looks). */
export function executableOf(
  lookup: ProgramLookup,
  files: FileCheck = hostFiles,
): string | undefined {
  if (lookup.program.includes('/')) {
    const file = resolve(lookup.cwd, lookup.program);
    return files.isExecutable(file) ? file : undefined;
  }
  for (const dir of lookup.path.split(delimiter)) {
    const file = join(resolve(lookup.cwd, dir === '' ? '.' : dir), lookup.program);
    if (files.isExecutable(file)) return file;
  }
  return undefined;
}

/** "no executable /abs/path" or "no executable NAME in PATH": what was looked for. */
export function missingExecutable(lookup: ProgramLookup): string {
  return lookup.program.includes('/')
    ? `no executable ${resolve(lookup.cwd, lookup.program)}`
    : `no executable ${lookup.program} in PATH`;
}
