// BGP: what other folders may use of Tabby's BGP-4 speaker (DESIGN.md §7). Owns the wire codec
// (wire/), the FSM (fsm/) and the RIBs and decision (rib/) — all pure — plus the session shell
// (session/), BFD (bfd/: pure codec and session machine; session/bfd.ts: its UDP shell), the
// Speaker that owns them, the configuration file and the standalone daemon
// (`tabby bgp run`).
export * from './wire/index.js';
export { Speaker, type SpeakerStatus, type PeerStatus, type RouteView, formatId } from './speaker.js';
export { parseSpeakerConfig, BgpConfigError, Password, DEFAULT_STATUS_SOCKET, DEFAULT_BFD, type SpeakerConfig, type PeerConfig, type BfdPeerConfig } from './config.js';
export { BFD_CONTROL_PORT, type BfdStatus } from './session/bfd.js';
export { runDaemon, queryDaemon, loadSpeakerConfig, renderMetrics, answerStatus, serveStatusSocket, type StatusRequest } from './daemon.js';
export * from './cluster/index.js';
export { clusterSpeakerConfig, readPasswords, speakerLogLevel } from './cluster-speaker.js';
export { BGP_ROUTE_PROTOCOL } from './session/kernel.js';
