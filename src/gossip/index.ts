/** Public surface of the gossip layer. */
export * from './types.js';
export * from './config.js';
export * from './ids.js';
export * from './node.js';
export * from './codec.js';
export * from './formulas.js';
