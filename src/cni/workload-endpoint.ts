// The WorkloadEndpoint a CNI ADD writes and a DEL removes (calico-internals.md §5.2 step 4 and
// 8, §5.3), and the Kubernetes objects it is built from (Tabby's stand-in keys for the API
// server, `/tabby/k8s/core/pods/<ns>/<name>` and `/tabby/k8s/core/namespaces/<name>`).
//
// Invariants: under `policy.type: k8s` a pod's WEP is the model's Pod → WorkloadEndpoint
// conversion (pod labels plus projectcalico.org/namespace, /orchestrator, /serviceaccount; named
// ports; profiles [kns.<ns>, ksa.<ns>.<sa>]) — the same one `tabbyctl policy` computes offline —
// with this ADD's container ID, addresses, MAC and veth. Otherwise (no K8s policy, or a plain CNI
// workload) it carries only the namespace/orchestrator labels and the profile [<network>], and
// the ADD creates that profile when it is missing, as Calico's CNI plugin does: ingress allowed
// from endpoints of the same network (`has(<network>)`, the label the profile applies), egress
// allowed. An existing profile of that name is never changed.
// A DEL never removes a WEP that a newer sandbox (different containerID) has rewritten.

import { randomUUID } from 'node:crypto';
import { type Datastore, type JsonValue, type KVPair, isDatastoreError } from '../datastore/index.js';
import {
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  type Pod,
  STORED,
  type WorkloadEndpoint,
  decodeStored,
  podToWorkloadEndpoint,
  resourceKey,
  validateResource,
  workloadEndpointKey,
} from '../model/index.js';
import { getStored } from '../client/index.js';
import type { EndpointIdentity } from './identity.js';

export const WEP_PREFIX = STORED.WorkloadEndpoint.keyPrefix;
export const wepKey = workloadEndpointKey;

type Obj = { [key: string]: JsonValue };

/** What the CNI path needs from a v1 Pod. */
export interface PodInfo {
  /** The stored v1 Pod, for the model's conversion. */
  readonly object: Pod;
  /** Where pool choice (ipv4pools, ipv6pools) and fixed addresses (ipAddrs) come from. */
  readonly annotations: Record<string, string>;
}

export interface NamespaceInfo {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export function podInfoFromObject(pod: Pod): PodInfo {
  return { object: pod, annotations: { ...(pod.metadata.annotations ?? {}) } };
}

export async function readPod(ds: Datastore, namespace: string, name: string): Promise<PodInfo | undefined> {
  const found = await getStored(ds, STORED.Pod, name, namespace);
  return found ? podInfoFromObject(found.value) : undefined;
}

export async function readNamespace(ds: Datastore, name: string): Promise<NamespaceInfo | undefined> {
  const found = await getStored(ds, STORED.Namespace, name);
  if (!found) return undefined;
  const { metadata } = found.value;
  return { labels: { ...(metadata.labels ?? {}) }, annotations: { ...(metadata.annotations ?? {}) } };
}

export interface WorkloadEndpointInput {
  readonly id: EndpointIdentity;
  readonly network: string;
  readonly policyType?: string;
  readonly pod?: PodInfo;
  readonly ipNetworks: readonly string[];
  readonly mac: string;
}

/** The WEP's labels and spec for an ADD (metadata identity is added on write). Pure. */
export function workloadEndpointSpec(input: WorkloadEndpointInput): { labels: Record<string, string>; spec: Obj } {
  const { id } = input;
  if (input.policyType === 'k8s' && id.orchestrator === 'k8s' && id.pod !== undefined) {
    // A pod the datastore does not know yet still gets its identity (and the kns. profile).
    const pod: Pod = input.pod?.object ?? ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: id.pod, namespace: id.namespace }, spec: {} } as unknown as Pod);
    const wep = podToWorkloadEndpoint(
      { ...pod, metadata: { ...pod.metadata, name: id.pod, namespace: id.namespace } },
      { node: id.node, endpoint: id.endpoint, containerID: id.containerId, interfaceName: id.hostIfname, ipNetworks: input.ipNetworks, mac: input.mac },
    );
    return { labels: { ...(wep.metadata.labels ?? {}) }, spec: wep.spec as unknown as Obj };
  }
  const spec: Obj = {
    orchestrator: id.orchestrator,
    ...(id.orchestrator === 'cni' ? { workload: id.workload } : { pod: id.workload }),
    node: id.node,
    containerID: id.containerId,
    endpoint: id.endpoint,
    ipNetworks: [...input.ipNetworks],
    profiles: [input.network],
    interfaceName: id.hostIfname,
    mac: input.mac,
  };
  return { labels: { [LABEL_NAMESPACE]: id.namespace, [LABEL_ORCHESTRATOR]: id.orchestrator }, spec };
}

