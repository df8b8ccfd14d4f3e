/**
 * Fault injection for tests of two-phase migration (OSMOSIS_FAULT in a runner's environment,
 * inherited from its daemon). Each fault names the moment the runner dies or cuts its link, so
 * a seeded test can put it anywhere in a transfer and check that the program is neither lost
 * nor run twice. Never set in production; an unknown value is ignored with a log line.
 *
 *   exit-at-image-byte:N     the runner process exits once N bytes of an incoming image arrived
 *   cut-at-image-byte:N      the runner closes its link (abruptly) at that point instead
 *   exit-after-resume        the runner exits right after confirming that the program resumed
 *                            (a program started there fresh: before it even begins, so that
 *                            the test knows it made no system call there)
 *   exit-sending-image:N     the runner exits after sending N bytes of an outgoing image
 *   cut-sending-image:N      the runner cuts its link there, once (it keeps its parked image)
 */
export type Fault =
  | { kind: 'exit-at-image-byte'; bytes: number }
  | { kind: 'cut-at-image-byte'; bytes: number }
  | { kind: 'exit-after-resume' }
  | { kind: 'exit-sending-image'; bytes: number }
  | { kind: 'cut-sending-image'; bytes: number };

export function parseFault(text: string | undefined): Fault | undefined {
  if (text === undefined || text === '') return undefined;
  const [kind, arg] = text.split(':', 2);
  const bytes = Number(arg);
  switch (kind) {
    case 'exit-after-resume':
      return { kind };
    case 'exit-at-image-byte':
    case 'cut-at-image-byte':
    case 'exit-sending-image':
    case 'cut-sending-image':
      return Number.isInteger(bytes) && bytes >= 0 ? { kind, bytes } : undefined;
    default:
      return undefined;
  }
}
