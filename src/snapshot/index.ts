/** The snapshot image format: the one import other layers use. */
export { writeImage } from './writer.js';
export type { WriteImageOptions, WriteImageResult } from './writer.js';
export { readImage } from './reader.js';
export type { CopyMemoryOptions, MemoryChunk, ReadImageOptions, SnapshotReader } from './reader.js';
export { copyImageFile, openImageFile, writeImageFile } from './image-file.js';
export type { OpenedImage, WriteImageFileOptions } from './image-file.js';
export { bytesSource, fdSink, fdSource, writableSink } from './io.js';
export type { ImageSink, ImageSource } from './io.js';
export type { Compression } from './codec.js';
export { DEFAULT_LIMITS, FORMAT_MAJOR, FORMAT_MINOR, WASM_PAGE_BYTES } from './format.js';
export type { ImageLimits } from './format.js';
export type {
  GlobalType,
  SnapshotGlobal,
  SnapshotImage,
  SnapshotMeta,
  SnapshotStack,
} from './types.js';
