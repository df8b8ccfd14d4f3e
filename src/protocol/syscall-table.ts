/**
 * The deputy's system-call message table. The position of an entry is its op id on the wire, so
 * this table is APPEND-ONLY: never reorder, remove or change an entry's kinds; add new calls at
 * the end. Argument and result kinds drive one generic codec (syscall-codec.ts).
 */
export type ArgKind = 'u32' | 'u64' | 'str' | 'data' | 'dest' | 'subs';
export type ResultKind =
  | 'none'
  | 'u32'
  | 'u64'
  | 'fdstat'
  | 'filestat'
  | 'bytes'
  | 'dirents'
  | 'events'
  | 'count'
  | 'recv';

export interface SyscallSpec {
  readonly name: string;
  readonly args: readonly ArgKind[];
  readonly result: ResultKind;
}

export const SYSCALLS = [
  { name: 'fdAdvise', args: ['u32', 'u64', 'u64', 'u32'], result: 'none' },
  { name: 'fdAllocate', args: ['u32', 'u64', 'u64'], result: 'none' },
  { name: 'fdClose', args: ['u32'], result: 'none' },
  { name: 'fdDatasync', args: ['u32'], result: 'none' },
  { name: 'fdFdstatGet', args: ['u32'], result: 'fdstat' },
  { name: 'fdFdstatSetFlags', args: ['u32', 'u32'], result: 'none' },
  { name: 'fdFdstatSetRights', args: ['u32', 'u64', 'u64'], result: 'none' },
  { name: 'fdFilestatGet', args: ['u32'], result: 'filestat' },
  { name: 'fdFilestatSetSize', args: ['u32', 'u64'], result: 'none' },
  { name: 'fdFilestatSetTimes', args: ['u32', 'u64', 'u64', 'u32'], result: 'none' },
  { name: 'fdPread', args: ['u32', 'dest', 'u64'], result: 'count' },
  { name: 'fdPrestatName', args: ['u32'], result: 'bytes' },
  { name: 'fdPwrite', args: ['u32', 'data', 'u64'], result: 'u32' },
  { name: 'fdRead', args: ['u32', 'dest'], result: 'count' },
  { name: 'fdReaddir', args: ['u32', 'u64', 'u32'], result: 'dirents' },
  { name: 'fdRenumber', args: ['u32', 'u32'], result: 'none' },
  { name: 'fdSeek', args: ['u32', 'u64', 'u32'], result: 'u64' },
  { name: 'fdSync', args: ['u32'], result: 'none' },
  { name: 'fdTell', args: ['u32'], result: 'u64' },
  { name: 'fdWrite', args: ['u32', 'data'], result: 'u32' },
  { name: 'pathCreateDirectory', args: ['u32', 'str'], result: 'none' },
  { name: 'pathFilestatGet', args: ['u32', 'u32', 'str'], result: 'filestat' },
  {
    name: 'pathFilestatSetTimes',
    args: ['u32', 'u32', 'str', 'u64', 'u64', 'u32'],
    result: 'none',
  },
  { name: 'pathLink', args: ['u32', 'u32', 'str', 'u32', 'str'], result: 'none' },
  { name: 'pathOpen', args: ['u32', 'u32', 'str', 'u32', 'u64', 'u64', 'u32'], result: 'u32' },
  { name: 'pathReadlink', args: ['u32', 'str'], result: 'bytes' },
  { name: 'pathRemoveDirectory', args: ['u32', 'str'], result: 'none' },
  { name: 'pathRename', args: ['u32', 'str', 'u32', 'str'], result: 'none' },
  { name: 'pathSymlink', args: ['str', 'u32', 'str'], result: 'none' },
  { name: 'pathUnlinkFile', args: ['u32', 'str'], result: 'none' },
  { name: 'pollOneoff', args: ['subs'], result: 'events' },
  { name: 'sockAccept', args: ['u32', 'u32'], result: 'u32' },
  { name: 'sockRecv', args: ['u32', 'dest', 'u32'], result: 'recv' },
  { name: 'sockSend', args: ['u32', 'data', 'u32'], result: 'u32' },
  { name: 'sockShutdown', args: ['u32', 'u32'], result: 'none' },
] as const satisfies readonly SyscallSpec[];

export type SyscallName = (typeof SYSCALLS)[number]['name'];

export const SYSCALL_IDS: ReadonlyMap<string, number> = new Map(
  SYSCALLS.map((s, i) => [s.name, i]),
);

/** Where the bytes of a 'count' or 'recv' result start in a response (errno, n, roflags, pad). */
export const RESPONSE_DATA_OFFSET = 16;

/** The wire id of a system call, by name (checked at compile time). */
export function syscallId(name: SyscallName): number {
  return SYSCALLS.findIndex((s) => s.name === name);
}
