// Resources that selectors select → EndpointIR, and Namespaces → their kns.<ns> Profile.
//
// - Pod: converted exactly as Calico's Kubernetes datastore does (model's podToWorkloadEndpoint);
//   a host-networked pod is not a Calico endpoint. A pod not yet scheduled (offline manifests
//   often have no spec.nodeName) is kept with node "unscheduled" so `policy matrix` can reason
//   about it; its ID is the WorkloadEndpoint name that conversion gives.
// - WorkloadEndpoint: as stored (the CNI plugin's record wins over the pod it was made from:
//   same ID, see graph.ts; labels still follow the pod).
// - HostEndpoint: expectedIPs are its addresses (what selector IP sets hold), labels, profiles,
//   named ports.
// - NetworkSet: labels plus projectcalico.org/namespace, and the kns.<ns> profile as parent, so
//   namespaceSelectors reach it; GlobalNetworkSet: labels only (selected with global()).
// - Namespace: kns.<ns> with the pcns. labels (model's namespaceToProfile, which adds the API
//   server's kubernetes.io/metadata.name label).

import { formatCIDR, parseCIDR } from '../ip/index.js';
import {
  type GlobalNetworkSet,
  type HostEndpoint,
  type Namespace,
  type NetworkSet,
  type Pod,
  type Profile,
  type WorkloadEndpoint,
  namespaceToProfile,
  podToWorkloadEndpoint,
  protocolNumber,
} from '../model/index.js';
import { LABEL_NAMESPACE } from './compile-rules.js';
import type { EndpointIR, NamedPort } from './ir.js';

export const UNSCHEDULED_NODE = 'unscheduled';

function hostNets(values: readonly string[] | undefined): string[] {
  return (values ?? []).map((v) => formatCIDR(parseCIDR(v, { lenient: true })));
}

function namedPorts(ports: readonly { name?: string | undefined; protocol: number | string; port: number }[] | undefined): NamedPort[] {
  const out: NamedPort[] = [];
  for (const p of ports ?? []) {
    const protocol = protocolNumber(p.protocol);
    if ((p.name ?? '') === '' || protocol === undefined) continue;
    out.push({ name: p.name!, protocol, port: p.port });
  }
  return out;
}

export const workloadEndpointId = (namespace: string, name: string): string => `wep/${namespace}/${name}`;

export function workloadEndpointIR(w: WorkloadEndpoint): EndpointIR {
  const namespace = w.metadata.namespace ?? 'default';
  const name = w.metadata.name ?? '';
  return {
    id: workloadEndpointId(namespace, name),
    kind: 'workload',
    name,
    namespace,
    ...(w.spec.node === undefined ? {} : { node: w.spec.node }),
    labels: Object.freeze({ ...(w.metadata.labels ?? {}) }),
    profiles: [...(w.spec.profiles ?? [])],
    nets: hostNets(w.spec.ipNetworks),
    ports: namedPorts(w.spec.ports),
    ...(w.spec.pod === undefined ? {} : { pod: w.spec.pod }),
    ...(w.spec.interfaceName === undefined ? {} : { interfaceName: w.spec.interfaceName }),
  };
}

/** The endpoint a pod becomes, or undefined for a host-networked pod. */
export function podEndpointIR(pod: Pod): EndpointIR | undefined {
  if (pod.spec.hostNetwork === true) return undefined;
  const node = (pod.spec.nodeName ?? '') === '' ? UNSCHEDULED_NODE : pod.spec.nodeName!;
  return workloadEndpointIR(podToWorkloadEndpoint(pod, { node }));
}

export function hostEndpointIR(h: HostEndpoint): EndpointIR {
  const name = h.metadata.name ?? '';
  return {
    id: `hep/${name}`,
    kind: 'host',
    name,
    ...(h.spec.node === undefined ? {} : { node: h.spec.node }),
    labels: Object.freeze({ ...(h.metadata.labels ?? {}) }),
    profiles: [...(h.spec.profiles ?? [])],
    nets: hostNets(h.spec.expectedIPs),
    ports: namedPorts(h.spec.ports),
    ...(h.spec.interfaceName === undefined ? {} : { interfaceName: h.spec.interfaceName }),
  };
}

export function networkSetIR(s: NetworkSet): EndpointIR {
  const namespace = s.metadata.namespace ?? 'default';
  const name = s.metadata.name ?? '';
  return {
    id: `netset/${namespace}/${name}`,
    kind: 'networkset',
    name,
    namespace,
    labels: Object.freeze({ ...(s.metadata.labels ?? {}), [LABEL_NAMESPACE]: namespace }),
    profiles: [`kns.${namespace}`],
    nets: hostNets(s.spec.nets),
    ports: [],
  };
}

export function globalNetworkSetIR(s: GlobalNetworkSet): EndpointIR {
  const name = s.metadata.name ?? '';
  return { id: `gnetset/${name}`, kind: 'networkset', name, labels: Object.freeze({ ...(s.metadata.labels ?? {}) }), profiles: [], nets: hostNets(s.spec.nets), ports: [] };
}

export function namespaceProfile(ns: Namespace): Profile {
  return namespaceToProfile(ns);
}
