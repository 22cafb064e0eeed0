// Looking at a running lab: `status`, `probe` (real packets between pods) and `exec`.
//
// These read state.json without taking the lab's lock, so they work while an apply runs.
// Probing runs one `tabby-probe connect` per source pod inside that pod's network namespace, all
// sources at once, each trying every target at once with a short timeout, so a full matrix costs
// about one timeout however many pods there are. `labProbePorts` does the same for several
// port/protocol pairs in one round (one prober per source pod for all of them).

import { spawn } from 'node:child_process';
import { LabError } from './errors.js';
import { nodeNamespaces } from './kubelet.js';
import { nodeReadiness, nodeRole } from './nodes.js';
import { type LabPlan, stateDirOf } from './plan.js';
import { type PortProtocol, type ProbeOptions, type ReachabilityMatrix, assembleMatrix, probeTarget, sortPods } from './probe-plan.js';
import { isRunning } from './processes.js';
import { type LabState, readState } from './state.js';
import { type NamespaceSet, SYSTEM_PATH, inNamespaces, runIn } from './sys.js';

export function loadLab(name: string): LabState {
  const state = readState(stateDirOf(name));
  if (state === undefined) throw new LabError('LabNotFound', `there is no lab named ${name}; start one with \`tabby lab up\``);
  return state;
}

export type NodeState = 'ready' | 'not-ready' | 'stopped';

export interface LabStatus {
  readonly name: string;
  readonly phase: LabState['phase'];
  readonly etcd: { readonly endpoint: string; readonly netns: string; readonly running: boolean };
  readonly encapsulation: string;
  readonly external: { readonly addresses: string[]; readonly netns: string };
  readonly nodes: { readonly name: string; readonly addresses: string[]; readonly netns: string; readonly state: NodeState }[];
  readonly pods: { readonly name: string; readonly node: string; readonly ips: string[]; readonly netns: string; readonly owner?: string }[];
}

const processOf = (state: LabState, role: string) =>
  state.made.find((m): m is Extract<LabState['made'][number], { kind: 'process' }> => m.kind === 'process' && m.role === role);

export async function labStatus(name: string, probeBin: string): Promise<LabStatus> {
  const state = loadLab(name);
  const plan: LabPlan = state.plan;
  const etcd = processOf(state, 'etcd');
  const nodes = await Promise.all(
    plan.nodes.map(async (n) => {
      const agent = processOf(state, nodeRole(n.name));
      let nodeState: NodeState = 'stopped';
      if (agent !== undefined && isRunning(agent)) nodeState = (await nodeReadiness(n, probeBin)) === 200 ? 'ready' : 'not-ready';
      return { name: n.name, addresses: [n.address4, n.address6], netns: n.netns, state: nodeState };
    }),
  );
  const pods = sortPods(state.pods.map((p) => ({ ...p, id: `${p.namespace}/${p.name}` }))).map((p) => ({ name: p.id, node: p.node, ips: p.ips, netns: p.netns, ...(p.owner === undefined ? {} : { owner: p.owner }) }));
  return {
    name: state.name,
    phase: state.phase,
    etcd: { endpoint: plan.etcd.endpoint, netns: plan.etcd.netns, running: etcd !== undefined && isRunning(etcd) },
    encapsulation: plan.encapsulation,
    external: { addresses: [plan.external.address4, plan.external.address6], netns: plan.external.netns },
    nodes,
    pods,
  };
}

export function formatStatus(s: LabStatus): string {
  const table = (rows: string[][]) => {
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
  };
  const lines = [`lab ${s.name} (${s.phase}), etcd ${s.etcd.endpoint} ${s.etcd.running ? 'running' : 'STOPPED'}, encapsulation ${s.encapsulation}, external host ${s.external.addresses.join(',')}`, ''];
  lines.push(table([['NODE', 'STATE', 'ADDRESSES', 'NETNS'], ...s.nodes.map((n) => [n.name, n.state, n.addresses.join(','), n.netns])]));
  lines.push('');
  lines.push(s.pods.length === 0 ? 'no pods' : table([['POD', 'NODE', 'IPS', 'OWNER'], ...s.pods.map((p) => [p.name, p.node, p.ips.join(','), p.owner ?? ''])]));
  return lines.join('\n');
}

export async function labProbe(name: string, probeBin: string, opts: ProbeOptions & { timeoutMs?: number }): Promise<ReachabilityMatrix> {
  const state = loadLab(name);
  const pods = sortPods(state.pods.map((p) => ({ ...p, id: `${p.namespace}/${p.name}` })));
  const targets = pods.map((p) => probeTarget(p, opts));
  const defined = targets.filter((t): t is string => t !== undefined);
  const answers = await Promise.all(
    pods.map(async (from) => {
      if (defined.length === 0) return [];
      const r = await runIn({ netns: from.netns }, [probeBin, 'connect', '--timeout-ms', String(opts.timeoutMs ?? 1000), ...defined]);
      return r.stdout.trim().split('\n');
    }),
  );
  return assembleMatrix(pods, targets, answers);
}

/** `tabby lab probe --ports … -o json`: one matrix per port/protocol pair, over the same pods. */
export interface PortsProbe {
  readonly pods: string[];
  readonly probes: (PortProtocol & { readonly matrix: boolean[][] })[];
}

