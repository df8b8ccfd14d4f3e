/**
 * The image code, loaded on a thread's first image (a freeze, a checkpoint, a move, a restart):
 * with node:zlib it costs every `osmo run` a few ms at start, and most runs never make one.
 */
import type * as Snapshot from './index.js';

let loading: Promise<typeof Snapshot> | undefined;

export function snapshotCode(): Promise<typeof Snapshot> {
  return (loading ??= import('./index.js'));
}
