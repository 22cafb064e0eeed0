// BGP wire codec (pure): the message model of RFC 4271 and its extensions, and (as it lands) the
// functions that turn bytes into that model and back. No sockets, timers or logs here; the FSM,
// RIBs and session shell import only from this file.
export * from './types.js';
