// The BGP finite state machine (RFC 4271 §8), pure: a state × event table, its step function,
// OPEN checks and collision resolution. The session shell owns timers and sockets and performs
// the actions `step` returns.
export * from './types.js';
export { FSM_TABLE, type Cell, type Op } from './table.js';
export { step, initialState, negotiateHoldTime, idleHoldSeconds, cellFor } from './step.js';
export { checkOpen, collisionLoser, type PeerOpen, type OpenExpectations } from './open-check.js';
