/**
 * Reservations of this node for work outside Osmosis (osmo ctl reserve, osmo slurm prolog): while
 * any is held the node takes no guests and gossips the `reserved` flag, so that a batch job
 * SLURM gave this node has it to itself (seed 000, III-G: "when allocated to a non-MOSIX job,
 * MOSIX is disabled"). Jobs overlap, so each holder has its own id and the node opens again when
 * the last one is released. Kept in the state directory: a daemon restarted in the middle of a
 * job must not take guests onto the job's node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../core/errors.js';
import { labelProblem } from '../core/labels.js';
import { writeFileWhole } from '../platform/write-whole.js';

/** One holder: who reserved the node, since when (Unix ms). */
export interface Reservation {
  readonly id: string;
  readonly since: number;
}

/** `osmo ctl release all` releases every reservation, so no holder may be called that. */
export const RELEASE_ALL = 'all';

/** Why `id` cannot name a reservation, or undefined when it can. */
export function reservationIdProblem(id: unknown): string | undefined {
  const problem = labelProblem('a reservation id', id);
  if (problem !== undefined) return problem;
  if (id === RELEASE_ALL) return `"${RELEASE_ALL}" is reserved for releasing every reservation`;
  return undefined;
}

export class Reservations {
  private readonly held = new Map<string, number>();
  private readonly file: string;

  /** Reads the reservations a previous run of the daemon left in `stateDir`. */
  constructor(stateDir: string) {
    this.file = join(stateDir, 'reservations.json');
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new OsmoError('E_CONFIG', `${this.file}: cannot read it (${String(e)})`);
    }
    for (const r of parseReservations(text, this.file)) this.held.set(r.id, r.since);
  }

  get reserved(): boolean {
    return this.held.size > 0;
  }

  list(): Reservation[] {
    return [...this.held].map(([id, since]) => ({ id, since }));
  }

  /** Holds the node for `id` (again: keeps the first time); true if it was open before. */
  add(id: string, now: number): boolean {
    const problem = reservationIdProblem(id);
    if (problem !== undefined) throw new OsmoError('E_USAGE', problem);
    const wasOpen = !this.reserved;
    if (!this.held.has(id)) {
      this.held.set(id, Math.round(now));
      this.save();
    }
    return wasOpen;
  }

  /** Releases `id` (or every one: RELEASE_ALL); the ids released, none if `id` held nothing. */
  remove(id: string): string[] {
    const released = id === RELEASE_ALL ? [...this.held.keys()] : this.held.has(id) ? [id] : [];
    for (const r of released) this.held.delete(r);
    if (released.length > 0) this.save();
    return released;
  }

  private save(): void {
    writeFileWhole(this.file, `${JSON.stringify(this.list())}\n`);
  }
}

/**
 * The file's reservations. A file that is not what this daemon writes is refused as a whole
 * (the daemon does not start): guessing could open a node that a job holds.
 */
export function parseReservations(text: string, file: string): Reservation[] {
  const bad = (why: string): OsmoError =>
    new OsmoError(
      'E_CONFIG',
      `${file}: ${why}; fix or remove it (removing it opens the node to guests)`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (!Array.isArray(value)) throw bad('not a list of reservations');
  return value.map((entry: unknown, i) => {
    const r = entry as Partial<Reservation> | null;
    const problem = reservationIdProblem(r?.id);
    if (problem !== undefined) throw bad(`entry ${i}: ${problem}`);
    if (typeof r?.since !== 'number' || !Number.isFinite(r.since))
      throw bad(`entry ${i}: no "since" time`);
    return { id: r.id!, since: r.since };
  });
}
