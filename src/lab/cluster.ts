// The lab's view of its cluster datastore: the lab etcd, reached through the loopback bridge, and
// written through the resource client like tabbyctl writes it.
//
// So everything the lab stores is validated by the model, keyed as the BRIEF decided (Calico kinds
// at Calico's keys, v1 Namespace / Pod / NetworkPolicy at the Kubernetes stand-in keys), carries
// its Calico conversions in the same transaction (Namespace → Profile kns.<ns>, ...), and the
// datastore is bootstrapped (ClusterInformation, tiers) before the first write. The lab adds its
// default pools and the `default` namespace, and, as kubelet, a Pod's status once its network is
// up (a merge patch, re-read and retried when another writer got in between).

import { ResourceClient, isResourceError } from '../client/index.js';
import type { Datastore } from '../datastore/index.js';
import { EtcdDatastore } from '../datastore/index.js';
import { type KindInfo, type ResourceObject, kindInfo } from '../model/index.js';
import { type EtcdBridge, openEtcdBridge } from './etcd-bridge.js';
import { DEFAULT_POOLS, type LabPlan } from './plan.js';

export interface PodStatus {
  readonly hostIP: string;
  readonly podIPs: readonly string[];
}

const POD = kindInfo('Pod', 'v1');
const NAMESPACE = kindInfo('Namespace', 'v1');

export class LabCluster {
  readonly client: ResourceClient;

  constructor(
    readonly datastore: Datastore,
    private readonly bridge: EtcdBridge,
  ) {
    this.client = new ResourceClient(datastore);
  }

  /** Bootstraps the datastore and creates the default pools and namespace if missing; returns the pools. */
  async initialise(vxlanMode: 'Always' | 'CrossSubnet' | 'Never' = 'Never'): Promise<string[]> {
    const pools = DEFAULT_POOLS.map(
      (p) =>
        ({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: p.name },
          spec: { cidr: p.cidr, blockSize: p.blockSize, ipipMode: 'Never', vxlanMode, natOutgoing: p.natOutgoing, nodeSelector: 'all()' },
        }) as ResourceObject,
    );
    const defaultNs = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } } as ResourceObject;
    await this.client.createAll([...pools, defaultNs], { skipExisting: true });
    return DEFAULT_POOLS.map((p) => `${p.cidr} (/${p.blockSize} blocks, vxlanMode ${vxlanMode}${p.natOutgoing ? ', natOutgoing' : ''})`);
  }

  /** Stores a resource (create or overwrite) with its conversions. */
  async apply(resource: ResourceObject): Promise<ResourceObject> {
    return this.client.apply(resource);
  }

  /** Deletes a resource and its conversions; returns whether it existed. */
  async remove(kind: KindInfo, namespace: string | undefined, name: string): Promise<boolean> {
    const target = { kind, name, ...(kind.namespaced && namespace !== undefined ? { namespace } : {}) };
    return (await this.client.deleteAll([target], { ignoreNotFound: true })).items.length > 0;
  }

  async namespaceExists(name: string): Promise<boolean> {
    try {
      await this.client.get(NAMESPACE, undefined, name);
      return true;
    } catch (e) {
      if (isResourceError(e) && e.code === 'NotFound') return false;
      throw e;
    }
  }

  /** Stores a Pod bound to `nodeName` (what the scheduler's binding does); returns its uid. */
  async bindPod(pod: ResourceObject, nodeName: string): Promise<string> {
    const stored = await this.apply({ ...pod, spec: { ...(pod.spec as object), nodeName } });
    return stored.metadata.uid ?? '';
  }

  /** Writes the pod's network status as kubelet would (podIP = the first address). */
  async setPodStatus(namespace: string, name: string, status: PodStatus): Promise<void> {
    await this.client.patch(POD, namespace, name, {
      status: {
        phase: 'Running',
        hostIP: status.hostIP,
        hostIPs: [{ ip: status.hostIP }],
        ...(status.podIPs[0] === undefined ? {} : { podIP: status.podIPs[0] }),
        podIPs: status.podIPs.map((ip) => ({ ip })),
      },
    });
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
