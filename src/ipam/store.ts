// Typed reads of IPAM state and of the resources IPAM consults, over the Datastore contract.
// Decoding lives in core/ (pure); this file only fetches and pairs values with their revisions,
// which every compare-and-swap write needs. Undecodable values are returned as `invalid` rather
// than thrown, so `ipam check` can report them and allocation can step round them.

import type { Datastore, KVPair, KeyListResult } from '../datastore/index.js';
import type { CIDR, IPFamily } from '../ip/index.js';
import { type AllocationBlock, CALICO_ROOT, DEFAULT_IPAM_CONFIG, HOST_PREFIX, IPAM_CONFIG_KEY, type IpamConfig, type IpamHandle, STORED, blockKey, blockPrefix, decodeAffinity, decodeBlock, decodeBlockAt, decodeHandle, decodeIpamConfig, handleKey, hostAffinityPrefix, nodeKey, parseAffinityKey } from '../model/index.js';
import { type IpamPool, type Labels, poolFromResource } from './core/pools.js';
import { ReservationSet, reservedCidrsOf } from './core/reservations.js';
import { type IpamSnapshot, type SnapshotWorkloadEndpoint, type StoredAffinity, type Versioned, buildSnapshot, labelsOf, workloadEndpointOf } from './core/snapshot.js';

export type { StoredAffinity, Versioned };

export interface InvalidRecord {
  readonly key: string;
  readonly error: string;
}

const versioned = <T>(kv: KVPair, value: T): Versioned<T> => ({ key: kv.key, value, revision: kv.revision });

/** Decode every item, setting aside (with the reason) those that do not decode. */
function decodeAll<T>(items: readonly KVPair[], decode: (kv: KVPair) => T): { values: T[]; invalid: InvalidRecord[] } {
  const values: T[] = [];
  const invalid: InvalidRecord[] = [];
  for (const kv of items) {
    try {
      values.push(decode(kv));
    } catch (e) {
      invalid.push({ key: kv.key, error: (e as Error).message });
    }
  }
  return { values, invalid };
}

export class IpamStore {
  constructor(readonly ds: Datastore) {}

  /** Everything IPAM reasons about, from one listing (one revision) of /calico/. */
  async snapshot(): Promise<IpamSnapshot> {
    const { items, revision } = await this.ds.list(CALICO_ROOT);
    return buildSnapshot(items, revision);
  }

  async getBlock(cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    const kv = await this.ds.get(blockKey(cidr));
    return kv && versioned(kv, decodeBlock(kv.value, kv.key));
  }

  /** A family's blocks; one whose key does not match its `cidr` field is invalid. */
  async listBlocks(family: IPFamily): Promise<{ blocks: Versioned<AllocationBlock>[]; invalid: InvalidRecord[] }> {
    const { values, invalid } = decodeAll((await this.ds.list(blockPrefix(family))).items, (kv) => versioned(kv, decodeBlockAt(kv.key, kv.value)));
    return { blocks: values, invalid };
  }

  /** A family's block keys with their revisions and the store revision they were listed at, without the blocks. */
  blockListing(family: IPFamily): Promise<KeyListResult> {
    return this.ds.listKeys(blockPrefix(family));
  }

  /** Affinities of one node and family, or (no arguments) of every node. */
  async listAffinities(node?: string, family?: IPFamily): Promise<StoredAffinity[]> {
    const prefix = node && family ? hostAffinityPrefix(node, family) : node ? `${HOST_PREFIX}${node}/` : HOST_PREFIX;
    const out: StoredAffinity[] = [];
    for (const kv of (await this.ds.list(prefix)).items) {
      const k = parseAffinityKey(kv.key);
      if (!k || (family && k.block.family !== family)) continue;
      out.push({ key: kv.key, node: k.node, block: k.block, affinity: decodeAffinity(kv.value), revision: kv.revision });
    }
    return out;
  }

  async getHandle(handleId: string): Promise<Versioned<IpamHandle> | undefined> {
    const kv = await this.ds.get(handleKey(handleId));
    return kv && versioned(kv, decodeHandle(kv.value, handleId));
  }

  async config(): Promise<IpamConfig> {
    const kv = await this.ds.get(IPAM_CONFIG_KEY);
    return kv ? decodeIpamConfig(kv.value) : DEFAULT_IPAM_CONFIG;
  }

  async listPools(): Promise<{ pools: IpamPool[]; invalid: InvalidRecord[] }> {
    const { values, invalid } = decodeAll((await this.ds.list(STORED.IPPool.keyPrefix)).items, (kv) => poolFromResource(kv.value, kv.key));
    return { pools: values, invalid };
  }

  async reservations(): Promise<{ set: ReservationSet; invalid: InvalidRecord[] }> {
    const { values, invalid } = decodeAll((await this.ds.list(STORED.IPReservation.keyPrefix)).items, (kv) => reservedCidrsOf(kv.value, kv.key));
    return { set: new ReservationSet(values.flat()), invalid };
  }

  /** The Node resource's labels, or undefined when the Node does not exist. */
  async nodeLabels(node: string): Promise<Labels | undefined> {
    const kv = await this.ds.get(nodeKey(node));
    return kv ? labelsOf(kv.value) : undefined;
  }

  async listNodes(): Promise<{ name: string; labels: Labels }[]> {
    const prefix = STORED.Node.keyPrefix;
    return (await this.ds.list(prefix)).items.map((kv) => ({ name: kv.key.slice(prefix.length), labels: labelsOf(kv.value) }));
  }

  async listWorkloadEndpoints(): Promise<SnapshotWorkloadEndpoint[]> {
    return (await this.ds.list(STORED.WorkloadEndpoint.keyPrefix)).items.flatMap((kv) => workloadEndpointOf(kv.key, kv.value) ?? []);
  }
}
