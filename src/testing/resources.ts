// Resource fixtures for IPAM, CNI, controller and tabbyctl tests: write IPPools, IPReservations,
// Nodes and WorkloadEndpoints the way tabbyctl/the CNI would store them (v3 JSON under Calico's
// keys). Test support only.

import type { Datastore } from '../datastore/index.js';
import { STORED } from '../model/index.js';
import type { JsonValue } from '../util/index.js';

const meta = (name: string, extra: Record<string, JsonValue> = {}) => ({
  name,
  uid: `uid-${name}`,
  creationTimestamp: '2024-01-01T00:00:00Z',
  ...extra,
});

export async function putPool(ds: Datastore, name: string, spec: Record<string, JsonValue>): Promise<void> {
  await ds.put(`${STORED.IPPool.keyPrefix}${name}`, { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: meta(name), spec });
}

export async function putReservation(ds: Datastore, name: string, reservedCIDRs: string[]): Promise<void> {
  await ds.put(`${STORED.IPReservation.keyPrefix}${name}`, { apiVersion: 'projectcalico.org/v3', kind: 'IPReservation', metadata: meta(name), spec: { reservedCIDRs } });
}

export async function putNode(ds: Datastore, name: string, labels: Record<string, string> = {}): Promise<void> {
  await ds.put(`${STORED.Node.keyPrefix}${name}`, { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: meta(name, { labels }), spec: {} });
}

export function wepName(node: string, pod: string): string {
  const esc = (s: string) => s.replace(/-/g, '--');
  return `${esc(node)}-k8s-${esc(pod)}-eth0`;
}

export function wepKey(namespace: string, node: string, pod: string): string {
  return `${STORED.WorkloadEndpoint.keyPrefix}${namespace}/${wepName(node, pod)}`;
}

export async function putWorkloadEndpoint(ds: Datastore, namespace: string, node: string, pod: string, ips: string[]): Promise<string> {
  const name = wepName(node, pod);
  const key = wepKey(namespace, node, pod);
  await ds.put(key, {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: meta(name, { namespace }),
    spec: {
      orchestrator: 'k8s',
      node,
      pod,
      endpoint: 'eth0',
      interfaceName: 'cali0000000000',
      ipNetworks: ips.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
    },
  });
  return key;
}
