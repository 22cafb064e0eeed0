// Who a CNI request is for: the endpoint identity Calico derives from the CNI environment
// (calico-internals.md §5.2 steps 2 and 5), and the names that follow from it.
//
// - With K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS: orchestrator "k8s", WorkloadEndpoint
//   `<node>-k8s-<pod>-<ifname>` in the pod's namespace, host veth `cali` + sha1("<ns>.<pod>")[:11].
// - Otherwise orchestrator "cni": workload = container ID, WorkloadEndpoint
//   `<node>-cni-<containerID>-<ifname>` in namespace "default", host veth `cali` + containerID[:11].
// - IPAM handle `<network name>.<containerID>` either way.
// The naming rules themselves are the model's (src/model/convert/names.ts), shared with Felix's
// side of Tabby and with `tabbyctl policy`. Pure.

import { vethNameForContainer, vethNameForWorkload, workloadEndpointName } from '../model/index.js';
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
      wepName: workloadEndpointName({ node, orchestrator: 'k8s', pod: k8s.pod, endpoint: ifname }),
      hostIfname: vethNameForWorkload(k8s.namespace, k8s.pod),
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
    wepName: workloadEndpointName({ node, orchestrator: 'cni', containerID: containerId, endpoint: ifname }),
    hostIfname: vethNameForContainer(containerId),
    handleId,
  };
}
