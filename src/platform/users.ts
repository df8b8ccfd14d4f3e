/** Looking up a local user's ids (for running guest runners unprivileged). */
import { readFileSync } from 'node:fs';
import { OsmoError } from '../core/errors.js';

export interface UserIds {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Finds `name` in /etc/passwd (name:x:uid:gid:…). */
export function lookupUser(name: string, passwd = '/etc/passwd'): UserIds {
  let text = '';
  try {
    text = readFileSync(passwd, 'utf8');
  } catch (e) {
    throw new OsmoError('E_CONFIG', `cannot read ${passwd} to find user ${name}: ${String(e)}`);
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { name, uid, gid };
    }
  }
  throw new OsmoError('E_CONFIG', `runnerUser ${name}: no such user in ${passwd}`);
}

/** The user runners run as: the configured one, nobody when root, else none (our own). */
export function runnerUserIds(configured: string | undefined): UserIds | undefined {
  if (configured !== undefined) return lookupUser(configured);
  if (process.getuid?.() === 0) return lookupUser('nobody');
  return undefined;
}
