/**
 * Loads and checks a program before any thread starts, so that every bad input gets one clear
 * message: not a file, not WebAssembly, truncated, imports we do not provide, no `_start`, more
 * memory than allowed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OsmoError } from '../core/errors.js';
import { MODULE_NAME } from '../wasi/abi.js';
import { WASI_FUNCTION_NAMES } from '../wasi/imports.js';
import { memoryLimits, PAGE_BYTES, parseSections, withMemoryMax } from './wasm-sections.js';

export interface Program {
  path: string;
  module: WebAssembly.Module;
  /** The module's bytes as compiled (with --max-memory applied): what instrumentation starts from. */
  bytes: Uint8Array;
  /** sha256 of the file as given (before any rewriting): the program's identity. */
  hash: string;
  initialMemoryBytes: number;
}

export interface LoadOptions {
  maxMemoryBytes?: number;
}

const WASI_NAMES = new Set(WASI_FUNCTION_NAMES);

export function readProgramFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : String(code);
    throw new OsmoError('E_NOT_FOUND', `cannot read program ${path}: ${why}`, { cause: error });
  }
}

export function loadProgram(path: string, options: LoadOptions = {}): Program {
  const original = readProgramFile(path);
  let bytes = original;
  const sections = parseSections(bytes);
  const limits = memoryLimits(sections);
  const initialMemoryBytes = (limits?.minPages ?? 0) * PAGE_BYTES;
  if (options.maxMemoryBytes !== undefined) {
    if (initialMemoryBytes > options.maxMemoryBytes) {
      throw new OsmoError(
        'E_MEMORY_LIMIT',
        `${path} needs ${mib(initialMemoryBytes)} of memory at start, more than --max-memory ${mib(options.maxMemoryBytes)}`,
      );
    }
    bytes = withMemoryMax(bytes, sections, Math.floor(options.maxMemoryBytes / PAGE_BYTES));
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (error) {
    const detail =
      error instanceof Error
        ? error.message.replace(/^WebAssembly\.Module\(\): /, '')
        : String(error);
    throw new OsmoError('E_BAD_WASM', `${path} is not a valid WebAssembly module: ${detail}`, {
      cause: error,
    });
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== MODULE_NAME || imp.kind !== 'function' || !WASI_NAMES.has(imp.name)) {
      throw new OsmoError(
        'E_BAD_IMPORT',
        `${path} imports ${imp.kind} ${imp.module}.${imp.name}, which Osmosis does not provide (only ${MODULE_NAME} functions are)`,
      );
    }
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    throw new OsmoError(
      'E_NO_START',
      `${path} has no _start function: build it as a WASI command (not a library/reactor)`,
    );
  }
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new OsmoError(
      'E_BAD_WASM',
      `${path} does not export its memory, which WASI programs must do`,
    );
  }
  return {
    path,
    module,
    bytes,
    hash: createHash('sha256').update(original).digest('hex'),
    initialMemoryBytes,
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes % 1048576 === 0 ? 0 : 1)} MiB`;
}
