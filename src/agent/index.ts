// The node agent (`tabby node`): Node registration with address autodetection, CNI plugin and
// config install, the supervisor and the dataplane agent process it forks (CNI socket, IPAM),
// health and metrics. Entry points call these; nothing else depends on the agent.
export { runAgentProcess } from './dataplane-agent.js';
export { runBgpProcess } from './bgp-process.js';
export { prepareNode, superviseNode } from './node.js';
export { type NodeFlags, resolveNodeOptions } from './options.js';
export { type ChildState, type NodeStatus, type RouteStatus, type PolicyStatus, NodeNotRunningError, fetchNodeStatus } from './node-status.js';
