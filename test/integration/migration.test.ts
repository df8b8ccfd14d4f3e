/** Migration end to end on loopback: the suite is in migration-suite.ts. */
import { migrationSuite } from './migration-suite.js';

migrationSuite('loopback');
