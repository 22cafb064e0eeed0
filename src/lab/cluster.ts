// The lab's view of its cluster datastore: the lab etcd, reached through the loopback bridge.
//
// Bootstrap (ClusterInformation, tiers) and the default pools are written when the lab starts;
// resources applied to the lab are stored as the BRIEF's decisions say (Calico kinds at Calico's
// keys, v1 Namespace and Pod at the Kubernetes stand-in keys), and the lab, as kubelet, writes a
// Pod's status back once its network is up (compare-and-swap, retried on a concurrent write).

import { randomUUID } from 'node:crypto';
import { type Datastore, type JsonValue, isDatastoreError } from '../datastore/datastore.js';
import { EtcdDatastore } from '../datastore/etcd.js';
import { type EtcdBridge, openEtcdBridge } from './etcd-bridge.js';
import { LabError } from './errors.js';
import { DEFAULT_POOLS, type LabPlan } from './plan.js';

type Obj = Record<string, unknown>;
const CALICO = 'projectcalico.org/v3';
const calicoKey = (plural: string, name: string, namespace?: string) =>
  `/calico/resources/v3/projectcalico.org/${plural}/${namespace === undefined ? '' : `${namespace}/`}${name}`;
export const podKey = (namespace: string, name: string): string => `/tabby/k8s/core/pods/${namespace}/${name}`;
export const namespaceKey = (name: string): string => `/tabby/k8s/core/namespaces/${name}`;

const timestamp = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A resource as stored: metadata gains uid and creationTimestamp, never resourceVersion. */
function stored(obj: Obj, previous?: Obj): JsonValue {
  const meta = { ...(obj.metadata as Obj) };
  delete meta.resourceVersion;
  const prevMeta = (previous?.metadata ?? {}) as Obj;
  meta.uid = prevMeta.uid ?? meta.uid ?? randomUUID();
  meta.creationTimestamp = prevMeta.creationTimestamp ?? timestamp();
  return { ...obj, metadata: meta } as JsonValue;
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

  /** Creates `key` with `obj` unless it exists; returns whether it created it. */
  private async ensure(key: string, obj: Obj): Promise<boolean> {
    try {
      await this.datastore.create(key, stored(obj));
      return true;
    } catch (e) {
      if (isDatastoreError(e, 'AlreadyExists')) return false;
      throw e;
    }
  }

  /** ClusterInformation, tiers, the default pools and the `default` namespace; returns the pools' descriptions. */
  async initialise(): Promise<string[]> {
    await this.ensure(calicoKey('clusterinformations', 'default'), {
      apiVersion: CALICO,
      kind: 'ClusterInformation',
      metadata: { name: 'default' },
      spec: { clusterGUID: randomUUID().replaceAll('-', ''), datastoreReady: true, clusterType: 'tabby-lab' },
    });
    for (const [name, order, defaultAction] of [['default', 1_000_000, 'Deny'], ['kube-admin', 1_000, 'Pass'], ['kube-baseline', 10_000_000, 'Pass']] as const) {
      await this.ensure(calicoKey('tiers', name), { apiVersion: CALICO, kind: 'Tier', metadata: { name }, spec: { order, defaultAction } });
    }
    for (const p of DEFAULT_POOLS) {
      await this.ensure(calicoKey('ippools', p.name), {
        apiVersion: CALICO,
        kind: 'IPPool',
        metadata: { name: p.name },
        spec: { cidr: p.cidr, blockSize: p.blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: p.natOutgoing, nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'] },
      });
    }
    await this.putNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {} });
    return DEFAULT_POOLS.map((p) => `${p.cidr} (/${p.blockSize} blocks)`);
  }

  async putNamespace(ns: Obj): Promise<void> {
    const name = String((ns.metadata as Obj).name);
    const prev = await this.datastore.get(namespaceKey(name));
    await this.datastore.put(namespaceKey(name), stored(ns, prev?.value as Obj | undefined));
  }

  async namespaceExists(name: string): Promise<boolean> {
    return (await this.datastore.get(namespaceKey(name))) !== undefined;
  }

  /** Stores (or updates) a Pod with `spec.nodeName` bound; returns its uid. */
  async putPod(pod: Obj, nodeName: string): Promise<string> {
    const meta = pod.metadata as Obj;
    const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    const key = podKey(namespace, String(meta.name));
    const prev = await this.datastore.get(key);
    const value = stored({ ...pod, metadata: { ...meta, namespace }, spec: { ...(pod.spec as Obj), nodeName } }, prev?.value as Obj | undefined) as Obj;
    if (prev !== undefined && (prev.value as Obj).status !== undefined) value.status = (prev.value as Obj).status;
    await this.datastore.put(key, value as JsonValue);
    return String((value.metadata as Obj).uid);
  }

  /** Writes the pod's network status as kubelet would (podIP = the first address). */
  async setPodStatus(namespace: string, name: string, status: PodStatus): Promise<void> {
    const key = podKey(namespace, name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.datastore.get(key);
      if (kv === undefined) throw new LabError('NotFound', `Pod ${namespace}/${name} disappeared from the datastore while it was being started`);
      const pod = kv.value as Obj;
      const next = {
        ...pod,
        status: {
          ...((pod.status as Obj | undefined) ?? {}),
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

  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.datastore.delete(podKey(namespace, name));
    } catch (e) {
      if (!isDatastoreError(e, 'NotFound')) throw e;
    }
  }

  async deleteNamespace(name: string): Promise<void> {
    try {
      await this.datastore.delete(namespaceKey(name));
    } catch (e) {
      if (!isDatastoreError(e, 'NotFound')) throw e;
    }
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
