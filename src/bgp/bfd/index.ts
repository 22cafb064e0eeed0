// BFD (RFC 5880), pure: the Control packet codec with the packet-only reception checks of §6.8.6
// (`packet.ts`) and one session's state machine — handshake, detection time, Poll/Final, slow
// and jittered transmission — with clock and randomness injected (`session.ts`). The UDP shell
// (RFC 5881) is `../session/bfd.ts`.
export * from './packet.js';
export * from './session.js';
