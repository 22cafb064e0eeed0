// A lab node: its network namespace on the underlay, its mount and UTS namespaces, and `tabby node`
// running inside them with production defaults plus the settings a node's manifest would carry.
//
// Nodes are prepared like a host that passed kubeadm's preflight checks (IPv4 and IPv6
// forwarding on). `tabby node` gets NODENAME and the lab's etcd; its addresses are autodetected
// from the node's only interface, the underlay eth0. Readiness is the agent's own /readiness
// endpoint, asked from inside the node's network namespace.

import type { LabPlan, NodePlan } from './plan.js';
import { createNodeNamespaces } from './node-namespaces.js';
import { type DaemonHandle, isRunning, startDaemon } from './processes.js';
import { type LabState, recordMade } from './state.js';
import { LabError } from './errors.js';
import { SYSTEM_PATH, inNamespaces, runIn } from './sys.js';
import { addNetns, attach, sysctlIn } from './underlay.js';
import { nodeNamespaces } from './kubelet.js';

/** Where the agent answers readiness (Felix's default HealthHost:HealthPort). */
export const HEALTH_PORT = 9099;

export const nodeRole = (node: string): string => `node ${node}`;
export const nodeLog = (node: NodePlan): string => `${node.dir}/tabby-node.log`;

/** The environment `tabby node` runs with in the lab, as a DaemonSet manifest would set it. */
export function nodeEnvironment(plan: LabPlan, node: NodePlan): NodeJS.ProcessEnv {
  return {
    PATH: SYSTEM_PATH,
    NODENAME: node.name,
    DATASTORE_TYPE: 'etcdv3',
    ETCD_ENDPOINTS: plan.etcd.endpoint,
    IP: 'autodetect',
    IP6: 'autodetect',
    // Dual-stack pods, as a dual-stack cluster's manifest sets assign_ipv6 (the pools exist for both).
    TABBY_ASSIGN_IPV6: 'true',
    // The lab creates its pools itself (DESIGN.md §8), so the node must not invent others.
    NO_DEFAULT_POOLS: 'true',
    // Health, metrics and /policy/stats on every address of the node (the lab's underlay is
    // private), so `tabbyctl policy stats` on one node reaches every node's counters.
    TABBY_HEALTH_HOST: '0.0.0.0',
    // Encapsulation None: routes between nodes come from BGP, as with calico/node's bird backend.
    CALICO_NETWORKING_BACKEND: plan.encapsulation === 'None' ? 'bird' : 'vxlan',
    // BGP passwords' secrets, per node (host: <node dir>/var-lib-tabby/bgp-secrets/<secret>/<key>),
    // where a DaemonSet would mount the secret volume.
    TABBY_BGP_SECRETS_DIR: '/var/lib/tabby/bgp-secrets',
  };
}

/** Network namespace plugged into the underlay, plus mount and UTS namespaces. */
export async function createNode(state: LabState, plan: LabPlan, node: NodePlan): Promise<void> {
  await addNetns(state, node.netns);
  await sysctlIn(node.netns, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  await attach(plan, node);
  await createNodeNamespaces(state, plan, node);
}

/** Starts `tabby node` (the build in `binDir`) inside the node. */
export async function startNodeAgent(state: LabState, plan: LabPlan, node: NodePlan, binDir: string): Promise<DaemonHandle> {
  const argv = [...inNamespaces(nodeNamespaces(node)), process.execPath, '--enable-source-maps', `${binDir}/tabby.cjs`, 'node'];
  const handle = await startDaemon(argv, { env: nodeEnvironment(plan, node), logFile: nodeLog(node) });
  recordMade(state, { kind: 'process', pid: handle.pid, startTime: handle.startTime, role: nodeRole(node.name) });
  return handle;
}

/** The agent's readiness: the HTTP status of /readiness, 0 when nothing answered. */
export async function nodeReadiness(node: NodePlan, probeBin: string): Promise<number> {
  const r = await runIn(nodeNamespaces(node), [probeBin, 'http-status', '--timeout-ms', '1000', '127.0.0.1', String(HEALTH_PORT), '/readiness'], { allowFailure: true });
  return r.code === 0 ? Number(r.stdout.trim()) : 0;
}

/** Waits until the node's agent reports ready; fails early if the agent process exits. */
export async function waitNodeReady(node: NodePlan, agent: DaemonHandle, probeBin: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await nodeReadiness(node, probeBin)) === 200) return;
    if (!isRunning(agent)) throw new LabError('CommandFailed', `tabby node on ${node.name} exited before it was ready (log: ${nodeLog(node)})`);
    if (Date.now() > deadline) throw new LabError('Timeout', `tabby node on ${node.name} was not ready within ${timeoutMs / 1000} s (log: ${nodeLog(node)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
