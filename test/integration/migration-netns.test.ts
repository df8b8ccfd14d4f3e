/**
 * Migration end to end with each node a network namespace of its own (needs root; skipped with
 * the reason otherwise), the suite's first half; the second is in migration-netns-2.test.ts, the
 * suite in migration-suite.ts. Whole, it took up to 179 s of the 240 s a test may take in CI.
 */
import { migrationSuite } from './migration-suite.js';

migrationSuite('netns', 1);
