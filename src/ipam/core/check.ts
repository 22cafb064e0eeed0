// `ipam check`: find every inconsistency between IPAM records and what uses addresses, from one
// snapshot (calico-internals.md §4.6). Each allocated address is accounted for — in use by a
// workload, in use as a node's tunnel address, leaked, or unowned — so the summary's numbers add
// up to the number of allocations, and every problem names the address, block, handle or key.

import { type CIDR, cidrContains, cidrsOverlap, formatCIDR, parseIP } from '../../ip/index.js';
import { affineNode, blockProblems } from './block.js';
import type { IpamSnapshot } from './snapshot.js';
import { overlappingPools } from './snapshot.js';
import { type AllocationView, allAllocations, describeAllocation } from './usage.js';

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
  readonly handle: string | null;
  readonly sequenceNumber: number;
  readonly block: string;
  readonly pod?: string;
  readonly namespace?: string;
  readonly node?: string;
  readonly type?: string;
  readonly state: AllocationView['use']['state'];
  readonly inUse: boolean;
  readonly borrowed: boolean;
  readonly owner?: string;
}

export interface CheckReport {
  readonly version: 1;
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
    readonly problems: number;
  };
  readonly allocations: Record<string, ReportAllocation[]>;
  readonly leakedHandles: string[];
  readonly problems: CheckProblem[];
}

export function checkIpam(snap: IpamSnapshot): CheckReport {
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
  const actual = new Map<string, Map<string, number>>();
  for (const a of allocs) {
    if (a.handleId === undefined) continue;
    const m = actual.get(a.handleId) ?? new Map<string, number>();
    m.set(formatCIDR(a.block), (m.get(formatCIDR(a.block)) ?? 0) + 1);
    actual.set(a.handleId, m);
  }
  const handleIds = new Set(snap.handles.map((h) => h.value.handleId));
  for (const h of snap.handles) {
    const have = actual.get(h.value.handleId);
    if (!have) {
      add({ kind: 'OrphanedHandle', handle: h.value.handleId, key: h.key, message: `handle ${h.value.handleId} records ${JSON.stringify(h.value.block)} but no block holds an address for it` });
      continue;
    }
    const cidrs = new Set([...Object.keys(h.value.block), ...have.keys()]);
    for (const c of cidrs) {
      const recorded = h.value.block[c] ?? 0;
      const real = have.get(c) ?? 0;
      if (recorded !== real) add({ kind: 'HandleCountMismatch', handle: h.value.handleId, block: c, message: `handle ${h.value.handleId} records ${recorded} addresses in block ${c}, the block holds ${real}` });
    }
  }
  for (const [id, m] of actual) {
    if (!handleIds.has(id)) add({ kind: 'MissingHandle', handle: id, message: `addresses in ${[...m.keys()].join(', ')} belong to handle ${id}, which has no handle record` });
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

  const leakedHandles = [...new Set(allocs.filter((a) => a.use.state === 'leaked' && a.handleId).map((a) => a.handleId!))].sort();
  const allocations: Record<string, ReportAllocation[]> = {};
  for (const a of allocs) {
    const entry: ReportAllocation = {
      handle: a.handleId ?? null,
      sequenceNumber: a.sequenceNumber,
      block: formatCIDR(a.block),
      ...(a.attrs['pod'] !== undefined ? { pod: a.attrs['pod'] } : {}),
      ...(a.attrs['namespace'] !== undefined ? { namespace: a.attrs['namespace'] } : {}),
      ...(a.attrs['node'] !== undefined ? { node: a.attrs['node'] } : {}),
      ...(a.attrs['type'] !== undefined ? { type: a.attrs['type'] } : {}),
      state: a.use.state,
      inUse: a.use.state === 'workload' || a.use.state === 'tunnel',
      borrowed: a.borrowed,
      ...(a.use.state === 'workload' ? { owner: a.use.endpoint } : a.use.state === 'tunnel' ? { owner: `node ${a.use.node}` } : {}),
    };
    (allocations[a.ip] ??= []).push(entry);
  }
  const count = (s: AllocationView['use']['state']) => allocs.filter((a) => a.use.state === s).length;
  return {
    version: 1,
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
      problems: problems.length,
    },
    allocations,
    leakedHandles,
    problems,
  };
}

export interface RenderCheckOptions {
  /** List every allocated address with its owner. */
  readonly showAllIps?: boolean;
}

export function renderCheck(r: CheckReport, opts: RenderCheckOptions = {}): string {
  const s = r.summary;
  const lines = [
    'Checking IPAM for inconsistencies...',
    '',
    `Found ${s.pools} IP pools, ${s.blocks} IPAM blocks, ${s.handles} IPAM handles.`,
    `Found ${s.allocated} allocated addresses: ${s.inUseWorkload} in use by workloads, ${s.inUseTunnel} node tunnel addresses, ${s.leaked} leaked, ${s.unowned} unowned.`,
  ];
  if (opts.showAllIps) {
    lines.push('', 'Allocated addresses:');
    for (const [ip, list] of Object.entries(r.allocations)) {
      for (const a of list) lines.push(`  ${ip}  ${a.state}${a.owner ? ` (${a.owner})` : ''}  handle=${a.handle ?? '-'}  block=${a.block}${a.borrowed ? '  borrowed' : ''}`);
    }
  }
  if (r.problems.length > 0) {
    lines.push('', 'Problems:');
    for (const p of r.problems) lines.push(`  [${p.kind}] ${p.message}`);
  }
  lines.push('', `Check complete; found ${r.problems.length} problems.`);
  return lines.join('\n') + '\n';
}
