/**
 * Migration end to end with each node a network namespace of its own, the suite's second half
 * (signals, stops, failures, the WASI conformance programs away); the first is in
 * migration-netns.test.ts, the suite in migration-suite.ts.
 */
import { migrationSuite } from './migration-suite.js';

migrationSuite('netns', 2);
