/**
 * Child process of image-file.test.ts, run under `ulimit -f` so that the kernel refuses the write
 * (EFBIG, the same path as ENOSPC). It reports what writeImageFile threw and then proves it is
 * still alive and usable by writing a small image successfully.
 * argv: PATH BIG_PAGES SMALL_PATH
 */
import { writeImageFile } from '../../../src/snapshot/index.js';
import { makeMemory, sampleImage } from './helpers.js';

const [path, pages, smallPath] = process.argv.slice(2);
const report: Record<string, unknown> = {};
try {
  await writeImageFile(path!, sampleImage(makeMemory(Number(pages), () => true)));
  report['big'] = 'written';
} catch (e) {
  const err = e as { code?: unknown; message?: unknown; details?: unknown };
  report['big'] = { code: err.code, message: err.message, details: err.details };
}
await writeImageFile(smallPath!, sampleImage(makeMemory(1, () => true)));
report['small'] = 'written';
console.log(JSON.stringify(report));
