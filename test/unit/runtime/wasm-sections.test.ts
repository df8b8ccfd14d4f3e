/** Reading and rewriting a module's memory limits; bad bytes are refused with one message. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isOsmoError } from '../../../src/core/errors.js';
import { memoryLimits, parseSections, withMemoryMax } from '../../../src/runtime/wasm-sections.js';
import { fixture } from '../../helpers/osmo.js';

describe('wasm sections', () => {
  const bytes = readFileSync(fixture('exit_code'));

  it('reads the memory limits of a real program', () => {
    const limits = memoryLimits(parseSections(bytes));
    assert.ok(limits !== undefined && limits.minPages >= 2);
  });

  it('lowers the maximum and the engine enforces it', () => {
    const sections = parseSections(bytes);
    const min = memoryLimits(sections)!.minPages;
    const patched = withMemoryMax(bytes, sections, min + 1);
    assert.deepEqual(memoryLimits(parseSections(patched)), {
      minPages: min,
      maxPages: min + 1,
      shared: false,
    });
    const module = new WebAssembly.Module(patched);
    assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === '_start'));
  });

  it('refuses every truncation with E_BAD_WASM', () => {
    for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 300))) {
      const part = bytes.subarray(0, cut);
      try {
        parseSections(part);
      } catch (e) {
        assert.ok(isOsmoError(e, 'E_BAD_WASM'), String(e));
      }
    }
    assert.throws(
      () => parseSections(new TextEncoder().encode('#!/bin/sh\n')),
      (e) => isOsmoError(e, 'E_BAD_WASM'),
    );
  });
});
