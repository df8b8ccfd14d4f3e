/** Constructors of the snapshot layer's errors, so every message names section and offset. */
import { OsmoError } from '../core/errors.js';
import { sectionName } from './format.js';

/** The image is damaged: bad magic, truncated, checksum mismatch or an impossible field. */
export function corrupt(section: number | string, offset: number, what: string): OsmoError {
  const name = typeof section === 'number' ? sectionName(section) : section;
  return new OsmoError(
    'E_SNAPSHOT_CORRUPT',
    `snapshot image is corrupt: ${what} (section ${name}, offset ${offset}); it cannot be restored`,
    { details: { section: name, offset } },
  );
}

export function unsupported(what: string, details: Record<string, unknown>): OsmoError {
  return new OsmoError(
    'E_SNAPSHOT_VERSION',
    `snapshot image needs ${what}, which this Osmosis does not support; restore it with the version that wrote it or newer`,
    { details },
  );
}
