// The lab's kubelet and container runtime for one pod: sandbox network namespace, the node's real
// CNI plugin chain, and a probe server answering on the pod's declared ports.
//
// The plugin runs as a runtime runs it on a real node: exec'd from /opt/cni/bin inside the node's
// network and mount namespaces (so it sees the node's /opt/cni/bin, /run/tabby/cni.sock and the
// pod's /run/netns path), with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME=eth0, kubelet's
// CNI_ARGS and CNI_PATH in its environment and the request config derived from the node's
// /etc/cni/net.d on stdin. ADD runs the chain in order passing each result on as prevResult; DEL
// runs it in reverse with the final ADD result (cni-spec.md §3). A failed ADD is followed by DEL.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { LabError } from './errors.js';
import {
  type NetworkConfig,
  configCandidates,
  parseCniError,
  parseNetworkConfig,
  podCniArgs,
  requestConfig,
  resultAddresses,
} from './cni-config.js';
import { type LabPlan, type NodePlan, podNetnsName } from './plan.js';
import type { PodWorkload } from './pods.js';
import { isRunning, startDaemon, stopProcesses } from './processes.js';
import { type LabState, type PodRecord, recordMade, writeState } from './state.js';
import { type NamespaceSet, SYSTEM_PATH, inNamespaces, runIn } from './sys.js';
import { addNetns, deleteNetns } from './underlay.js';

const CNI_BIN_DIR = '/opt/cni/bin';
const CNI_TIMEOUT_MS = 60_000;

export const nodeNamespaces = (node: NodePlan): NamespaceSet => ({ netns: node.netns, mountNs: node.mountNs, utsNs: node.utsNs });
export const probeRole = (namespace: string, name: string): string => `probe ${namespace}/${name}`;

