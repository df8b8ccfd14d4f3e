/**
 * The runner end of a deputy's link, played by a test: it accepts one authenticated link on
 * loopback with a migration's token and stops listening, as a runner serves one program.
 */
import net from 'node:net';
import { LinkConnection, deriveLinkKey } from '../../src/link/index.js';
import { Frame, decodeMessage, encodeMessage } from '../../src/migration/runner-wire.js';
import type { DeputyMessage, RunnerMessage } from '../../src/migration/runner-wire.js';
import type { ProgramOffer, RunnerGrant } from '../../src/migration/remote-placement.js';

export const FAKE_TOKEN = '11'.repeat(32);

export interface FakeRunner {
  /** What a deputy needs to reach it: node n2 on loopback, module cached. */
  grant: RunnerGrant;
  /** The link once a deputy has connected. */
  linked: Promise<LinkConnection>;
}

/** Listens for one deputy; `onMessage` sees each of its messages with the link to answer on. */
export async function fakeRunner(
  onMessage: (m: DeputyMessage, link: LinkConnection) => void,
): Promise<FakeRunner> {
  const server = net.createServer();
  const linked = new Promise<LinkConnection>((resolve) => {
    server.once('connection', (socket) => {
      // Gone with its program: a reconnection finds nobody listening.
      server.close();
      void LinkConnection.accept(socket, {
        key: deriveLinkKey(Buffer.from(FAKE_TOKEN, 'hex'), 'runner'),
      }).then((link) => {
        link.onFrame((type, payload) => {
          if (type !== Frame.MSG) return;
          const m = decodeMessage<DeputyMessage>(payload);
          if (m !== undefined) onMessage(m, link);
        });
        resolve(link);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    grant: { node: 'n2', host: '127.0.0.1', port, token: FAKE_TOKEN, hasModule: true },
    linked,
  };
}

export function sendToDeputy(link: LinkConnection, m: RunnerMessage): void {
  link.send(Frame.MSG, encodeMessage(m));
}

/** A program to offer it: no module to send (the grant says the runner has it). */
export function fakeOffer(pipelinedFds: number[] = []): ProgramOffer {
  return {
    moduleHash: 'm',
    programHash: 'p',
    moduleBytes: () => new Uint8Array(),
    args: ['prog'],
    env: [],
    strace: false,
    pipelinedFds,
  };
}
