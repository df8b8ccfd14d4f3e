/**
 * The per-process control socket's view of a running program (osmo ps / checkpoint / freeze /
 * continue PID): a ProcessControl over a DeputySession.
 */
import { OsmoError } from '../core/errors.js';
import type { ProcessControl, ProcessInfo } from '../process-control/index.js';
import { snapshotCode } from '../snapshot/load.js';
import { homeNodeOf } from './deputy-session.js';
import type { DeputySession } from './deputy-session.js';
import { HOME } from '../migration/movable-guest.js';

export function sessionControl(session: DeputySession): ProcessControl {
  let frozenImage: string | undefined;
  const home = homeNodeOf(session.options);
  const mailboxes = session.options.mailboxes;
  return {
    info(): ProcessInfo {
      const cpu = process.cpuUsage();
      const awayCpuTimeMs = session.remoteUsage?.totalMs ?? 0;
      const homeWaitMs = session.remoteUsage === undefined ? 0 : session.remoteUsage.homeWaitMs;
      return {
        pid: process.pid,
        home,
        where: session.guest.where === HOME ? home : session.guest.where,
        state: session.guest.state,
        cpuTimeMs: Math.round((cpu.user + cpu.system) / 1000) + awayCpuTimeMs,
        awayCpuTimeMs,
        ...(homeWaitMs === undefined ? {} : { awayHomeWaitMs: homeWaitMs }),
        memoryBytes: session.memoryBytes,
        startedAt: session.startedAt.toISOString(),
        command: session.options.args,
        ...(session.options.job === undefined ? {} : { job: session.options.job }),
        preemptible: session.options.preemptible,
        movable: session.options.preemptible && session.options.mobility?.autoMigrate === true,
        since: session.guest.arrivedAt.toISOString(),
        migrations: session.guest.migrations,
        ...(session.guest.cameFrom === undefined
          ? {}
          : { cameFrom: session.guest.cameFrom === HOME ? home : session.guest.cameFrom }),
        memoryNeedBytes: session.options.mobility?.memoryBytes ?? 0,
        syscalls: session.counters.syscalls,
        ioBytes: session.counters.ioBytes,
        ...(session.guest.lastMove === undefined ? {} : { lastMove: session.guest.lastMove }),
        ...(session.options.checkpointFile === undefined
          ? {}
          : { checkpointFile: session.options.checkpointFile }),
      };
    },
    ...(mailboxes === undefined
      ? {}
      : { deliver: (from, payload) => mailboxes.accept(from, payload) }),
    checkpoint: (file) => session.checkpoint(file),
    migrate: (to, expectedQueue) => session.migrate(to, expectedQueue),
    async freeze() {
      const written = await session.freeze();
      frozenImage = written.file;
      return written;
    },
    async continue() {
      if (frozenImage === undefined)
        throw new OsmoError('E_USAGE', `process ${process.pid} is not frozen`);
      // The same host: monotonic time simply goes on; CPU time used before the freeze is carried.
      const image = (await snapshotCode()).openImageFile(frozenImage);
      const cpuOffsetNs = image.meta.counters.cpuTimeNs ?? 0n;
      image.close();
      await session.guest.continue({ monotonicOffsetNs: 0n, cpuOffsetNs });
      frozenImage = undefined;
    },
  };
}
