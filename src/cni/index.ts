// The CNI path: request handling in the agent (ADD/DEL/CHECK/STATUS for the `tabby` and
// `tabby-ipam` plugins, WorkloadEndpoints, veths), the socket server, the TypeScript forwarder
// and the C shim (shim/). The agent wires these together.
export { AttachmentStore } from './attachments.js';
export { type CniServices, type Readiness } from './context.js';
export { runCommand, spawnCommand, useCommandRunner } from './exec.js';
export { DEFAULT_SOCKET } from './forwarder.js';
export { CniHandler } from './handler.js';
export { serveCniSocket } from './server.js';
export { Spawner } from './spawner.js';
export { SUPPORTED_VERSIONS } from './versions.js';
