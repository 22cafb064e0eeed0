// A consistent picture of IPAM and of what uses addresses, decoded from one datastore listing
// of everything under /calico/ (a single list is read at a single revision, so a block and its
// handle can never be seen at different moments). `ipam check`, `ipam show` and GC all work on
// this; nothing here does I/O.

import { type CIDR, cidrsOverlap, formatIP, parseIP } from '../../ip/index.js';
import { isJsonObject, type JsonValue } from '../../util/index.js';
import { type AllocationBlock, type BlockAffinity, DEFAULT_IPAM_CONFIG, IPAM_CONFIG_KEY, type IpamConfig, type IpamHandle, STORED, decodeAffinity, decodeBlockAt, decodeHandle, decodeIpamConfig, parseAffinityKey, parseBlockKey, parseHandleKey } from '../../model/index.js';
import { type IpamPool, type Labels, poolFromResource } from './pools.js';
import { ReservationSet, reservedCidrsOf } from './reservations.js';

/** A record with its key and the revision it was read at (every compare-and-swap needs it). */
export interface Versioned<T> {
  readonly key: string;
  readonly value: T;
  readonly revision: number;
}

/** An affinity with the node and block its key names. */
export interface StoredAffinity {
  readonly key: string;
  readonly node: string;
  readonly block: CIDR;
  readonly affinity: BlockAffinity;
  readonly revision: number;
}

export interface SnapshotWorkloadEndpoint {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly pod: string;
  readonly ips: string[];
}

export interface IpamSnapshot {
  /** Datastore revision the listing was taken at. */
  readonly revision: number;
  readonly pools: IpamPool[];
  readonly blocks: Versioned<AllocationBlock>[];
  readonly affinities: StoredAffinity[];
  readonly handles: Versioned<IpamHandle>[];
  readonly config: IpamConfig;
  readonly reservations: ReservationSet;
  readonly nodes: Map<string, Labels>;
  readonly workloadEndpoints: SnapshotWorkloadEndpoint[];
  /** Values that could not be decoded, with the reason. */
  readonly invalid: { key: string; error: string }[];
}

export function buildSnapshot(items: readonly Versioned<JsonValue>[], revision: number): IpamSnapshot {
  const pools: IpamPool[] = [];
  const blocks: Versioned<AllocationBlock>[] = [];
  const affinities: StoredAffinity[] = [];
  const handles: Versioned<IpamHandle>[] = [];
  const reserved: CIDR[] = [];
  const nodes = new Map<string, Labels>();
  const workloadEndpoints: SnapshotWorkloadEndpoint[] = [];
  const invalid: { key: string; error: string }[] = [];
  let config = DEFAULT_IPAM_CONFIG;
  for (const { key, value, revision: rev } of items) {
    try {
      if (key.startsWith(STORED.IPPool.keyPrefix)) pools.push(poolFromResource(value, key));
      else if (key.startsWith(STORED.IPReservation.keyPrefix)) reserved.push(...reservedCidrsOf(value, key));
      else if (key.startsWith(STORED.Node.keyPrefix)) nodes.set(key.slice(STORED.Node.keyPrefix.length), labelsOf(value));
      else if (key.startsWith(STORED.WorkloadEndpoint.keyPrefix)) {
        const w = workloadEndpointOf(key, value);
        if (w) workloadEndpoints.push(w);
      } else if (key === IPAM_CONFIG_KEY) config = decodeIpamConfig(value);
      else {
        const blockCidr = parseBlockKey(key);
        const aff = parseAffinityKey(key);
        const handleId = parseHandleKey(key);
        if (blockCidr) {
          blocks.push({ key, value: decodeBlockAt(key, value), revision: rev });
        } else if (aff) affinities.push({ key, node: aff.node, block: aff.block, affinity: decodeAffinity(value), revision: rev });
        else if (handleId !== undefined) handles.push({ key, value: decodeHandle(value, handleId), revision: rev });
      }
    } catch (e) {
      invalid.push({ key, error: (e as Error).message });
    }
  }
  return { revision, pools, blocks, affinities, handles, config, reservations: new ReservationSet(reserved), nodes, workloadEndpoints, invalid };
}

/** A resource's metadata.labels, string values only. */
export function labelsOf(v: JsonValue): Labels {
  const meta = isJsonObject(v) && isJsonObject(v['metadata']) ? v['metadata'] : undefined;
  const labels = meta && isJsonObject(meta['labels']) ? meta['labels'] : {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(labels)) if (typeof x === 'string') out[k] = x;
  return out;
}

export function workloadEndpointOf(key: string, v: JsonValue): SnapshotWorkloadEndpoint | undefined {
  const rest = key.slice(STORED.WorkloadEndpoint.keyPrefix.length).split('/');
  if (rest.length !== 2 || !isJsonObject(v)) return undefined;
  const spec = isJsonObject(v['spec']) ? v['spec'] : {};
  const nets = Array.isArray(spec['ipNetworks']) ? spec['ipNetworks'] : [];
  const ips = nets.flatMap((n) => {
    if (typeof n !== 'string') return [];
    try {
      return [formatIP(parseIP(n.split('/')[0]!))];
    } catch {
      return [];
    }
  });
  const str = (x: JsonValue | undefined) => (typeof x === 'string' ? x : '');
  return { key, namespace: rest[0]!, name: rest[1]!, node: str(spec['node']), pod: str(spec['pod']) || str(spec['workload']), ips };
}

/** Pairs of pools whose CIDRs overlap (each pair once). */
export function overlappingPools(pools: readonly IpamPool[]): [IpamPool, IpamPool][] {
  const out: [IpamPool, IpamPool][] = [];
  pools.forEach((a, i) => pools.slice(i + 1).forEach((b) => cidrsOverlap(a.cidr, b.cidr) && out.push([a, b])));
  return out;
}
