// Typed reads of IPAM state and of the resources IPAM consults, over the Datastore contract.
// Decoding lives in core/ (pure); this file only fetches and pairs values with their revisions,
// which every compare-and-swap write needs. Undecodable values are returned as `invalid` rather
// than thrown, so `ipam check` can report them and allocation can step round them.

import type { Datastore, KVPair, KeyInfo, KeyListResult } from '../datastore/datastore.js';
import type { CIDR, IPFamily } from '../ip/index.js';
import { type AllocationBlock, decodeBlock } from './core/block.js';
import { isJsonObject, type JsonValue } from './core/json.js';
import { blockKey, blockPrefix, HANDLE_PREFIX, handleKey, HOST_PREFIX, hostAffinityPrefix, IPAM_CONFIG_KEY, nodeKey, parseAffinityKey, parseBlockKey, parseHandleKey, STORED } from '../model/index.js';
import { type IpamPool, type Labels, poolFromResource } from './core/pools.js';
import { type BlockAffinity, type IpamConfig, type IpamHandle, DEFAULT_IPAM_CONFIG, decodeAffinity, decodeHandle, decodeIpamConfig } from './core/records.js';
import { ReservationSet, reservedCidrsOf } from './core/reservations.js';
import { type IpamSnapshot, type SnapshotWorkloadEndpoint, buildSnapshot, labelsOf, workloadEndpointOf } from './core/snapshot.js';

export interface Versioned<T> {
  readonly key: string;
  readonly value: T;
  readonly revision: number;
}

export interface InvalidRecord {
  readonly key: string;
  readonly error: string;
}

export interface StoredAffinity {
  readonly key: string;
  readonly node: string;
  readonly block: CIDR;
  readonly affinity: BlockAffinity;
  readonly revision: number;
}

export type WorkloadEndpointInfo = SnapshotWorkloadEndpoint;

export interface NodeInfo {
  readonly name: string;
  readonly labels: Labels;
}

const versioned = <T>(kv: KVPair, value: T): Versioned<T> => ({ key: kv.key, value, revision: kv.revision });

export class IpamStore {
  constructor(readonly ds: Datastore) {}

  /** Everything IPAM reasons about, from one listing (one revision) of /calico/. */
  async snapshot(): Promise<IpamSnapshot> {
    const { items, revision } = await this.ds.list('/calico/');
    return buildSnapshot(items, revision);
  }

  async getBlock(cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    const kv = await this.ds.get(blockKey(cidr));
    return kv && versioned(kv, decodeBlock(kv.value, kv.key));
  }

  async listBlocks(family?: IPFamily): Promise<{ blocks: Versioned<AllocationBlock>[]; invalid: InvalidRecord[] }> {
    const prefixes = family ? [blockPrefix(family)] : [blockPrefix(4), blockPrefix(6)];
    const blocks: Versioned<AllocationBlock>[] = [];
    const invalid: InvalidRecord[] = [];
    for (const prefix of prefixes) {
      for (const kv of (await this.ds.list(prefix)).items) {
        const cidr = parseBlockKey(kv.key);
        try {
          const b = decodeBlock(kv.value, kv.key);
          if (!cidr || cidr.base !== b.cidr.base || cidr.prefix !== b.cidr.prefix) throw new Error(`${kv.key}: key does not match the block's cidr field`);
          blocks.push(versioned(kv, b));
        } catch (e) {
          invalid.push({ key: kv.key, error: (e as Error).message });
        }
      }
    }
    return { blocks, invalid };
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

  async listHandles(): Promise<Versioned<IpamHandle>[]> {
    const out: Versioned<IpamHandle>[] = [];
    for (const kv of (await this.ds.list(HANDLE_PREFIX)).items) {
      const id = parseHandleKey(kv.key);
      if (id !== undefined) out.push(versioned(kv, decodeHandle(kv.value, id)));
    }
    return out;
  }

  async getConfig(): Promise<Versioned<IpamConfig> | undefined> {
    const kv = await this.ds.get(IPAM_CONFIG_KEY);
    return kv && versioned(kv, decodeIpamConfig(kv.value));
  }

  async config(): Promise<IpamConfig> {
    return (await this.getConfig())?.value ?? DEFAULT_IPAM_CONFIG;
  }

  async listPools(): Promise<{ pools: IpamPool[]; invalid: InvalidRecord[] }> {
    const pools: IpamPool[] = [];
    const invalid: InvalidRecord[] = [];
    for (const kv of (await this.ds.list(STORED.IPPool.keyPrefix)).items) {
      try {
        pools.push(poolFromResource(kv.value, kv.key));
      } catch (e) {
        invalid.push({ key: kv.key, error: (e as Error).message });
      }
    }
    return { pools, invalid };
  }

  async reservations(): Promise<{ set: ReservationSet; invalid: InvalidRecord[] }> {
    const cidrs: CIDR[] = [];
    const invalid: InvalidRecord[] = [];
    for (const kv of (await this.ds.list(STORED.IPReservation.keyPrefix)).items) {
      try {
        cidrs.push(...reservedCidrsOf(kv.value, kv.key));
      } catch (e) {
        invalid.push({ key: kv.key, error: (e as Error).message });
      }
    }
    return { set: new ReservationSet(cidrs), invalid };
  }

  /** The Node resource's labels, or undefined when the Node does not exist. */
  async nodeLabels(node: string): Promise<Labels | undefined> {
    const kv = await this.ds.get(nodeKey(node));
    return kv ? labelsOf(kv.value) : undefined;
  }

  async listNodes(): Promise<NodeInfo[]> {
    return (await this.ds.list(STORED.Node.keyPrefix)).items.map((kv) => ({ name: kv.key.slice(STORED.Node.keyPrefix.length), labels: labelsOf(kv.value) }));
  }

  async listWorkloadEndpoints(): Promise<WorkloadEndpointInfo[]> {
    return (await this.ds.list(STORED.WorkloadEndpoint.keyPrefix)).items.flatMap((kv) => {
      const w = workloadEndpointOf(kv.key, kv.value);
      return w ? [w] : [];
    });
  }

  async getWorkloadEndpoint(namespace: string, name: string): Promise<WorkloadEndpointInfo | undefined> {
    const key = `${STORED.WorkloadEndpoint.keyPrefix}${namespace}/${name}`;
    const kv = await this.ds.get(key);
    return kv ? workloadEndpointOf(key, kv.value) : undefined;
  }
}

