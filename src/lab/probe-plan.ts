// What `tabby lab probe` sends where, and how the answers become the reachability matrix.
//
// Pure. The matrix has the same shape as `tabbyctl policy matrix` (DESIGN.md §9): pods sorted as
// "ns/name", rows = from, columns = to. A target is one address of the destination pod (its
// primary address, or its first of the requested family) and one port: the one given, or the
// destination's first declared container port with that port's protocol. A pair with no target
// (no address of the family, no port, or a protocol the prober cannot speak) is false: nothing
// could be sent, so nothing was reached.
// Several port/protocol pairs can be probed in one round (`--ports 80/TCP,81/UDP`): each source
// pod sends to every target of every pair at once, and the answers are split back per pair.

import { LabError } from './errors.js';
import type { PodPort } from './state.js';

export type ProbeProtocol = 'TCP' | 'UDP';

export interface ProbeOptions {
  readonly port?: number;
  readonly protocol?: ProbeProtocol;
  readonly family?: 4 | 6;
}

export interface ProbePod {
  /** "ns/name" */
  readonly id: string;
  /** Addresses, primary (IPv4 when there is one) first. */
  readonly ips: readonly string[];
  readonly ports: readonly PodPort[];
}

export interface ReachabilityMatrix {
  readonly pods: string[];
  readonly matrix: boolean[][];
}

export function parseProbeProtocol(text: string): ProbeProtocol {
  const p = text.toUpperCase();
  if (p === 'TCP' || p === 'UDP') return p;
  throw new LabError('InvalidArgument', `--protocol ${text} is not supported by lab probes: use TCP or UDP`);
}

/** One port and protocol of a `--ports` list. */
export interface PortProtocol {
  readonly port: number;
  readonly protocol: ProbeProtocol;
}

/** Parses `--ports` text: "80/TCP,81/UDP" (protocol names in any case; no duplicates). */
export function parsePortList(text: string): PortProtocol[] {
  const out: PortProtocol[] = [];
  for (const item of text.split(',')) {
    const m = /^\s*([0-9]+)\/([A-Za-z]+)\s*$/.exec(item);
    const port = m === null ? NaN : Number(m[1]);
    if (m === null || !(port >= 1 && port <= 65535)) {
      throw new LabError('InvalidArgument', `--ports ${text}: "${item}" is not PORT/PROTOCOL with a port from 1 to 65535 (e.g. --ports 80/TCP,81/UDP)`);
    }
    const protocol = parseProbeProtocol(m[2]!);
    if (out.some((p) => p.port === port && p.protocol === protocol)) throw new LabError('InvalidArgument', `--ports ${text}: ${port}/${protocol} is given twice`);
    out.push({ port, protocol });
  }
  return out;
}

/** The prober's target text for `pod` ("tcp:10.244.0.5:80", "udp:[fd00::5]:53"), or undefined. */
export function probeTarget(pod: ProbePod, opts: ProbeOptions): string | undefined {
  const address = opts.family === undefined ? pod.ips[0] : pod.ips.find((a) => a.includes(':') === (opts.family === 6));
  if (address === undefined) return undefined;
  let port = opts.port;
  let protocol: string | undefined = opts.protocol;
  if (port === undefined) {
    const declared = opts.protocol === undefined ? pod.ports[0] : pod.ports.find((p) => p.protocol === opts.protocol);
    if (declared === undefined) return undefined;
    port = declared.port;
    protocol = declared.protocol;
  }
  protocol ??= 'TCP';
  if (protocol !== 'TCP' && protocol !== 'UDP') return undefined;
  const host = address.includes(':') ? `[${address}]` : address;
  return `${protocol.toLowerCase()}:${host}:${port}`;
}

/** Pods in matrix order. */
export function sortPods<P extends ProbePod>(pods: readonly P[]): P[] {
  return [...pods].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Builds the matrix from the prober's output: `answers[i]` holds, for source pod i, one line per
 * defined target in column order ("ok" or "fail ..."), as `tabby-probe connect` prints them.
 */
export function assembleMatrix(pods: readonly ProbePod[], targets: readonly (string | undefined)[], answers: readonly string[][]): ReachabilityMatrix {
  const matrix = pods.map((from, i) => {
    const lines = answers[i] ?? [];
    let next = 0;
    return targets.map((t) => {
      if (t === undefined) return false;
      const line = lines[next++];
      if (line === undefined) throw new LabError('CommandFailed', `prober in ${from.id} gave ${lines.length} answers for ${targets.filter(Boolean).length} targets`);
      return line === 'ok';
    });
  });
  return { pods: pods.map((p) => p.id), matrix };
}
