// `ipam check`: find every inconsistency between IPAM records and what uses addresses, from one
// snapshot (calico-internals.md §4.6). Each allocated address is accounted for — in use by a
// workload, in use as a node's tunnel address, leaked, or unowned — so the summary's numbers add
// up to the number of allocations, and every problem names the address, block, handle or key.
//
// The report (`-o json`, or `-o FILE`) carries calicoctl's fields so `ipam release --from-report`
// can act on it: version, clusterGUID, datastoreLocked, clusterInformationRevision, clusterType,
// allocations {ip: [{ip, handle, sequenceNumber, pod, namespace, node, type, creationTimestamp,
// inUse, borrowed, coolingDown, owners}]} and leakedHandles [{ID, UID, Revision}] (handle records
// no allocation refers to, as calicoctl defines them) — plus Tabby's summary and problems.
// Released addresses still cooling down are listed with coolingDown true and inUse false; they
// are no problem and nothing releases them.

import { type CIDR, cidrContains, cidrsOverlap, formatCIDR, parseIP } from '../../ip/index.js';
import { affineNode, blockProblems } from './block.js';
import type { IpamSnapshot } from './snapshot.js';
import { overlappingPools } from './snapshot.js';
import type { ClusterMeta } from './cluster-info.js';
import { type AllocationView, allAllocations, coolingOf, describeAllocation, handleCounts } from './usage.js';

export type CheckProblemKind =
  | 'InvalidRecord'
  | 'InvalidBlock'
  | 'OverlappingPools'
  | 'OverlappingBlocks'
  | 'DuplicateAddress'
  | 'LeakedAddress'
  | 'UnownedAddress'
  | 'InUseNotAllocated'
  | 'InUseOutsidePools'
  | 'AllocationOutsidePools'
  | 'MissingHandle'
  | 'OrphanedHandle'
  | 'HandleCountMismatch'
  | 'AffinityToMissingNode'
  | 'StaleAffinity'
  | 'MissingAffinity';

export interface CheckProblem {
  readonly kind: CheckProblemKind;
  readonly message: string;
  readonly ip?: string;
  readonly block?: string;
  readonly handle?: string;
  readonly node?: string;
  readonly key?: string;
}

export interface ReportAllocation {
  readonly ip: string;
  readonly handle?: string;
  readonly sequenceNumber: number;
  readonly pod?: string;
  readonly namespace?: string;
  readonly node?: string;
  readonly type?: string;
  readonly creationTimestamp?: string;
  /** A workload endpoint or a node uses it. */
  readonly inUse: boolean;
  readonly borrowed: boolean;
  /** Released, held back from reuse by ipCooldownSeconds. */
  readonly coolingDown: boolean;
  /** calicoctl's friendly names: Workload(ns/name), Node(name). */
  readonly owners: string[];
  // Tabby's additions.
  readonly block: string;
  readonly state: AllocationView['use']['state'] | 'coolingDown';
  readonly releasedAt?: string;
  readonly reusableAt?: string;
}

/** calicoctl's HandleInfo (Go field names, no JSON tags): a handle record no allocation refers to. */
export interface LeakedHandle {
  readonly ID: string;
  readonly UID: null;
  /** The handle record's revision when the report was taken; release deletes it only if unchanged. */
  readonly Revision: string;
}

export interface CheckReport {
  readonly version: string;
  readonly clusterGUID: string;
  readonly datastoreLocked: boolean;
  readonly clusterInformationRevision: string;
  readonly clusterType: string;
  readonly allocations: Record<string, ReportAllocation[]>;
  readonly leakedHandles: LeakedHandle[];
  /** Datastore revision of the snapshot checked. */
  readonly revision: number;
  readonly summary: {
    readonly pools: number;
    readonly blocks: number;
    readonly handles: number;
    readonly allocated: number;
    readonly inUseWorkload: number;
    readonly inUseTunnel: number;
    readonly leaked: number;
    readonly unowned: number;
    readonly coolingDown: number;
    readonly problems: number;
  };
  readonly problems: CheckProblem[];
}

export interface CheckContext {
  /** The version of the program writing the report (release refuses a report of another version unless forced). */
  readonly version: string;
  readonly cluster: ClusterMeta;
}

const NO_CLUSTER: CheckContext = { version: '', cluster: { exists: false, clusterGUID: '', clusterType: '', datastoreLocked: false, revision: '' } };

