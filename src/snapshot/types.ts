/** What a snapshot image holds, as the writer takes it and the reader gives it back. */

export type GlobalType = 'i32' | 'i64' | 'f32' | 'f64';

/** An exported mutable global. i64 values are bigints; the others are numbers. */
export interface SnapshotGlobal {
  name: string;
  type: GlobalType;
  value: number | bigint;
}

/** The asyncify data buffer of the unwound stack and where it lives in linear memory. */
export interface SnapshotStack {
  address: number;
  bytes: Uint8Array;
}

export interface SnapshotImage {
  /** sha256 of the original (uninstrumented) .wasm, 64 lowercase hex digits. */
  moduleHash: string;
  /**
   * A view of the whole live linear memory (length a multiple of 64 KiB). It is read chunk by
   * chunk while the image is written and must not change until writeImage resolves.
   */
  memory: Uint8Array;
  globals: readonly SnapshotGlobal[];
  stack: SnapshotStack | null;
  /** Runtime counters by name (cpuTimeNs, monotonicLastNs, ticks, …), unsigned 64-bit. */
  counters: Readonly<Record<string, bigint>>;
  /** The deputy's state: any JSON value; the format does not look inside. */
  deputy: unknown;
}

/** The image as decoded, without the memory (read it with SnapshotReader.chunks / copyMemoryInto). */
export interface SnapshotMeta {
  formatMajor: number;
  formatMinor: number;
  requiredFeatures: number;
  optionalFeatures: number;
  moduleHash: string;
  memoryPages: number;
  nonZeroPages: number;
  chunkCount: number;
  globals: SnapshotGlobal[];
  stack: SnapshotStack | null;
  counters: Record<string, bigint>;
  deputy: unknown;
}
