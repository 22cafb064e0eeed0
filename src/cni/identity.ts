// Who a CNI request is for: the endpoint identity Calico derives from the CNI environment
// (calico-internals.md §5.2 steps 2 and 5), and the names that follow from it.
//
// - With K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS: orchestrator "k8s", WorkloadEndpoint
//   `<node>-k8s-<pod>-<ifname>` in the pod's namespace, host veth `cali` + sha1("<ns>.<pod>")[:11].
// - Otherwise orchestrator "cni": workload = container ID, WorkloadEndpoint
//   `<node>-cni-<containerID>-<ifname>` in namespace "default", host veth `cali` + containerID[:11].
// - IPAM handle `<network name>.<containerID>` either way.
// Pure.

import { createHash } from 'node:crypto';
import type { K8sIdentity } from './env.js';

export interface EndpointIdentity {
  readonly orchestrator: 'k8s' | 'cni';
  readonly node: string;
  readonly namespace: string;
  /** Pod name (k8s) — absent for the cni orchestrator. */
  readonly pod?: string;
  /** Workload name: the container ID for the cni orchestrator. */
  readonly workload: string;
  readonly endpoint: string;
  readonly containerId: string;
  readonly wepName: string;
  readonly hostIfname: string;
  readonly handleId: string;
}

/** Calico's WorkloadEndpoint name: segments joined by "-", each "-" inside a segment doubled. */
export function workloadEndpointName(segments: readonly string[]): string {
  return segments.map((s) => s.replace(/-/g, '--')).join('-');
}

/** Calico's host-side interface name for a workload (Felix computes the same name). */
export function hostInterfaceName(k8s: { namespace: string; pod: string } | undefined, containerId: string, prefix = 'cali'): string {
  if (k8s) return prefix + createHash('sha1').update(`${k8s.namespace}.${k8s.pod}`).digest('hex').slice(0, 11);
  return prefix + containerId.slice(0, 11);
}

export const ipamHandleId = (network: string, containerId: string): string => `${network}.${containerId}`;

export function endpointIdentity(opts: {
  node: string;
  network: string;
  containerId: string;
  ifname: string;
  k8s: K8sIdentity | undefined;
}): EndpointIdentity {
  const { node, network, containerId, ifname, k8s } = opts;
  const handleId = ipamHandleId(network, containerId);
  if (k8s) {
    return {
      orchestrator: 'k8s',
      node,
      namespace: k8s.namespace,
      pod: k8s.pod,
      workload: k8s.pod,
      endpoint: ifname,
      containerId,
      wepName: workloadEndpointName([node, 'k8s', k8s.pod, ifname]),
      hostIfname: hostInterfaceName(k8s, containerId),
      handleId,
    };
  }
  return {
    orchestrator: 'cni',
    node,
    namespace: 'default',
    workload: containerId,
    endpoint: ifname,
    containerId,
    wepName: workloadEndpointName([node, 'cni', containerId, ifname]),
    hostIfname: hostInterfaceName(undefined, containerId),
    handleId,
  };
}
