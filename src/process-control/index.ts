/** Per-process control without a daemon: see docs/process-control.md. */
export type {
  DeliverResult,
  ImageResult,
  MigrateResult,
  ProcessControl,
  ProcessInfo,
  ProcessState,
} from './types.js';
export { startProcessControlServer } from './server.js';
export type {
  ProcessControlCounters,
  ProcessControlServer,
  ProcessControlServerOptions,
} from './server.js';
export { ProcessControlClient } from './client.js';
export type { ClientTimeouts } from './client.js';
export { connectProcess, listProcesses } from './discovery.js';
export type { DiscoveryOptions, ListOptions, SkipReason } from './discovery.js';
export { resolveSocketDir, socketPath } from './socket-dir.js';
export type { SocketDirOptions } from './socket-dir.js';
