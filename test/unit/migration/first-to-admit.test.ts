import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OsmoError } from '../../../src/core/errors.js';
import { firstToAdmit } from '../../../src/migration/movable-guest.js';
import type { MoveTarget } from '../../../src/migration/movable-guest.js';
import type { RunnerGrant } from '../../../src/migration/remote-placement.js';

type NodeTarget = Exclude<MoveTarget, 'home'>;

/** A node that admits the program, or refuses it with `error`. */
function target(node: string, error?: OsmoError): NodeTarget {
  return {
    node,
    admit: () =>
      error === undefined
        ? Promise.resolve<RunnerGrant>({
            node,
            host: '127.0.0.1',
            port: 1,
            token: 't',
            hasModule: true,
          })
        : Promise.reject(error),
  };
}

const refusal = (node: string) =>
  new OsmoError(
    'E_REFUSED',
    `${node} runs 3 processes, its home counted on 1 (its view was older)`,
  );

describe('firstToAdmit (a start offered to the next node when one refuses it)', () => {
  it('takes the first node that admits it, asking for another without those that refused', async () => {
    const asked: string[][] = [];
    const choices = [target('n3', refusal('n3')), target('n4')];
    const taker = await firstToAdmit(target('n2', refusal('n2')), (refused) => {
      asked.push([...refused]);
      return Promise.resolve(choices.shift());
    });
    assert.equal(taker?.target.node, 'n4');
    assert.equal(taker.grant.node, 'n4');
    assert.deepEqual(asked, [['n2'], ['n2', 'n3']]);
  });

  it('starts at home when the next choice is home', async () => {
    const taker = await firstToAdmit(target('n2', refusal('n2')), () => Promise.resolve(undefined));
    assert.equal(taker, undefined);
  });

  it('throws a refusal when there is no next choice, and any other failure at once', async () => {
    await assert.rejects(firstToAdmit(target('n2', refusal('n2'))), /n2 runs 3 processes/);
    let asked = 0;
    const gone = new OsmoError('E_LINK', 'node n2 did not answer "admit" within 5000 ms');
    await assert.rejects(
      firstToAdmit(target('n2', gone), () => {
        asked++;
        return Promise.resolve(target('n3'));
      }),
      /did not answer/,
    );
    assert.equal(asked, 0);
  });
});
