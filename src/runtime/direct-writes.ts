/**
 * Direct writes at home. A write through the channel costs a cross-thread round trip (~1 µs);
 * for stdout and stderr that is most of the cost of a small write. When the guest runs in the
 * deputy's own process and such an fd carries no deputy state (no tracked offset: a pipe, a
 * terminal, /dev/null, a file used with the kernel's offset), the deputy grants the guest thread
 * the right to write the host fd itself. A blocking write then blocks only the guest thread, which
 * is exactly the backpressure wanted, while the deputy's event loop stays free.
 *
 * The deputy revokes a grant before it closes or renumbers the fd (and, later, before the guest
 * leaves this process), so a guest never writes to an fd that has become something else.
 */
import { fstatSync, writevSync } from 'node:fs';
import { errnoFromError, hostCode } from '../deputy/host-errno.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import type { GuestSyscalls } from '../wasi/guest-syscalls.js';
import { Ctl, DIRECT_WRITE_SLOTS } from './channel.js';
import type { RequestHandler } from './channel.js';
import { SYSCALL_IDS } from '../protocol/syscall-table.js';

/** Deputy side: the grant table in the channel's control words. */
export class DirectWriteGrants {
  constructor(private readonly control: Int32Array) {}

  grant(guestFd: number, hostFd: number): void {
    if (guestFd < DIRECT_WRITE_SLOTS)
      Atomics.store(this.control, Ctl.DIRECT_WRITES + guestFd, hostFd + 1);
  }

  revoke(guestFd: number): void {
    if (guestFd >= 0 && guestFd < DIRECT_WRITE_SLOTS)
      Atomics.store(this.control, Ctl.DIRECT_WRITES + guestFd, 0);
  }

  revokeAll(): void {
    for (let fd = 0; fd < DIRECT_WRITE_SLOTS; fd++) this.revoke(fd);
  }

  /** Grants stdout/stderr when their host fd is not a directory (all stdio writes use the kernel offset). */
  grantStdio(stdio: readonly [number, number, number] = [0, 1, 2]): void {
    for (const guestFd of [1, 2]) {
      const hostFd = stdio[guestFd] as number;
      try {
        if (!fstatSync(hostFd).isDirectory()) this.grant(guestFd, hostFd);
      } catch {
        // A closed stdio fd stays with the deputy, which answers EBADF.
      }
    }
  }
}

const FD_CLOSE = SYSCALL_IDS.get('fdClose');
const FD_RENUMBER = SYSCALL_IDS.get('fdRenumber');

/** Wraps the deputy's handler so that closing or renumbering a granted fd revokes it first. */
export function revokingHandler(
  handler: RequestHandler,
  grants: DirectWriteGrants,
): RequestHandler {
  return (request, length, response, isCurrent) => {
    if (length >= 8) {
      const op = request.getUint16(0, true);
      if (op === FD_CLOSE || op === FD_RENUMBER) grants.revoke(request.getUint32(4, true));
      if (op === FD_RENUMBER && length >= 12) grants.revoke(request.getUint32(8, true));
    }
    return handler(request, length, response, isCurrent);
  };
}

/** Guest side: fdWrite goes straight to the host fd when granted, else through the port. */
export function withDirectWrites(port: GuestSyscalls, control: Int32Array): GuestSyscalls {
  const viaDeputy = port.fdWrite.bind(port);
  port.fdWrite = (fd: number, data: readonly Uint8Array[]): Result<number> => {
    const host = fd < DIRECT_WRITE_SLOTS ? Atomics.load(control, Ctl.DIRECT_WRITES + fd) - 1 : -1;
    if (host < 0) return viaDeputy(fd, data);
    try {
      return ok(data.length === 0 ? 0 : writevSync(host, data as Uint8Array[]));
    } catch (error) {
      // A non-blocking fd that is full: let the deputy wait for it without blocking anyone.
      if (hostCode(error) === 'EAGAIN') return viaDeputy(fd, data);
      return err(errnoFromError(error));
    }
  };
  return port;
}
