// `tabby lab`: a multi-node cluster on one machine in network namespaces (pure planning, then
// namespaces, etcd, node agents, pods and probes). The `tabby` entry point registers its commands.
export { registerLabCommands } from './cli.js';
