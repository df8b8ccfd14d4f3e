/** Free loopback ports for test and benchmark daemons: the platform's own helper. */
export { freeLoopbackPorts as freeUdpPorts } from '../../src/platform/loopback-ports.js';
