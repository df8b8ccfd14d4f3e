/**
 * Proving to the daemon here who we are (Node gives no peer credentials on a Unix socket, ADR
 * 0014): a ticket from the daemon, and a file named after it in the daemon's proof directory,
 * whose owner the daemon reads (src/daemon/native-tickets.ts).
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestOnce } from '../daemon/control-client.js';
import { PROOF_PREFIX } from '../daemon/native-tickets.js';

/** Runs `use` with a proved ticket; the proof file is gone afterwards, whatever happened. */
export async function withProof<T>(
  socket: string,
  use: (ticket: string) => Promise<T>,
): Promise<T> {
  const { ticket, dir } = await requestOnce(socket, 'ticket', {});
  const proof = join(dir, `${PROOF_PREFIX}${ticket}`);
  writeFileSync(proof, '', { flag: 'wx', mode: 0o600 });
  try {
    return await use(ticket);
  } finally {
    try {
      unlinkSync(proof);
    } catch {
      // the daemon removed it
    }
  }
}
