// From a set of resources (manifest files, a datastore listing) to a calculation graph, and from
// the CLI's "NS/POD" or "IP" words to flow peers.
//
// Pods name their namespace; a manifest set that leaves a Namespace out would, in Calico, leave
// the pod with a missing kns.<ns> profile (deny everything, fail closed). Kubernetes cannot have
// a pod without its namespace, so for offline analysis the missing Namespaces are supplied
// (with only the kubernetes.io/metadata.name label), and the caller is told which.

import { formatIP, tryParseIP } from '../ip/index.js';
import type { ResourceObject } from '../model/index.js';
import type { FlowPeer } from './evaluate.js';
import type { GraphEvent } from './events.js';
import { PolicyGraph } from './graph.js';
import { inputKind, updateFor } from './input.js';

export interface LoadedGraph {
  readonly graph: PolicyGraph;
  readonly problems: readonly string[];
  /** Namespaces some pod or network set refers to that no Namespace resource described. */
  readonly suppliedNamespaces: readonly string[];
}

export function graphFromResources(resources: readonly ResourceObject[]): LoadedGraph {
  const graph = new PolicyGraph();
  const declared = new Set(resources.filter((r) => r.kind === 'Namespace').map((r) => r.metadata.name ?? ''));
  const needed = new Set<string>();
  for (const r of resources) {
    const kind = inputKind(r.kind, r.apiVersion);
    if (kind === 'Pod' || kind === 'NetworkSet' || kind === 'WorkloadEndpoint') needed.add(r.metadata.namespace ?? 'default');
  }
  const supplied = [...needed].filter((n) => !declared.has(n)).sort();
  const namespaces: ResourceObject[] = supplied.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {} }));
  const events: GraphEvent[] = graph.apply([...namespaces, ...resources].map(updateFor));
  const problems = events.flatMap((e) => (e.type === 'problem' ? [`${e.kind} ${e.key}: ${e.message}`] : []));
  for (const p of graph.allPolicies()) problems.push(...p.problems);
  return { graph, problems, suppliedNamespaces: supplied };
}

export class PeerError extends Error {
  override readonly name = 'PeerError';
  readonly code = 'Invalid';
}

/** "NS/POD" (a pod's first address) or an IP address (its endpoint, if any, is found by address). */
export function resolvePeerWord(graph: PolicyGraph, word: string, what: string): FlowPeer {
  const ip = tryParseIP(word);
  if (ip !== undefined) return { ip: formatIP(ip) };
  const slash = word.indexOf('/');
  if (slash <= 0 || slash === word.length - 1 || word.indexOf('/', slash + 1) >= 0) {
    throw new PeerError(`${what} ${JSON.stringify(word)} is neither NAMESPACE/POD nor an IP address`);
  }
  const ns = word.slice(0, slash);
  const pod = word.slice(slash + 1);
  const matches = [...graph.allEndpoints()].filter((e) => e.kind === 'workload' && e.namespace === ns && (e.pod ?? e.name) === pod);
  if (matches.length === 0) throw new PeerError(`${what} ${word}: no pod ${pod} in namespace ${ns} among the resources`);
  const ep = matches[0]!;
  const net = ep.nets[0];
  if (net === undefined) throw new PeerError(`${what} ${word} has no address (status.podIP is not set)`);
  return { ip: net.slice(0, net.indexOf('/')), endpoint: ep.id };
}

/**
 * A host endpoint named on the command line (`NAME` or `hep/NAME`) → its engine ID. `what` names
 * the flag in the error.
 */
export function resolveHostEndpointWord(graph: PolicyGraph, word: string, what: string): string {
  const id = word.startsWith('hep/') ? word : `hep/${word}`;
  const ep = graph.endpoint(id);
  if (ep === undefined || ep.kind !== 'host') {
    const known = [...graph.allEndpoints()].filter((e) => e.kind === 'host').map((e) => e.name);
    throw new PeerError(`${what} ${JSON.stringify(word)}: no HostEndpoint of that name among the resources${known.length === 0 ? ' (there are none)' : ` (known: ${known.sort().join(', ')})`}`);
  }
  return id;
}

/**
 * Where DNAT sends a flow, from the command line: `IP`, `IP:PORT`, `[IPv6]:PORT`,
 * `NAMESPACE/POD` or `NAMESPACE/POD:PORT`.
 */
export function resolveDnatWord(graph: PolicyGraph, word: string, what: string): { ip: string; port?: number } {
  const bad = (why: string): PeerError => new PeerError(`${what} ${JSON.stringify(word)} ${why}; use IP, IP:PORT, [IPv6]:PORT, NAMESPACE/POD or NAMESPACE/POD:PORT`);
  let host = word;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(word);
  if (bracket !== null) {
    host = bracket[1]!;
    portText = bracket[2];
  } else if (tryParseIP(word) === undefined && word.lastIndexOf(':') > 0) {
    host = word.slice(0, word.lastIndexOf(':'));
    portText = word.slice(word.lastIndexOf(':') + 1);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad(`has port ${JSON.stringify(portText)}, not 1–65535`);
  }
  const ip = tryParseIP(host);
  if (ip !== undefined) return { ip: formatIP(ip), ...(port === undefined ? {} : { port }) };
  if (bracket !== null) throw bad('has no IPv6 address in brackets');
  const peer = resolvePeerWord(graph, host, what);
  return { ip: peer.ip, ...(port === undefined ? {} : { port }) };
}
