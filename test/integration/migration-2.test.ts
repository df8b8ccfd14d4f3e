/**
 * Migration end to end on loopback, the suite's second half (signals, stops, failures, the WASI
 * conformance programs away); the first is in migration.test.ts, the suite in migration-suite.ts.
 */
import { migrationSuite } from './migration-suite.js';

migrationSuite('loopback', 2);
