/**
 * The one table that turns a host error (Node's `err.code`, which is the POSIX errno name) into a
 * WASI errno. Everything in the deputy that catches an fs error goes through errnoFromError, so a
 * host error can never reach the guest as anything but a WASI errno.
 */
import { Errno } from '../wasi/abi.js';

const HOST_TO_WASI: Readonly<Record<string, number>> = {
  E2BIG: Errno.TOOBIG,
  EACCES: Errno.ACCES,
  EADDRINUSE: Errno.ADDRINUSE,
  EADDRNOTAVAIL: Errno.ADDRNOTAVAIL,
  EAFNOSUPPORT: Errno.AFNOSUPPORT,
  EAGAIN: Errno.AGAIN,
  EWOULDBLOCK: Errno.AGAIN,
  EALREADY: Errno.ALREADY,
  EBADF: Errno.BADF,
  EBADMSG: Errno.BADMSG,
  EBUSY: Errno.BUSY,
  ECANCELED: Errno.CANCELED,
  ECHILD: Errno.CHILD,
  ECONNABORTED: Errno.CONNABORTED,
  ECONNREFUSED: Errno.CONNREFUSED,
  ECONNRESET: Errno.CONNRESET,
  EDEADLK: Errno.DEADLK,
  EDESTADDRREQ: Errno.DESTADDRREQ,
  EDOM: Errno.DOM,
  EDQUOT: Errno.DQUOT,
  EEXIST: Errno.EXIST,
  EFAULT: Errno.FAULT,
  EFBIG: Errno.FBIG,
  EHOSTUNREACH: Errno.HOSTUNREACH,
  EIDRM: Errno.IDRM,
  EILSEQ: Errno.ILSEQ,
  EINPROGRESS: Errno.INPROGRESS,
  EINTR: Errno.INTR,
  EINVAL: Errno.INVAL,
  EIO: Errno.IO,
  EISCONN: Errno.ISCONN,
  EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP,
  EMFILE: Errno.MFILE,
  EMLINK: Errno.MLINK,
  EMSGSIZE: Errno.MSGSIZE,
  EMULTIHOP: Errno.MULTIHOP,
  ENAMETOOLONG: Errno.NAMETOOLONG,
  ENETDOWN: Errno.NETDOWN,
  ENETRESET: Errno.NETRESET,
  ENETUNREACH: Errno.NETUNREACH,
  ENFILE: Errno.NFILE,
  ENOBUFS: Errno.NOBUFS,
  ENODEV: Errno.NODEV,
  ENOENT: Errno.NOENT,
  ENOEXEC: Errno.NOEXEC,
  ENOLCK: Errno.NOLCK,
  ENOLINK: Errno.NOLINK,
  ENOMEM: Errno.NOMEM,
  ENOMSG: Errno.NOMSG,
  ENOPROTOOPT: Errno.NOPROTOOPT,
  ENOSPC: Errno.NOSPC,
  ENOSYS: Errno.NOSYS,
  ENOTCONN: Errno.NOTCONN,
  ENOTDIR: Errno.NOTDIR,
  ENOTEMPTY: Errno.NOTEMPTY,
  ENOTRECOVERABLE: Errno.NOTRECOVERABLE,
  ENOTSOCK: Errno.NOTSOCK,
  ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP,
  ENOTTY: Errno.NOTTY,
  ENXIO: Errno.NXIO,
  EOVERFLOW: Errno.OVERFLOW,
  EOWNERDEAD: Errno.OWNERDEAD,
  EPERM: Errno.PERM,
  EPIPE: Errno.PIPE,
  EPROTO: Errno.PROTO,
  EPROTONOSUPPORT: Errno.PROTONOSUPPORT,
  EPROTOTYPE: Errno.PROTOTYPE,
  ERANGE: Errno.RANGE,
  EROFS: Errno.ROFS,
  ESPIPE: Errno.SPIPE,
  ESRCH: Errno.SRCH,
  ESTALE: Errno.STALE,
  ETIMEDOUT: Errno.TIMEDOUT,
  ETXTBSY: Errno.TXTBSY,
  EXDEV: Errno.XDEV,
  // Node's own argument validation (an offset or length it refuses before any syscall).
  ERR_OUT_OF_RANGE: Errno.INVAL,
  ERR_INVALID_ARG_VALUE: Errno.INVAL,
  ERR_INVALID_ARG_TYPE: Errno.INVAL,
  ERR_FS_FILE_TOO_LARGE: Errno.FBIG,
};

/** The Node error code of a thrown value, if it has one. */
export function hostCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = e.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** WASI errno for a host error; anything unrecognised becomes EIO rather than escaping. */
export function errnoFromError(e: unknown): number {
  const code = hostCode(e);
  return (code !== undefined ? HOST_TO_WASI[code] : undefined) ?? Errno.IO;
}
