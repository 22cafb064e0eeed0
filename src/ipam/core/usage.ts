// Who uses each allocated address. Shared by `ipam check` (report) and GC (act), so they can
// never disagree about what is a leak. Rules, after Calico's GC (calico-internals.md §4.5):
//   - a WorkloadEndpoint lists the address                  → in use (workload)
//   - a tunnel address (`type` attribute) of a Node that exists → in use (tunnel)
//   - a tunnel address of a Node that is gone               → leaked, node gone
//   - a pod address (`pod` attribute) with no endpoint      → leaked (node gone if its node is)
//   - anything else (fixed addresses with other attributes) → unowned: reported, never GC'd
// Cooling addresses (released, held back by ipCooldownSeconds) are no allocation here: nobody
// owns them, so they are never leaked; `coolingOf` lists them for reports.

import { type CIDR, type IPAddr, formatCIDR, formatIP } from '../../ip/index.js';
import { addressAt, affineNode, coolingOrdinals, reusableAt } from './block.js';
import type { IpamSnapshot, SnapshotWorkloadEndpoint, Versioned } from './snapshot.js';
import { TUNNEL_ATTR_TYPES } from './tunnel.js';
import { type AllocationBlock } from '../../model/index.js';

export type AllocationUse =
  | { readonly state: 'workload'; readonly endpoint: string }
  | { readonly state: 'tunnel'; readonly node: string }
  | { readonly state: 'leaked'; readonly kind: 'pod' | 'tunnel'; readonly nodeGone: boolean }
  | { readonly state: 'unowned' };

export interface AllocationView {
  readonly ip: string;
  readonly addr: IPAddr;
  readonly block: CIDR;
  readonly blockKey: string;
  readonly ordinal: number;
  readonly handleId: string | undefined;
  readonly sequenceNumber: number;
  readonly attrs: Readonly<Record<string, string>>;
  /** The block is affine to a node other than the one the allocation was made for. */
  readonly borrowed: boolean;
  readonly use: AllocationUse;
}

export function endpointsByIp(weps: readonly SnapshotWorkloadEndpoint[]): Map<string, SnapshotWorkloadEndpoint[]> {
  const m = new Map<string, SnapshotWorkloadEndpoint[]>();
  for (const w of weps) for (const ip of w.ips) m.set(ip, [...(m.get(ip) ?? []), w]);
  return m;
}

export function classify(
  attrs: Readonly<Record<string, string>>,
  ip: string,
  byIp: ReadonlyMap<string, readonly SnapshotWorkloadEndpoint[]>,
  nodeExists: (node: string) => boolean,
): AllocationUse {
  const wep = byIp.get(ip)?.[0];
  if (wep) return { state: 'workload', endpoint: `${wep.namespace}/${wep.name}` };
  const node = attrs['node'];
  const type = attrs['type'];
  if (type !== undefined && TUNNEL_ATTR_TYPES.has(type)) {
    return node !== undefined && nodeExists(node) ? { state: 'tunnel', node } : { state: 'leaked', kind: 'tunnel', nodeGone: true };
  }
  if (attrs['pod'] !== undefined) return { state: 'leaked', kind: 'pod', nodeGone: node !== undefined && !nodeExists(node) };
  return { state: 'unowned' };
}

export function allocationsOf(vb: Versioned<AllocationBlock>, snap: IpamSnapshot, byIp: ReadonlyMap<string, readonly SnapshotWorkloadEndpoint[]>): AllocationView[] {
  const b = vb.value;
  const owner = affineNode(b);
  const out: AllocationView[] = [];
  b.allocations.forEach((idx, ord) => {
    if (idx === null) return;
    const attr = b.attributes[idx];
    if (attr?.releasedAt !== undefined) return; // cooling: see coolingOf
    const attrs = attr?.secondary ?? {};
    const addr = addressAt(b, ord);
    const ip = formatIP(addr);
    out.push({
      ip,
      addr,
      block: b.cidr,
      blockKey: vb.key,
      ordinal: ord,
      handleId: attr?.handleId,
      sequenceNumber: b.sequenceNumberForAllocation[String(ord)] ?? 0,
      attrs,
      borrowed: attrs['node'] !== undefined && owner !== undefined && attrs['node'] !== owner,
      use: classify(attrs, ip, byIp, (n) => snap.nodes.has(n)),
    });
  });
  return out;
}

export function allAllocations(snap: IpamSnapshot): AllocationView[] {
  const byIp = endpointsByIp(snap.workloadEndpoints);
  return snap.blocks.flatMap((vb) => allocationsOf(vb, snap, byIp));
}

/** Per handle, the addresses the blocks hold for it in each block (CIDR text → count): what its record should say. */
export function handleCounts(allocs: readonly AllocationView[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const a of allocs) {
    if (a.handleId === undefined) continue;
    const m = out.get(a.handleId) ?? {};
    const cidr = formatCIDR(a.block);
    m[cidr] = (m[cidr] ?? 0) + 1;
    out.set(a.handleId, m);
  }
  return out;
}

export const describeAllocation = (a: AllocationView): string =>
  `${a.ip} (block ${formatCIDR(a.block)}, handle ${a.handleId ?? '(none)'}${Object.keys(a.attrs).length ? `, ${Object.entries(a.attrs).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''})`;

export interface CoolingView {
  readonly ip: string;
  readonly block: CIDR;
  readonly ordinal: number;
  /** The handle and attributes the address had before its release. */
  readonly handleId: string | undefined;
  readonly attrs: Readonly<Record<string, string>>;
  readonly releasedAt: string;
  /** When it may be handed out again under the configured cooldown (ISO time). */
  readonly reusableAt: string;
}

/** Released addresses still held back from reuse, in every block of the snapshot. */
export function coolingOf(snap: IpamSnapshot): CoolingView[] {
  const seconds = snap.config.ipCooldownSeconds ?? 0;
  return snap.blocks.flatMap((vb) =>
    coolingOrdinals(vb.value).map((c) => ({
      ip: formatIP(addressAt(vb.value, c.ordinal)),
      block: vb.value.cidr,
      ordinal: c.ordinal,
      handleId: c.handleId,
      attrs: c.secondary,
      releasedAt: c.releasedAt,
      reusableAt: new Date(reusableAt(c.releasedAt, seconds)).toISOString(),
    })),
  );
}
