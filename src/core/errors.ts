/**
 * The one error class of Osmosis. `code` is stable and machine-readable; `message` names the
 * offending input and what to do about it. Errors that cross a thread or the wire travel as
 * {@link SerializedError} and are rebuilt with {@link OsmoError.fromJSON}.
 */
export const ERROR_CODES = [
  'E_USAGE',
  'E_NOT_FOUND',
  'E_BAD_WASM',
  'E_BAD_IMPORT',
  'E_NO_START',
  'E_MEMORY_LIMIT',
  'E_IO',
  'E_TRAP',
  'E_INTERNAL',
  'E_PROTO_VERSION',
  'E_PROTO_DECODE',
  'E_SNAPSHOT_CORRUPT',
  'E_SNAPSHOT_WRITE',
  'E_SNAPSHOT_VERSION',
  'E_SNAPSHOT_MODULE',
  'E_NO_NODE',
  'E_CONFIG',
  'E_NO_PROCESS',
  /** A link peer failed mutual authentication (wrong cluster secret or token). */
  'E_AUTH',
  /** A node-to-node or deputy-to-runner connection failed or went silent. */
  'E_LINK',
  /** A node refused a guest (guest limit, memory, policy); the process stays where it was. */
  'E_REFUSED',
  /** The node running a process died or lost it; the process cannot be recovered. */
  'E_PROCESS_LOST',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class OsmoError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OsmoError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): SerializedError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(value: SerializedError): OsmoError {
    const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(value.code)
      ? value.code
      : 'E_INTERNAL';
    return new OsmoError(code, value.message, value.details ? { details: value.details } : {});
  }
}

/** Any error as it crosses a thread or a link: an OsmoError as itself, anything else as E_INTERNAL. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof OsmoError) return error.toJSON();
  return { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export function isOsmoError(value: unknown, code?: ErrorCode): value is OsmoError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'OsmoError' &&
    (code === undefined || (value as { code?: unknown }).code === code)
  );
}
