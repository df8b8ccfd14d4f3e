/**
 * Labels users and administrators give things (a reservation's holder, a program's job): short
 * enough for a table column and a log line, safe in a shell word and a file name.
 */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** Names of nodes and clusters: 1–63 of A-Z a-z 0-9 . _ - (a home's name in `osmo ps` too). */
export const NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;

/** Why `value` cannot be `what` (e.g. "a job id"), or undefined when it can. */
export function labelProblem(what: string, value: unknown): string | undefined {
  if (typeof value === 'string' && LABEL.test(value)) return undefined;
  return `${what} is 1–100 of A-Z a-z 0-9 . _ : - starting with a letter or digit, got ${JSON.stringify(value)}`;
}