/** The node's network configuration, read from its /etc/cni/net.d the way libcni picks one. */
export function loadNodeNetwork(node: NodePlan): NetworkConfig {
  const dir = `${node.dir}/etc-cni-net.d`;
  const problems: string[] = [];
  for (const file of configCandidates(readdirSync(dir))) {
    try {
      return parseNetworkConfig(readFileSync(`${dir}/${file}`, 'utf8'), `${node.name}:/etc/cni/net.d/${file}`);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  throw new LabError(
    'NoCniConfig',
    `node ${node.name} has no usable CNI network configuration in /etc/cni/net.d${problems.length > 0 ? ` (${problems.join('; ')})` : ' (the directory is empty: `tabby node` writes it when it starts)'}`,
  );
}

interface Sandbox {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly containerId: string;
  readonly netns: string;
}

async function invokePlugin(command: 'ADD' | 'DEL', node: NodePlan, sandbox: Sandbox, config: Record<string, unknown>): Promise<unknown> {
  const type = String(config.type);
  const env = {
    PATH: SYSTEM_PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: sandbox.containerId,
    CNI_NETNS: `/run/netns/${sandbox.netns}`,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: podCniArgs(sandbox.namespace, sandbox.name, sandbox.containerId, sandbox.uid),
    CNI_PATH: CNI_BIN_DIR,
  };
  const r = await runIn(nodeNamespaces(node), [`${CNI_BIN_DIR}/${type}`], { input: JSON.stringify(config), env, timeoutMs: CNI_TIMEOUT_MS, allowFailure: true });
  if (r.code !== 0) {
    const err = parseCniError(r.stdout);
    const what = err === undefined ? `exited with status ${r.code}: ${(r.stdout + r.stderr).trim() || 'no output'}` : `returned error code ${err.code}: ${err.msg}${err.details ? ` (${err.details})` : ''}`;
    throw new LabError('CniFailed', `CNI ${command} of pod ${sandbox.namespace}/${sandbox.name} on ${node.name}: plugin ${type} ${what}`);
  }
  if (command === 'DEL' || r.stdout.trim() === '') return undefined;
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    throw new LabError('CniFailed', `CNI ADD of pod ${sandbox.namespace}/${sandbox.name} on ${node.name}: plugin ${type} printed a result that is not JSON: ${r.stdout.slice(0, 200)}`);
  }
}

async function addChain(node: NodePlan, network: NetworkConfig, sandbox: Sandbox): Promise<unknown> {
  let prevResult: unknown;
  for (let i = 0; i < network.plugins.length; i++) {
    const config = requestConfig({ network, pluginIndex: i, ...(prevResult === undefined ? {} : { prevResult }) });
    prevResult = await invokePlugin('ADD', node, sandbox, config);
  }
  return prevResult;
}

async function delChain(node: NodePlan, network: NetworkConfig, sandbox: Sandbox, finalResult: unknown): Promise<void> {
  for (let i = network.plugins.length - 1; i >= 0; i--) {
    const config = requestConfig({ network, pluginIndex: i, ...(finalResult === undefined ? {} : { prevResult: finalResult }) });
    await invokePlugin('DEL', node, sandbox, config);
  }
}

/** Creates the pod's sandbox on `node`, wires it through CNI and starts its probe server. */
export async function runPod(state: LabState, probeBin: string, node: NodePlan, pod: PodWorkload, uid: string): Promise<PodRecord> {
  const plan: LabPlan = state.plan;
  const network = loadNodeNetwork(node);
  const sandbox: Sandbox = {
    namespace: pod.namespace,
    name: pod.name,
    uid,
    containerId: randomBytes(32).toString('hex'),
    netns: podNetnsName(plan.name, pod.namespace, pod.name),
  };
  await addNetns(state, sandbox.netns);
  let result: unknown;
  try {
    result = await addChain(node, network, sandbox);
    await startProbeServer(state, probeBin, pod, sandbox.netns);
  } catch (e) {
    // The spec: a DEL must follow a failed ADD, so whatever the plugin did is undone.
    await delChain(node, network, sandbox, result).catch(() => {});
    await removeSandbox(state, sandbox.netns);
    throw e;
  }
  const record: PodRecord = { ...sandbox, node: node.name, ips: resultAddresses(result), ports: pod.ports, cniResult: result, cniConfig: network, ...(pod.owner === undefined ? {} : { owner: pod.owner }) };
  state.pods.push(record);
  writeState(state);
  return record;
}

/** Serves the pod's TCP and UDP container ports (SCTP is not served) from inside its namespace. */
async function startProbeServer(state: LabState, probeBin: string, pod: PodWorkload, netns: string): Promise<void> {
  const served = pod.ports.filter((p) => p.protocol !== 'SCTP').flatMap((p) => [p.protocol === 'TCP' ? '--tcp' : '--udp', String(p.port)]);
  if (served.length === 0) return;
  mkdirSync(`${state.plan.stateDir}/pods`, { recursive: true });
  const probe = await startDaemon([...inNamespaces({ netns }), probeBin, 'serve', ...served], {
    env: { PATH: SYSTEM_PATH },
    logFile: `${state.plan.stateDir}/pods/${pod.namespace}.${pod.name}.log`,
    readyLine: 'ready',
  });
  recordMade(state, { kind: 'process', pid: probe.pid, startTime: probe.startTime, role: probeRole(pod.namespace, pod.name) });
}

async function removeSandbox(state: LabState, netns: string): Promise<void> {
  await deleteNetns(netns);
  state.made = state.made.filter((m) => !(m.kind === 'netns' && m.name === netns));
  writeState(state);
}

/** Stops the pod's probe server, runs CNI DEL with the ADD result, and removes its namespace. */
export async function stopPod(state: LabState, record: PodRecord): Promise<void> {
  const role = probeRole(record.namespace, record.name);
  const probes = state.made.flatMap((m) => (m.kind === 'process' && m.role === role ? [m] : []));
  await stopProcesses(probes.filter(isRunning), 1000);
  state.made = state.made.filter((m) => !(m.kind === 'process' && m.role === role));
  const node = state.plan.nodes.find((n) => n.name === record.node);
  // The sandbox goes even when DEL fails (an agent that is down): DEL's error is still reported.
  let delError: unknown;
  if (node !== undefined) await delChain(node, record.cniConfig as NetworkConfig, record, record.cniResult).catch((e: unknown) => (delError = e));
  await removeSandbox(state, record.netns);
  state.pods = state.pods.filter((p) => !(p.namespace === record.namespace && p.name === record.name));
  writeState(state);
  if (delError !== undefined) throw delError;
}
