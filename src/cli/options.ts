/** Parsers for option values, each failing with one line that names the value. */
import { OsmoError } from '../core/errors.js';

const UNITS: Record<string, number> = {
  '': 1 << 20,
  K: 1 << 10,
  M: 1 << 20,
  G: 1 << 30,
  T: 2 ** 40,
};

/** "512" (MiB), "512M", "2G", "64K" → bytes. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toUpperCase()];
  if (m?.[1] === undefined || unit === undefined) {
    throw new OsmoError(
      'E_USAGE',
      `${option} ${text}: not a size; write e.g. 512M or 2G (a plain number means MiB)`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
}

/** "KEY=value" → [KEY, value]. */
export function parseEnvAssignment(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new OsmoError('E_USAGE', `--env ${text}: expected KEY=VALUE`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
