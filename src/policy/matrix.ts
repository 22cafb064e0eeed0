// The reachability matrix of `tabbyctl policy matrix` (DESIGN.md §9): for every ordered pair of
// pods, is a flow on one protocol and port allowed? Rows are sources, columns destinations; each
// cell is evaluateFlow's verdict, so the matrix and `policy explain` always agree.
//
// Pods are the Pod resources given (or, with none, the Kubernetes WorkloadEndpoints), sorted as
// "namespace/name"; each is addressed by its first address (status.podIP(s)). Loopback cells
// (a pod to itself) are evaluated like any other flow.

import type { PolicyGraph } from './graph.js';
import { evaluateFlow, type FlowVerdict } from './evaluate.js';
import type { EndpointIR } from './ir.js';

export interface MatrixPod {
  /** "namespace/name" */
  readonly name: string;
  readonly endpoint: string;
  readonly ip: string;
}

export interface Matrix {
  readonly pods: readonly string[];
  readonly matrix: readonly (readonly boolean[])[];
}

export class MatrixError extends Error {
  override readonly name = 'MatrixError';
  readonly code = 'Invalid';
}

/** The pods of the graph's workload endpoints, by "ns/pod", each with its first address. */
export function matrixPods(graph: PolicyGraph): MatrixPod[] {
  const pods: MatrixPod[] = [];
  const missing: string[] = [];
  for (const ep of graph.allEndpoints()) {
    if (ep.kind !== 'workload') continue;
    const name = `${ep.namespace}/${ep.pod ?? ep.name}`;
    const ip = firstAddress(ep);
    if (ip === undefined) missing.push(name);
    else pods.push({ name, endpoint: ep.id, ip });
  }
  if (missing.length > 0) {
    throw new MatrixError(`pod${missing.length > 1 ? 's' : ''} ${missing.sort().join(', ')} ha${missing.length > 1 ? 've' : 's'} no address: set status.podIP (or status.podIPs) to place ${missing.length > 1 ? 'them' : 'it'} in the matrix`);
  }
  return pods.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function firstAddress(ep: EndpointIR): string | undefined {
  const net = ep.nets[0];
  return net === undefined ? undefined : net.slice(0, net.indexOf('/'));
}

export interface MatrixQuery {
  readonly protocol: number;
  readonly port: number;
}

export function computeMatrix(graph: PolicyGraph, q: MatrixQuery, pods: readonly MatrixPod[] = matrixPods(graph)): Matrix {
  return {
    pods: pods.map((p) => p.name),
    matrix: pods.map((from) => pods.map((to) => cellVerdict(graph, q, from, to).allowed)),
  };
}

export function cellVerdict(graph: PolicyGraph, q: MatrixQuery, from: MatrixPod, to: MatrixPod): FlowVerdict {
  return evaluateFlow(graph, {
    src: { ip: from.ip, endpoint: from.endpoint },
    dst: { ip: to.ip, endpoint: to.endpoint, port: q.port },
    protocol: q.protocol,
  });
}

/** The `-o wide` text: a grid with ✓/✗ (rows from, columns to). */
export function renderMatrixWide(m: Matrix): string {
  const width = Math.max(4, ...m.pods.map((p) => p.length));
  const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - s.length));
  const header = pad('FROM \\ TO', width) + '  ' + m.pods.map((p) => pad(p, width)).join('  ');
  const rows = m.matrix.map((row, i) => pad(m.pods[i]!, width) + '  ' + row.map((c) => pad(c ? 'allow' : 'DENY', width)).join('  '));
  return [header.trimEnd(), ...rows.map((r) => r.trimEnd())].join('\n') + '\n';
}
