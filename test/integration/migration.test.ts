/**
 * Migration end to end on loopback, the suite's first half (moves, writes, images); the second is
 * in migration-2.test.ts, the suite in migration-suite.ts.
 */
import { migrationSuite } from './migration-suite.js';

migrationSuite('loopback', 1);
