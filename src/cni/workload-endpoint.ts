// The WorkloadEndpoint a CNI ADD writes and a DEL removes (calico-internals.md §5.2 step 4 and
// 8, §5.3), and the Kubernetes objects it is built from (Tabby's stand-in keys for the API
// server, `/tabby/k8s/core/pods/<ns>/<name>` and `/tabby/k8s/core/namespaces/<name>`).
//
// Invariants: the WEP carries the pod's labels plus projectcalico.org/namespace,
// projectcalico.org/orchestrator (and projectcalico.org/serviceaccount for pods), the pod's named
// ports, and profiles [kns.<ns>, ksa.<ns>.<sa>] under `policy.type: k8s`, else [<network>].
// A DEL never removes a WEP that a newer sandbox (different containerID) has rewritten.

import { randomUUID } from 'node:crypto';
import { type Datastore, type JsonValue, type KVPair, isDatastoreError } from '../datastore/datastore.js';
import type { EndpointIdentity } from './identity.js';

export const WEP_PREFIX = '/calico/resources/v3/projectcalico.org/workloadendpoints/';
export const POD_PREFIX = '/tabby/k8s/core/pods/';
export const NAMESPACE_PREFIX = '/tabby/k8s/core/namespaces/';

export const wepKey = (namespace: string, name: string): string => `${WEP_PREFIX}${namespace}/${name}`;

type Obj = { [key: string]: JsonValue };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strMap = (v: unknown): Record<string, string> =>
  isObj(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};

export interface NamedPort {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
  readonly hostPort?: number;
  readonly hostIP?: string;
}

/** What the CNI path needs from a v1 Pod. */
export interface PodInfo {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly serviceAccountName: string;
  readonly ports: NamedPort[];
}

export interface NamespaceInfo {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export function podInfoFromObject(pod: JsonValue): PodInfo {
  const meta = isObj(pod) && isObj(pod.metadata) ? pod.metadata : {};
  const spec = isObj(pod) && isObj(pod.spec) ? pod.spec : {};
  const ports: NamedPort[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const c of containers) {
    if (!isObj(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isObj(p) || typeof p.name !== 'string' || p.name === '' || typeof p.containerPort !== 'number') continue;
      ports.push({
        name: p.name,
        protocol: typeof p.protocol === 'string' ? p.protocol.toUpperCase() : 'TCP',
        port: p.containerPort,
        ...(typeof p.hostPort === 'number' && p.hostPort > 0 ? { hostPort: p.hostPort } : {}),
        ...(typeof p.hostIP === 'string' && p.hostIP !== '' ? { hostIP: p.hostIP } : {}),
      });
    }
  }
  const sa = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '' ? spec.serviceAccountName : 'default';
  return { labels: strMap(meta.labels), annotations: strMap(meta.annotations), serviceAccountName: sa, ports };
}

export function namespaceInfoFromObject(ns: JsonValue): NamespaceInfo {
  const meta = isObj(ns) && isObj(ns.metadata) ? ns.metadata : {};
  return { labels: strMap(meta.labels), annotations: strMap(meta.annotations) };
}

export async function readPod(ds: Datastore, namespace: string, name: string): Promise<PodInfo | undefined> {
  const kv = await ds.get(`${POD_PREFIX}${namespace}/${name}`);
  return kv ? podInfoFromObject(kv.value) : undefined;
}

export async function readNamespace(ds: Datastore, name: string): Promise<NamespaceInfo | undefined> {
  const kv = await ds.get(`${NAMESPACE_PREFIX}${name}`);
  return kv ? namespaceInfoFromObject(kv.value) : undefined;
}

export interface WorkloadEndpointInput {
  readonly id: EndpointIdentity;
  readonly network: string;
  readonly policyType?: string;
  readonly pod?: PodInfo;
  readonly ipNetworks: readonly string[];
  readonly mac: string;
}

/** The WEP's labels, spec and profiles for an ADD (metadata identity is added on write). */
export function workloadEndpointSpec(input: WorkloadEndpointInput): { labels: Record<string, string>; spec: Obj } {
  const { id, pod } = input;
  const k8sPolicy = input.policyType === 'k8s' && id.orchestrator === 'k8s';
  const sa = pod?.serviceAccountName ?? 'default';
  const labels: Record<string, string> = {
    ...(k8sPolicy ? pod?.labels : {}),
    'projectcalico.org/namespace': id.namespace,
    'projectcalico.org/orchestrator': id.orchestrator,
    ...(k8sPolicy ? { 'projectcalico.org/serviceaccount': sa } : {}),
  };
  const spec: Obj = {
    orchestrator: id.orchestrator,
    ...(id.orchestrator === 'cni' ? { workload: id.workload } : {}),
    node: id.node,
    containerID: id.containerId,
    ...(id.pod !== undefined ? { pod: id.pod } : {}),
    endpoint: id.endpoint,
    ...(k8sPolicy ? { serviceAccountName: sa } : {}),
    ipNetworks: [...input.ipNetworks],
    profiles: k8sPolicy ? [`kns.${id.namespace}`, `ksa.${id.namespace}.${sa}`] : [input.network],
    interfaceName: id.hostIfname,
    mac: input.mac,
  };
  if (k8sPolicy && pod && pod.ports.length > 0) spec.ports = pod.ports.map((p) => ({ ...p }));
  return { labels, spec };
}

export interface StoredWorkloadEndpoint {
  readonly kv: KVPair;
  readonly containerId?: string;
  readonly ipNetworks: string[];
  readonly mac?: string;
}

export type WepRef = Pick<EndpointIdentity, 'namespace' | 'wepName' | 'containerId'>;

export async function readWorkloadEndpoint(ds: Datastore, id: WepRef): Promise<StoredWorkloadEndpoint | undefined> {
  const kv = await ds.get(wepKey(id.namespace, id.wepName));
  if (!kv) return undefined;
  const spec = isObj(kv.value) && isObj(kv.value.spec) ? kv.value.spec : {};
  const nets = Array.isArray(spec.ipNetworks) ? spec.ipNetworks.filter((n): n is string => typeof n === 'string') : [];
  return {
    kv,
    ...(typeof spec.containerID === 'string' ? { containerId: spec.containerID } : {}),
    ipNetworks: nets,
    ...(typeof spec.mac === 'string' ? { mac: spec.mac } : {}),
  };
}

/** Creates the WEP, or rewrites it (keeping uid and creationTimestamp), with CAS retries. */
export async function writeWorkloadEndpoint(ds: Datastore, input: WorkloadEndpointInput, now: () => Date = () => new Date()): Promise<KVPair> {
  const key = wepKey(input.id.namespace, input.id.wepName);
  const { labels, spec } = workloadEndpointSpec(input);
  for (let attempt = 1; ; attempt++) {
    const existing = await ds.get(key);
    const oldMeta = existing && isObj(existing.value) && isObj(existing.value.metadata) ? existing.value.metadata : {};
    const value: Obj = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: {
        name: input.id.wepName,
        namespace: input.id.namespace,
        labels,
        uid: typeof oldMeta.uid === 'string' ? oldMeta.uid : randomUUID(),
        creationTimestamp: typeof oldMeta.creationTimestamp === 'string' ? oldMeta.creationTimestamp : now().toISOString().replace(/\.\d+Z$/, 'Z'),
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