export interface StoredWorkloadEndpoint {
  readonly kv: KVPair;
  readonly containerId?: string;
  readonly ipNetworks: string[];
  readonly mac?: string;
}

export type WepRef = Pick<EndpointIdentity, 'namespace' | 'wepName' | 'containerId'>;

export async function readWorkloadEndpoint(ds: Datastore, id: WepRef): Promise<StoredWorkloadEndpoint | undefined> {
  const found = await getStored(ds, STORED.WorkloadEndpoint, id.wepName, id.namespace);
  if (!found) return undefined;
  const { spec } = found.value;
  return {
    kv: found.kv,
    ...(spec.containerID !== undefined ? { containerId: spec.containerID } : {}),
    ipNetworks: [...(spec.ipNetworks ?? [])],
    ...(spec.mac !== undefined ? { mac: spec.mac } : {}),
  };
}

/** Whether this ADD's WEP carries the network's own profile (not the Kubernetes kns./ksa. ones). */
export function usesNetworkProfile(input: Pick<WorkloadEndpointInput, 'id' | 'policyType'>): boolean {
  return !(input.policyType === 'k8s' && input.id.orchestrator === 'k8s' && input.id.pod !== undefined);
}

/** The profile Calico's CNI plugin creates for a plain network: same-network ingress, any egress. */
export function networkProfile(network: string): Obj {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: network },
    spec: {
      ingress: [{ action: 'Allow', source: { selector: `has(${network})` } }],
      egress: [{ action: 'Allow' }],
      labelsToApply: { [network]: '' },
    },
  };
}

/**
 * Creates profile <network> unless one exists. A network name that cannot be a profile name or a
 * label key is an error naming it (the workload would otherwise be isolated without a reason).
 */
export async function ensureNetworkProfile(ds: Datastore, network: string, now: () => Date = () => new Date()): Promise<'exists' | 'created'> {
  const key = resourceKey(STORED.Profile, undefined, network);
  if (await ds.get(key)) return 'exists';
  const value = networkProfile(network);
  try {
    validateResource(value, { source: `the CNI network "${network}"` });
  } catch (err) {
    throw new Error(`network "${network}" cannot name its Calico profile: ${(err as Error).message}`, { cause: err });
  }
  (value.metadata as Obj).uid = randomUUID();
  (value.metadata as Obj).creationTimestamp = now().toISOString().replace(/\.\d+Z$/, 'Z');
  try {
    await ds.create(key, value);
    return 'created';
  } catch (err) {
    if (isDatastoreError(err, 'AlreadyExists')) return 'exists';
    throw err;
  }
}

/** Creates the WEP, or rewrites it (keeping uid and creationTimestamp), with CAS retries. */
export async function writeWorkloadEndpoint(ds: Datastore, input: WorkloadEndpointInput, now: () => Date = () => new Date()): Promise<KVPair> {
  const key = wepKey(input.id.namespace, input.id.wepName);
  const { labels, spec } = workloadEndpointSpec(input);
  if (usesNetworkProfile(input)) await ensureNetworkProfile(ds, input.network, now);
  for (let attempt = 1; ; attempt++) {
    // Most ADDs make a new WEP: try a plain create first and read only when one is there.
    const existing = attempt === 1 ? undefined : await ds.get(key);
    const oldMeta: WorkloadEndpoint['metadata'] = existing ? decodeStored(STORED.WorkloadEndpoint, key, existing.value).metadata : {};
    const value: Obj = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: {
        name: input.id.wepName,
        namespace: input.id.namespace,
        labels,
        uid: oldMeta.uid ?? randomUUID(),
        creationTimestamp: oldMeta.creationTimestamp ?? now().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      spec,
    };
    try {
      return existing ? await ds.update(key, value, existing.revision) : await ds.create(key, value);
    } catch (err) {
      if (attempt < 5 && (isDatastoreError(err, 'Conflict') || isDatastoreError(err, 'AlreadyExists') || isDatastoreError(err, 'NotFound'))) continue;
      throw err;
    }
  }
}

/**
 * Deletes the WEP if it still belongs to `containerId` (or records none). Returns "deleted",
 * "absent", or "kept" when a newer sandbox owns it.
 */
export async function deleteWorkloadEndpoint(ds: Datastore, id: WepRef): Promise<'deleted' | 'absent' | 'kept'> {
  for (let attempt = 1; ; attempt++) {
    const wep = await readWorkloadEndpoint(ds, id);
    if (!wep) return 'absent';
    if (wep.containerId !== undefined && wep.containerId !== '' && wep.containerId !== id.containerId) return 'kept';
    try {
      await ds.delete(wep.kv.key, wep.kv.revision);
      return 'deleted';
    } catch (err) {
      if (isDatastoreError(err, 'NotFound')) return 'absent';
      if (attempt < 5 && isDatastoreError(err, 'Conflict')) continue;
      throw err;
    }
  }
}
