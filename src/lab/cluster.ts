// The lab's view of its cluster datastore: the lab etcd, reached through the loopback bridge.
//
// Resources are stored as the BRIEF's decisions say: validated through the model, Calico kinds
// at Calico's keys and v1 Namespace / Pod / NetworkPolicy at the Kubernetes stand-in keys, each
// with `uid` and `creationTimestamp` (kept across updates) and never `resourceVersion`; a
// Namespace brings its Profile `kns.<ns>` and a Kubernetes NetworkPolicy its `knp.default.<name>`
// in the same transaction. At start the lab writes Calico's bootstrap objects, its default pools
// and the `default` namespace; as kubelet it writes a Pod's status back once its network is up
// (compare-and-swap, retried on a concurrent write).

import { randomUUID } from 'node:crypto';
import { type Datastore, type JsonValue, type TxnOp, isDatastoreError } from '../datastore/datastore.js';
import { EtcdDatastore } from '../datastore/etcd.js';
import {
  type K8sNetworkPolicy,
  type KindInfo,
  type Namespace,
  type ResourceObject,
  k8sNetworkPolicyToCalico,
  kindInfo,
  namespaceToProfile,
  resourceKey,
  validateResource,
} from '../model/index.js';
import { type EtcdBridge, openEtcdBridge } from './etcd-bridge.js';
import { LabError } from './errors.js';
import { DEFAULT_POOLS, type LabPlan } from './plan.js';

const CALICO = 'projectcalico.org/v3';
const timestamp = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const keyOf = (r: ResourceObject): string => {
  const kind = kindInfo(r.kind, r.apiVersion);
  return resourceKey(kind, kind.namespaced ? (r.metadata.namespace ?? 'default') : undefined, r.metadata.name ?? '');
};

/** The Calico objects written alongside a Kubernetes one (none for other kinds). */
function conversionsOf(r: ResourceObject): ResourceObject[] {
  const kind = kindInfo(r.kind, r.apiVersion);
  if (kind.kubernetes && kind.kind === 'Namespace') return [namespaceToProfile(r as unknown as Namespace) as unknown as ResourceObject];
  if (kind.kubernetes && kind.kind === 'NetworkPolicy') return [k8sNetworkPolicyToCalico(r as unknown as K8sNetworkPolicy) as unknown as ResourceObject];
  return [];
}

export interface PodStatus {
  readonly hostIP: string;
  readonly podIPs: readonly string[];
}

export class LabCluster {
  constructor(
    readonly datastore: Datastore,
    private readonly bridge: EtcdBridge,
  ) {}

  /**
   * Stores a validated resource (create or overwrite) with its conversions, in one transaction.
   * Returns the stored object and whether it was created.
   */
  async apply(resource: ResourceObject): Promise<{ stored: ResourceObject; created: boolean }> {
    const key = keyOf(resource);
    const prev = (await this.datastore.get(key))?.value as ResourceObject | undefined;
    const { resourceVersion: _rv, ...meta } = resource.metadata;
    const stored = {
      ...resource,
      metadata: { ...meta, uid: prev?.metadata.uid ?? meta.uid ?? randomUUID(), creationTimestamp: prev?.metadata.creationTimestamp ?? timestamp() },
      // Status belongs to whoever runs the object (the lab, as kubelet): an apply keeps it.
      ...(resource.status === undefined && prev?.status !== undefined ? { status: prev.status } : {}),
    } as ResourceObject;
    const ops: TxnOp[] = [stored, ...conversionsOf(stored)].map((r) => ({ op: 'put', key: keyOf(r), value: r as unknown as JsonValue }));
    await this.datastore.txn(ops);
    return { stored, created: prev === undefined };
  }

