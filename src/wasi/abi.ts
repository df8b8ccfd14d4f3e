/**
 * WASI preview1 (`wasi_snapshot_preview1`) ABI: constants and struct layouts, exactly as the
 * witx definitions give them. Pure data, no I/O.
 */

export const MODULE_NAME = 'wasi_snapshot_preview1';

// ---- errno (u16) ----
export const Errno = {
  SUCCESS: 0,
  TOOBIG: 1,
  ACCES: 2,
  ADDRINUSE: 3,
  ADDRNOTAVAIL: 4,
  AFNOSUPPORT: 5,
  AGAIN: 6,
  ALREADY: 7,
  BADF: 8,
  BADMSG: 9,
  BUSY: 10,
  CANCELED: 11,
  CHILD: 12,
  CONNABORTED: 13,
  CONNREFUSED: 14,
  CONNRESET: 15,
  DEADLK: 16,
  DESTADDRREQ: 17,
  DOM: 18,
  DQUOT: 19,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  HOSTUNREACH: 23,
  IDRM: 24,
  ILSEQ: 25,
  INPROGRESS: 26,
  INTR: 27,
  INVAL: 28,
  IO: 29,
  ISCONN: 30,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  MSGSIZE: 35,
  MULTIHOP: 36,
  NAMETOOLONG: 37,
  NETDOWN: 38,
  NETRESET: 39,
  NETUNREACH: 40,
  NFILE: 41,
  NOBUFS: 42,
  NODEV: 43,
  NOENT: 44,
  NOEXEC: 45,
  NOLCK: 46,
  NOLINK: 47,
  NOMEM: 48,
  NOMSG: 49,
  NOPROTOOPT: 50,
  NOSPC: 51,
  NOSYS: 52,
  NOTCONN: 53,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTRECOVERABLE: 56,
  NOTSOCK: 57,
  NOTSUP: 58,
  NOTTY: 59,
  NXIO: 60,
  OVERFLOW: 61,
  OWNERDEAD: 62,
  PERM: 63,
  PIPE: 64,
  PROTO: 65,
  PROTONOSUPPORT: 66,
  PROTOTYPE: 67,
  RANGE: 68,
  ROFS: 69,
  SPIPE: 70,
  SRCH: 71,
  STALE: 72,
  TIMEDOUT: 73,
  TXTBSY: 74,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;
export type Errno = (typeof Errno)[keyof typeof Errno];

const errnoNames = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno${errno}`;
}

// ---- rights (u64; every defined bit fits in 30 bits) ----
export const Rights = {
  FD_DATASYNC: 1n << 0n,
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_FDSTAT_SET_FLAGS: 1n << 3n,
  FD_SYNC: 1n << 4n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_ADVISE: 1n << 7n,
  FD_ALLOCATE: 1n << 8n,
  PATH_CREATE_DIRECTORY: 1n << 9n,
  PATH_CREATE_FILE: 1n << 10n,
  PATH_LINK_SOURCE: 1n << 11n,
  PATH_LINK_TARGET: 1n << 12n,
  PATH_OPEN: 1n << 13n,
  FD_READDIR: 1n << 14n,
  PATH_READLINK: 1n << 15n,
  PATH_RENAME_SOURCE: 1n << 16n,
  PATH_RENAME_TARGET: 1n << 17n,
  PATH_FILESTAT_GET: 1n << 18n,
  PATH_FILESTAT_SET_SIZE: 1n << 19n,
  PATH_FILESTAT_SET_TIMES: 1n << 20n,
  FD_FILESTAT_GET: 1n << 21n,
  FD_FILESTAT_SET_SIZE: 1n << 22n,
  FD_FILESTAT_SET_TIMES: 1n << 23n,
  PATH_SYMLINK: 1n << 24n,
  PATH_REMOVE_DIRECTORY: 1n << 25n,
  PATH_UNLINK_FILE: 1n << 26n,
  POLL_FD_READWRITE: 1n << 27n,
  SOCK_SHUTDOWN: 1n << 28n,
  SOCK_ACCEPT: 1n << 29n,
} as const;
export const RIGHTS_ALL = (1n << 30n) - 1n;

/** Rights that make sense on a regular file. */
export const RIGHTS_FILE =
  Rights.FD_DATASYNC |
  Rights.FD_READ |
  Rights.FD_SEEK |
  Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_SYNC |
  Rights.FD_TELL |
  Rights.FD_WRITE |
  Rights.FD_ADVISE |
  Rights.FD_ALLOCATE |
  Rights.FD_FILESTAT_GET |
  Rights.FD_FILESTAT_SET_SIZE |
  Rights.FD_FILESTAT_SET_TIMES |
  Rights.POLL_FD_READWRITE;

/** Rights that make sense on a directory (as base rights). */
export const RIGHTS_DIRECTORY =
  Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_SYNC |
  Rights.FD_ADVISE |
  Rights.PATH_CREATE_DIRECTORY |
  Rights.PATH_CREATE_FILE |
  Rights.PATH_LINK_SOURCE |
  Rights.PATH_LINK_TARGET |
  Rights.PATH_OPEN |
  Rights.FD_READDIR |
  Rights.PATH_READLINK |
  Rights.PATH_RENAME_SOURCE |
  Rights.PATH_RENAME_TARGET |
  Rights.PATH_FILESTAT_GET |
  Rights.PATH_FILESTAT_SET_SIZE |
  Rights.PATH_FILESTAT_SET_TIMES |
  Rights.FD_FILESTAT_GET |
  Rights.FD_FILESTAT_SET_TIMES |
  Rights.PATH_SYMLINK |
  Rights.PATH_REMOVE_DIRECTORY |
  Rights.PATH_UNLINK_FILE |
  Rights.POLL_FD_READWRITE;

/** Rights of a character device or a pipe (stdio). */
export const RIGHTS_STREAM =
  Rights.FD_READ |
  Rights.FD_WRITE |
  Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_FILESTAT_GET |
  Rights.POLL_FD_READWRITE |
  Rights.FD_DATASYNC |
  Rights.FD_SYNC |
  Rights.FD_ADVISE;

/** Rights a directory hands down to what is opened beneath it. */
export const RIGHTS_DIRECTORY_INHERITING = RIGHTS_DIRECTORY | RIGHTS_FILE;

// ---- small enums and flags ----
export const Filetype = {
  UNKNOWN: 0,
  BLOCK_DEVICE: 1,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SOCKET_DGRAM: 5,
  SOCKET_STREAM: 6,
  SYMBOLIC_LINK: 7,
} as const;
export type Filetype = (typeof Filetype)[keyof typeof Filetype];

export const Fdflags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const FDFLAGS_ALL = 31;
export const Oflags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const OFLAGS_ALL = 15;
export const Lookupflags = { SYMLINK_FOLLOW: 1 } as const;
export const Fstflags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
export const Whence = { SET: 0, CUR: 1, END: 2 } as const;
export const Clockid = {
  REALTIME: 0,
  MONOTONIC: 1,
  PROCESS_CPUTIME_ID: 2,
  THREAD_CPUTIME_ID: 3,
} as const;
export const Advice = {
  NORMAL: 0,
  SEQUENTIAL: 1,
  RANDOM: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  NOREUSE: 5,
} as const;
export const Eventtype = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const Eventrwflags = { FD_READWRITE_HANGUP: 1 } as const;
export const Subclockflags = { SUBSCRIPTION_CLOCK_ABSTIME: 1 } as const;
export const Riflags = { RECV_PEEK: 1, RECV_WAITALL: 2 } as const;
export const Sdflags = { RD: 1, WR: 2 } as const;
export const Preopentype = { DIR: 0 } as const;

/** WASI signal numbers (not POSIX numbers). */
export const Signal = {
  NONE: 0,
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  CHLD: 16,
  CONT: 17,
  STOP: 18,
  TSTP: 19,
  TTIN: 20,
  TTOU: 21,
  URG: 22,
  XCPU: 23,
  XFSZ: 24,
  VTALRM: 25,
  PROF: 26,
  WINCH: 27,
  POLL: 28,
  PWR: 29,
  SYS: 30,
} as const;

// ---- struct layouts (offsets and sizes in bytes) ----
export const IOVEC_SIZE = 8;
export const FDSTAT_SIZE = 24;
export const FILESTAT_SIZE = 64;
export const DIRENT_SIZE = 24;
export const PRESTAT_SIZE = 8;
export const SUBSCRIPTION_SIZE = 48;
export const EVENT_SIZE = 32;

export interface Fdstat {
  filetype: Filetype;
  flags: number;
  rightsBase: bigint;
  rightsInheriting: bigint;
}

export interface Filestat {
  dev: bigint;
  ino: bigint;
  filetype: Filetype;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

export interface Dirent {
  /** Cookie of the entry after this one. */
  next: bigint;
  ino: bigint;
  type: Filetype;
  name: Uint8Array;
}

export type Subscription =
  | {
      userdata: bigint;
      type: typeof Eventtype.CLOCK;
      clockId: number;
      timeout: bigint;
      precision: bigint;
      flags: number;
    }
  | { userdata: bigint; type: typeof Eventtype.FD_READ | typeof Eventtype.FD_WRITE; fd: number };

export interface Event {
  userdata: bigint;
  error: number;
  type: number;
  nbytes: bigint;
  flags: number;
}