export function checkIpam(snap: IpamSnapshot, context: CheckContext = NO_CLUSTER): CheckReport {
  const problems: CheckProblem[] = [];
  const add = (p: CheckProblem) => problems.push(p);

  for (const bad of snap.invalid) add({ kind: 'InvalidRecord', key: bad.key, message: bad.error });
  for (const [a, b] of overlappingPools(snap.pools)) {
    add({ kind: 'OverlappingPools', message: `pool ${a.name} (${formatCIDR(a.cidr)}) overlaps pool ${b.name} (${formatCIDR(b.cidr)}); IPAM may hand out one address from both` });
  }
  for (const vb of snap.blocks) for (const msg of blockProblems(vb.value)) add({ kind: 'InvalidBlock', block: formatCIDR(vb.value.cidr), key: vb.key, message: msg });
  const sortedBlocks = [...snap.blocks].sort((x, y) => (x.value.cidr.family - y.value.cidr.family) || (x.value.cidr.base < y.value.cidr.base ? -1 : x.value.cidr.base > y.value.cidr.base ? 1 : 0));
  sortedBlocks.forEach((x, i) => {
    const y = sortedBlocks[i + 1];
    if (y && cidrsOverlap(x.value.cidr, y.value.cidr)) {
      add({ kind: 'OverlappingBlocks', block: formatCIDR(x.value.cidr), message: `blocks ${formatCIDR(x.value.cidr)} and ${formatCIDR(y.value.cidr)} overlap (a pool's blockSize changed?)` });
    }
  });

  const allocs = allAllocations(snap);
  const inPool = (c: CIDR) => snap.pools.some((p) => cidrContains(p.cidr, c));
  const byIp = new Map<string, AllocationView[]>();
  for (const a of allocs) byIp.set(a.ip, [...(byIp.get(a.ip) ?? []), a]);
  for (const [ip, list] of byIp) {
    if (list.length > 1) add({ kind: 'DuplicateAddress', ip, message: `${ip} is allocated ${list.length} times: ${list.map(describeAllocation).join('; ')}` });
  }
  for (const a of allocs) {
    const block = formatCIDR(a.block);
    const handle = a.handleId;
    if (a.use.state === 'leaked') {
      const why = a.use.kind === 'tunnel' ? `node ${a.attrs['node'] ?? '(unnamed)'} no longer exists` : `no WorkloadEndpoint lists it${a.use.nodeGone ? ` and node ${a.attrs['node']} is gone` : ''}`;
      add({ kind: 'LeakedAddress', ip: a.ip, block, ...(handle ? { handle } : {}), message: `${describeAllocation(a)} is allocated but ${why}` });
    } else if (a.use.state === 'unowned') {
      add({ kind: 'UnownedAddress', ip: a.ip, block, ...(handle ? { handle } : {}), message: `${describeAllocation(a)} is allocated but neither a workload nor a node tunnel uses it (GC leaves such addresses; release them by hand)` });
    }
    if (!inPool(a.block)) add({ kind: 'AllocationOutsidePools', ip: a.ip, block, message: `${a.ip} is allocated in block ${block}, which lies in no IP pool` });
  }

  // Workload endpoints whose addresses IPAM does not know about.
  const seenWepIp = new Map<string, string>();
  for (const w of snap.workloadEndpoints) {
    for (const ip of w.ips) {
      const owner = `${w.namespace}/${w.name}`;
      const other = seenWepIp.get(ip);
      if (other !== undefined && other !== owner) add({ kind: 'DuplicateAddress', ip, message: `${ip} is used by two WorkloadEndpoints: ${other} and ${owner}` });
      seenWepIp.set(ip, owner);
      if (byIp.has(ip)) continue;
      const addr = parseIP(ip);
      const host: CIDR = { family: addr.family, base: addr.value, prefix: addr.family === 4 ? 32 : 128 };
      if (inPool(host)) add({ kind: 'InUseNotAllocated', ip, message: `${ip} is used by WorkloadEndpoint ${owner} but has no IPAM allocation, so IPAM may hand it out again` });
      else add({ kind: 'InUseOutsidePools', ip, message: `${ip} is used by WorkloadEndpoint ${owner} but lies in no IP pool` });
    }
  }

  // Handles against the blocks' actual allocations.
  const actual = handleCounts(allocs);
  const handleIds = new Set(snap.handles.map((h) => h.value.handleId));
  for (const h of snap.handles) {
    const have = actual.get(h.value.handleId);
    if (!have) {
      add({ kind: 'OrphanedHandle', handle: h.value.handleId, key: h.key, message: `handle ${h.value.handleId} records ${JSON.stringify(h.value.block)} but no block holds an address for it` });
      continue;
    }
    const cidrs = new Set([...Object.keys(h.value.block), ...Object.keys(have)]);
    for (const c of cidrs) {
      const recorded = h.value.block[c] ?? 0;
      const real = have[c] ?? 0;
      if (recorded !== real) add({ kind: 'HandleCountMismatch', handle: h.value.handleId, block: c, message: `handle ${h.value.handleId} records ${recorded} addresses in block ${c}, the block holds ${real}` });
    }
  }
  for (const [id, m] of actual) {
    if (!handleIds.has(id)) add({ kind: 'MissingHandle', handle: id, message: `addresses in ${Object.keys(m).join(', ')} belong to handle ${id}, which has no handle record` });
  }

  // Affinities against blocks and nodes.
  const blockByCidr = new Map(snap.blocks.map((vb) => [formatCIDR(vb.value.cidr), vb]));
  const affKeys = new Set(snap.affinities.map((a) => `${a.node}|${formatCIDR(a.block)}`));
  for (const a of snap.affinities) {
    const c = formatCIDR(a.block);
    if (!snap.nodes.has(a.node)) {
      add({ kind: 'AffinityToMissingNode', node: a.node, block: c, key: a.key, message: `block ${c} is affine to node ${a.node}, which does not exist` });
      continue;
    }
    const vb = blockByCidr.get(c);
    if (!vb) add({ kind: 'StaleAffinity', node: a.node, block: c, key: a.key, message: `node ${a.node} has a ${a.affinity.state} affinity for block ${c}, which does not exist (an interrupted claim)` });
    else if (affineNode(vb.value) !== a.node) add({ kind: 'StaleAffinity', node: a.node, block: c, key: a.key, message: `node ${a.node} has a ${a.affinity.state} affinity for block ${c}, but the block belongs to ${vb.value.affinity ?? 'no node'}` });
    else if (a.affinity.state !== 'confirmed') add({ kind: 'StaleAffinity', node: a.node, block: c, key: a.key, message: `node ${a.node}'s affinity for block ${c} is still ${a.affinity.state}` });
  }
  for (const vb of snap.blocks) {
    const owner = affineNode(vb.value);
    const c = formatCIDR(vb.value.cidr);
    if (owner === undefined) continue;
    if (!snap.nodes.has(owner) && !affKeys.has(`${owner}|${c}`)) {
      add({ kind: 'AffinityToMissingNode', node: owner, block: c, key: vb.key, message: `block ${c} is affine to node ${owner}, which does not exist` });
    } else if (!affKeys.has(`${owner}|${c}`)) {
      add({ kind: 'MissingAffinity', node: owner, block: c, key: vb.key, message: `block ${c} names node ${owner} as owner but that node has no affinity record for it` });
    }
  }

  const leakedHandles: LeakedHandle[] = snap.handles
    .filter((h) => !actual.has(h.value.handleId))
    .map((h) => ({ ID: h.value.handleId, UID: null, Revision: String(h.revision) }))
    .sort((x, y) => (x.ID < y.ID ? -1 : x.ID > y.ID ? 1 : 0));
  const allocations: Record<string, ReportAllocation[]> = {};
  const attrFields = (attrs: Readonly<Record<string, string>>) => ({
    ...(attrs['pod'] !== undefined ? { pod: attrs['pod'] } : {}),
    ...(attrs['namespace'] !== undefined ? { namespace: attrs['namespace'] } : {}),
    ...(attrs['node'] !== undefined ? { node: attrs['node'] } : {}),
    ...(attrs['type'] !== undefined ? { type: attrs['type'] } : {}),
    ...(attrs['timestamp'] !== undefined ? { creationTimestamp: attrs['timestamp'] } : {}),
  });
  for (const a of allocs) {
    const entry: ReportAllocation = {
      ip: a.ip,
      ...(a.handleId === undefined ? {} : { handle: a.handleId }),
      sequenceNumber: a.sequenceNumber,
      ...attrFields(a.attrs),
      inUse: a.use.state === 'workload' || a.use.state === 'tunnel',
      borrowed: a.borrowed,
      coolingDown: false,
      owners: a.use.state === 'workload' ? [`Workload(${a.use.endpoint})`] : a.use.state === 'tunnel' ? [`Node(${a.use.node})`] : [],
      block: formatCIDR(a.block),
      state: a.use.state,
    };
    (allocations[a.ip] ??= []).push(entry);
  }
  const cooling = coolingOf(snap);
  for (const c of cooling) {
    (allocations[c.ip] ??= []).push({
      ip: c.ip,
      ...(c.handleId === undefined ? {} : { handle: c.handleId }),
      sequenceNumber: 0,
      ...attrFields(c.attrs),
      inUse: false,
      borrowed: false,
      coolingDown: true,
      owners: [],
      block: formatCIDR(c.block),
      state: 'coolingDown',
      releasedAt: c.releasedAt,
      reusableAt: c.reusableAt,
    });
  }
  const count = (s: AllocationView['use']['state']) => allocs.filter((a) => a.use.state === s).length;
  return {
    version: context.version,
    clusterGUID: context.cluster.clusterGUID,
    datastoreLocked: context.cluster.datastoreLocked,
    clusterInformationRevision: context.cluster.revision,
    clusterType: context.cluster.clusterType,
    allocations,
    leakedHandles,
    revision: snap.revision,
    summary: {
      pools: snap.pools.length,
      blocks: snap.blocks.length,
      handles: snap.handles.length,
      allocated: allocs.length,
      inUseWorkload: count('workload'),
      inUseTunnel: count('tunnel'),
      leaked: count('leaked'),
      unowned: count('unowned'),
      coolingDown: cooling.length,
      problems: problems.length,
    },
    problems,
  };
}