  /** Deletes a resource and its conversions; returns whether it existed. */
  async remove(kind: KindInfo, namespace: string | undefined, name: string): Promise<boolean> {
    const key = resourceKey(kind, kind.namespaced ? (namespace ?? 'default') : undefined, name);
    const kv = await this.datastore.get(key);
    if (kv === undefined) return false;
    const keys = [key, ...conversionsOf(kv.value as unknown as ResourceObject).map(keyOf)];
    const present = await Promise.all(keys.map((k) => this.datastore.get(k)));
    await this.datastore.txn(keys.filter((_, i) => present[i] !== undefined).map((k) => ({ op: 'delete', key: k })));
    return true;
  }

  async exists(kind: KindInfo, namespace: string | undefined, name: string): Promise<boolean> {
    return (await this.datastore.get(resourceKey(kind, namespace, name))) !== undefined;
  }

  /** Creates what is missing of Calico's bootstrap objects, the default pools and namespace; returns the pools. */
  async initialise(): Promise<string[]> {
    const wanted: unknown[] = [
      { apiVersion: CALICO, kind: 'ClusterInformation', metadata: { name: 'default' }, spec: { clusterGUID: randomUUID().replaceAll('-', ''), datastoreReady: true } },
      { apiVersion: CALICO, kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1_000_000, defaultAction: 'Deny' } },
      { apiVersion: CALICO, kind: 'Tier', metadata: { name: 'kube-admin' }, spec: { order: 1_000, defaultAction: 'Pass' } },
      { apiVersion: CALICO, kind: 'Tier', metadata: { name: 'kube-baseline' }, spec: { order: 10_000_000, defaultAction: 'Pass' } },
      ...DEFAULT_POOLS.map((p) => ({
        apiVersion: CALICO,
        kind: 'IPPool',
        metadata: { name: p.name },
        spec: { cidr: p.cidr, blockSize: p.blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: p.natOutgoing, nodeSelector: 'all()' },
      })),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    ];
    for (const doc of wanted) {
      const r = validateResource(doc, { source: 'tabby lab' });
      if (!(await this.datastore.get(keyOf(r)))) await this.apply(r);
    }
    return DEFAULT_POOLS.map((p) => `${p.cidr} (/${p.blockSize} blocks)`);
  }

  /** Stores a Pod bound to `nodeName` (what the scheduler's binding does); returns its uid. */
  async bindPod(pod: ResourceObject, nodeName: string): Promise<string> {
    const { stored } = await this.apply({ ...pod, spec: { ...(pod.spec as object), nodeName } });
    return stored.metadata.uid ?? '';
  }

  /** Writes the pod's network status as kubelet would (podIP = the first address). */
  async setPodStatus(namespace: string, name: string, status: PodStatus): Promise<void> {
    const key = resourceKey(kindInfo('Pod', 'v1'), namespace, name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.datastore.get(key);
      if (kv === undefined) throw new LabError('NotFound', `Pod ${namespace}/${name} disappeared from the datastore while it was being started`);
      const pod = kv.value as { status?: Record<string, unknown> };
      const next = {
        ...pod,
        status: {
          ...(pod.status ?? {}),
          phase: 'Running',
          hostIP: status.hostIP,
          hostIPs: [{ ip: status.hostIP }],
          ...(status.podIPs[0] === undefined ? {} : { podIP: status.podIPs[0] }),
          podIPs: status.podIPs.map((ip) => ({ ip })),
        },
      };
      try {
        await this.datastore.update(key, next as JsonValue, kv.revision);
        return;
      } catch (e) {
        if (!isDatastoreError(e, 'Conflict')) throw e;
      }
    }
    throw new LabError('CommandFailed', `could not write the status of Pod ${namespace}/${name}: it kept changing underneath`);
  }

  async close(): Promise<void> {
    await this.datastore.close();
    await this.bridge.close();
  }
}

export async function openCluster(plan: LabPlan): Promise<LabCluster> {
  const bridge = await openEtcdBridge(plan.etcd.socket);
  return new LabCluster(new EtcdDatastore({ endpoints: [bridge.endpoint] }), bridge);
}