export async function labProbePorts(name: string, probeBin: string, list: readonly PortProtocol[], opts: { family?: 4 | 6; timeoutMs?: number }): Promise<PortsProbe> {
  const state = loadLab(name);
  const pods = sortPods(state.pods.map((p) => ({ ...p, id: `${p.namespace}/${p.name}` })));
  const targets = list.map((pp) => pods.map((p) => probeTarget(p, { ...pp, ...(opts.family === undefined ? {} : { family: opts.family }) })));
  const defined = targets.map((ts) => ts.filter((t): t is string => t !== undefined));
  const all = defined.flat();
  const answers = await Promise.all(
    pods.map(async (from) => {
      if (all.length === 0) return [];
      const r = await runIn({ netns: from.netns }, [probeBin, 'connect', '--timeout-ms', String(opts.timeoutMs ?? 1000), ...all]);
      return r.stdout.trim().split('\n');
    }),
  );
  // Each source's lines are in argument order: the pairs' targets one after the other.
  let offset = 0;
  const probes = list.map((pp, k) => {
    const part = answers.map((lines) => lines.slice(offset, offset + defined[k]!.length));
    offset += defined[k]!.length;
    return { ...pp, matrix: assembleMatrix(pods, targets[k]!, part).matrix };
  });
  return { pods: pods.map((p) => p.id), probes };
}

export interface ExternalProbe {
  readonly pods: string[];
  readonly reached: boolean[];
  /** The source address the external host saw, per pod (null when not reached). */
  readonly seenSource: (string | null)[];
}

/**
 * Every pod tries the external host (TCP and UDP on `port`, both served by a probe server started
 * for the occasion with --tell-source); a pod reached it when both answered, and the address the
 * host saw is what NAT made of the pod's.
 */
export async function labProbeExternal(name: string, probeBin: string, opts: { port: number; family: 4 | 6; timeoutMs?: number }): Promise<ExternalProbe> {
  const state = loadLab(name);
  const ext = state.plan.external;
  const pods = sortPods(state.pods.map((p) => ({ ...p, id: `${p.namespace}/${p.name}` })));
  const host = opts.family === 4 ? ext.address4 : `[${ext.address6}]`;
  const server = spawn('ip', ['netns', 'exec', ext.netns, probeBin, 'serve', '--tell-source', '--tcp', String(opts.port), '--udp', String(opts.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      server.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready')) resolve();
      });
      server.stderr.on('data', (b: Buffer) => (err += b.toString()));
      server.on('exit', (code) => reject(new LabError('CommandFailed', `the external host's probe server exited (${code}): ${err.trim()}`)));
    });
    const answers = await Promise.all(
      pods.map(async (from) => {
        const r = await runIn({ netns: from.netns }, [probeBin, 'connect', '--timeout-ms', String(opts.timeoutMs ?? 1000), '--source', `tcp:${host}:${opts.port}`, `udp:${host}:${opts.port}`]);
        const [tcp = '', udp = ''] = r.stdout.trim().split('\n');
        const seen = /^ok (\S+)$/.exec(tcp)?.[1] ?? /^ok (\S+)$/.exec(udp)?.[1] ?? null;
        return { reached: tcp.startsWith('ok') && udp.startsWith('ok'), seen };
      }),
    );
    return { pods: pods.map((p) => p.id), reached: answers.map((a) => a.reached), seenSource: answers.map((a) => (a.reached ? a.seen : null)) };
  } finally {
    server.kill('SIGTERM');
  }
}

/** The namespaces of a node ("node-1"), a pod ("ns/name") or the external host ("external"). */
export function resolveTarget(state: LabState, target: string): { ns: NamespaceSet; isNode: boolean } {
  if (target === 'external') return { ns: { netns: state.plan.external.netns }, isNode: false };
  const tor = state.plan.tor;
  if (target === 'tor' && tor) return { ns: { netns: tor.netns, mountNs: tor.mountNs, utsNs: tor.utsNs }, isNode: false };
  if (target.includes('/')) {
    const pod = state.pods.find((p) => `${p.namespace}/${p.name}` === target);
    if (pod === undefined) throw new LabError('NotFound', `lab ${state.name} has no pod ${target} (pods: ${state.pods.map((p) => `${p.namespace}/${p.name}`).join(', ') || 'none'})`);
    return { ns: { netns: pod.netns }, isNode: false };
  }
  const node = state.plan.nodes.find((n) => n.name === target);
  if (node === undefined) throw new LabError('NotFound', `lab ${state.name} has no node ${target} (nodes: ${state.plan.nodes.map((n) => n.name).join(', ')}; a pod is NAMESPACE/NAME; the external host is "external")`);
  return { ns: nodeNamespaces(node), isNode: true };
}

/**
 * Runs `argv` inside a node's (network, mount, UTS) or a pod's (network) namespaces with the
 * caller's terminal; resolves with its exit status. In a node the datastore settings a node's
 * tools would have (ETCD_ENDPOINTS, DATASTORE_TYPE) are set unless the caller set them.
 */
export function labExec(name: string, target: string, argv: readonly string[]): Promise<number> {
  const state = loadLab(name);
  if (argv.length === 0) throw new LabError('InvalidArgument', 'exec needs a command after --, e.g. tabby lab exec node-1 -- ip route');
  const { ns, isNode } = resolveTarget(state, target);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (isNode) {
    env.ETCD_ENDPOINTS ??= state.plan.etcd.endpoint;
    env.DATASTORE_TYPE ??= 'etcdv3';
  }
  env.PATH = `${env.PATH ?? ''}:${SYSTEM_PATH}`;
  const [cmd, ...args] = [...inNamespaces(ns, process.cwd()), ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: 'inherit', env });
    child.on('error', (e) => reject(new LabError('CommandFailed', `cannot run ${argv.join(' ')} in ${target}: ${e.message}`)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
