// BGP: what other folders may use of Tabby's BGP-4 speaker (DESIGN.md §7). Owns the wire codec
// (wire/), the FSM (fsm/) and the RIBs and decision (rib/) — all pure — plus the session shell
// (session/), the Speaker that owns them, the configuration file and the standalone daemon
// (`tabby bgp run`).
export * from './wire/index.js';
export { Speaker, type SpeakerStatus, type PeerStatus, type RouteView, formatId } from './speaker.js';
export { parseSpeakerConfig, BgpConfigError, DEFAULT_STATUS_SOCKET, type SpeakerConfig, type PeerConfig } from './config.js';
export { runDaemon, queryDaemon, loadSpeakerConfig, renderMetrics, answerStatus, serveStatusSocket, type StatusRequest } from './daemon.js';
export * from './cluster/index.js';
export { clusterSpeakerConfig } from './cluster-speaker.js';
export { BGP_ROUTE_PROTOCOL } from './session/kernel.js';
