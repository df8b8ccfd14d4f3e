/**
 * A stand-in for `osmo run` in the process-control integration tests: serves the real control
 * socket with a FakeControl and prints "ready <pid> <socket>" once it listens. It lives until its
 * stdin closes (so it never outlives the test that started it) or it is killed.
 *
 *   node process-control-fake-server.js IMAGE_DIR [--silent] [-- COMMAND...]
 *
 * --silent: accept connections on the socket but never answer (a stuck process).
 */
import net from 'node:net';
import { startProcessControlServer } from '../../src/process-control/server.js';
import {
  ensureSocketDir,
  resolveSocketDir,
  socketPath,
} from '../../src/process-control/socket-dir.js';
import { FakeControl } from '../unit/process-control/fake-control.js';

const args = process.argv.slice(2);
const imageDir = args[0] ?? process.cwd();
const dash = args.indexOf('--');
const command = dash >= 0 ? args.slice(dash + 1) : undefined;

let path: string;
if (args.includes('--silent')) {
  const where = resolveSocketDir();
  ensureSocketDir(where);
  path = socketPath(where.dir, process.pid);
  const server = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => server.listen(path, resolve));
} else {
  const server = await startProcessControlServer(new FakeControl(process.pid, imageDir, command));
  path = server.path;
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.stdout.write(`ready ${process.pid} ${path}\n`);
