/**
 * The regions unwinds write into (src/runtime/unwind-region.ts): grown once, zeroed after each
 * rewind and reused — unless something else wrote into it meanwhile or it is too small.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnwindRegions } from '../../../src/runtime/unwind-region.js';

const PAGE = 65536;

/** As Asyncify would: `n` bytes of frames after the header, current pointer moved past them. */
function unwindWrites(memory: WebAssembly.Memory, region: number, n: number): void {
  new Uint8Array(memory.buffer, region + 8, n).fill(0xab);
  new DataView(memory.buffer).setUint32(region, region + 8 + n, true);
}

describe('unwind regions', () => {
  it('grows one region, zeroes it after the rewind and reuses it', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const regions = new UnwindRegions();
    const first = regions.take(memory, 4 * PAGE)!;
    assert.equal(first, 2 * PAGE, 'a fresh region at the end of memory');
    const view = new DataView(memory.buffer);
    assert.equal(view.getUint32(first, true), first + 8, 'header: current');
    assert.equal(view.getUint32(first + 4, true), first + 8 + 4 * PAGE, 'header: end');
    unwindWrites(memory, first, 1000);
    assert.deepEqual(regions.unwound(memory), { address: first, used: 1008 });
    regions.rewound(memory);
    assert.ok(
      new Uint8Array(memory.buffer, first).every((b) => b === 0),
      'zeroed after use',
    );
    const pages = memory.buffer.byteLength / PAGE;
    assert.equal(regions.take(memory, 4 * PAGE), first, 'reused');
    assert.equal(memory.buffer.byteLength / PAGE, pages, 'the memory did not grow');
  });

  it('grows a new one when the spare is too small or not all zero', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const regions = new UnwindRegions();
    const first = regions.take(memory, PAGE)!;
    unwindWrites(memory, first, 64);
    regions.unwound(memory);
    regions.rewound(memory);
    const bigger = regions.take(memory, 3 * PAGE)!;
    assert.ok(bigger > first, 'too small: a new region');
    unwindWrites(memory, bigger, 64);
    regions.unwound(memory);
    regions.rewound(memory);
    // Something (malloc, having absorbed it) wrote into the spare: it is not reused.
    new Uint8Array(memory.buffer)[bigger + 2 * PAGE] = 1;
    const third = regions.take(memory, 3 * PAGE)!;
    assert.ok(third > bigger, 'written to: a new region');
    assert.equal(new Uint8Array(memory.buffer)[bigger + 2 * PAGE], 1, 'and left alone');
  });

  it('takes the region of a restored image as its spare', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const regions = new UnwindRegions();
    const address = PAGE;
    const stack = new Uint8Array(40);
    const v = new DataView(stack.buffer);
    v.setUint32(0, address + 40, true);
    v.setUint32(4, address + 8 + 2 * PAGE, true); // capacity 2 pages
    new Uint8Array(memory.buffer).set(stack, address);
    regions.restoring(address, stack);
    regions.rewound(memory);
    assert.ok(new Uint8Array(memory.buffer, address, 40).every((b) => b === 0));
    assert.equal(regions.take(memory, 2 * PAGE), address, 'reused');
    assert.equal(memory.buffer.byteLength, 4 * PAGE);
  });

  it('says so when memory cannot grow', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    assert.equal(new UnwindRegions().take(memory, 4 * PAGE), undefined);
    assert.equal(memory.buffer.byteLength, PAGE);
  });
});
