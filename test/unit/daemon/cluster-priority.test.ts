import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAdmission } from '../../../src/daemon/admission.js';
import type { AdmissionState, AdmitRequest } from '../../../src/daemon/admission.js';
import {
  parseClusterPriorities,
  priorityOf,
  pushedOutBy,
} from '../../../src/daemon/cluster-priority.js';

/** The one-line problem parseClusterPriorities reports for `value`. */
function problemWith(value: unknown): string {
  const result = parseClusterPriorities(value);
  assert.equal(typeof result, 'string', `no problem found with ${JSON.stringify(value)}`);
  return result as string;
}

describe('the priority method', () => {
  it('parses NAME=PRIORITY and NAME=block lists and maps, naming the first problem', () => {
    assert.deepEqual(parseClusterPriorities('a=1, b=block,c=20'), { a: 1, b: 'block', c: 20 });
    assert.deepEqual(parseClusterPriorities({ a: 3, b: 'block' }), { a: 3, b: 'block' });
    assert.deepEqual(parseClusterPriorities(''), {});
    assert.equal(parseClusterPriorities('a'), '"a" is not NAME=PRIORITY or NAME=block');
    assert.match(problemWith('a=0'), /priority of cluster a must be 1..1000/);
    assert.match(problemWith('a b=1'), /cluster name "a b"/);
    assert.match(problemWith(7), /expected NAME=PRIORITY/);
  });

  it('ranks the own cluster first; unlisted clusters are refused only once any is listed', () => {
    assert.equal(priorityOf('lab', 'lab', { lab: 9 }), 0);
    assert.equal(priorityOf('cloud', 'lab', { cloud: 4 }), 4);
    assert.equal(priorityOf('rogue', 'lab', { cloud: 4, rogue: 'block' }), 'block');
    assert.equal(priorityOf('other', 'lab', { cloud: 4 }), 'unrecognized');
    assert.equal(priorityOf('other', 'lab', {}), 0);
    assert.equal(priorityOf(undefined, 'lab', { cloud: 4 }), 'unrecognized');
  });

  it('pushes out every guest ranked worse than the one that arrives', () => {
    assert.deepEqual(pushedOutBy(1, [0, 2, 1, 5]), [1, 3]);
    assert.deepEqual(pushedOutBy(0, [0, 0]), []);
  });

  const request: AdmitRequest = { home: 'h', pid: 1, memoryBytes: 0, moduleHash: 'x'.repeat(64) };
  const state: AdmissionState = {
    node: 'n3',
    acceptGuests: true,
    draining: false,
    guests: 0,
    maxGuests: 2,
    freeMemBytes: 1 << 30,
    runQueue: 0,
    homeKnown: true,
    homeCluster: 'cloud',
    homePriority: 2,
  };
  const reason = (s: Partial<AdmissionState>): string => {
    const a = decideAdmission(request, { ...state, ...s });
    return a.ok ? 'ok' : a.reason;
  };

  it('refuses blocked and unlisted clusters, and programs ranked below what runs here', () => {
    assert.equal(reason({}), 'ok');
    assert.equal(
      reason({ homePriority: 'block' }),
      'n3 blocks programs of cluster cloud (clusterPriorities)',
    );
    assert.equal(
      reason({ homePriority: 'unrecognized' }),
      'n3 does not take programs of cluster cloud (not in its clusterPriorities)',
    );
    assert.equal(
      reason({ bestPriorityHere: 0 }),
      'n3 runs programs ranked above cluster cloud (priority 2)',
    );
    assert.equal(reason({ bestPriorityHere: 2 }), 'ok');
  });

  it('lets a better-ranked program in at the guest limit (a worse one is pushed out)', () => {
    assert.match(reason({ guests: 2, worstGuestPriority: 2 }), /guest limit/);
    assert.equal(reason({ guests: 2, worstGuestPriority: 3 }), 'ok');
  });
});
