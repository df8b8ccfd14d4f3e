/**
 * Migration end to end with each node a network namespace of its own (needs root; skipped with
 * the reason otherwise): the suite is in migration-suite.ts.
 */
import { migrationSuite } from './migration-suite.js';

migrationSuite('netns');
