// `ipam show`: address utilisation per pool (and per block), and who owns one address — the
// data behind calicoctl's table (calico-internals.md §4.6; tabbyctl prints it, ctl/ipam-text.ts):
//   GROUPING | CIDR | IPS TOTAL | IPS IN USE | IPS FREE
// IN USE counts allocations; FREE is TOTAL minus IN USE. Totals are bigints: an IPv6 /48 holds 2^80.
// Released addresses still cooling down (ipCooldownSeconds) are not assignable, so they count as
// IN USE; each row also carries how many of them are cooling. Also `--show-borrowed` (addresses a
// node took from another node's block).

import { type IPAddr, cidrContains, cidrContainsIP, cidrSize, formatCIDR, formatIP } from '../../ip/index.js';
import { affineNode, allocatedCount, attributeOf, coolingOrdinals, ordinalOf, reusableAt, sequenceOf } from './block.js';
import { TUNNEL_ATTR_TYPES, tunnelAttrTypeOf } from './tunnel.js';
import type { IpamSnapshot } from './snapshot.js';
import { cooldownSeconds } from '../../model/index.js';

export interface UtilisationRow {
  readonly grouping: 'IP Pool' | 'Block';
  readonly name?: string;
  readonly cidr: string;
  readonly total: bigint;
  readonly inUse: bigint;
  readonly free: bigint;
  /** Of IN USE: released addresses still cooling down. */
  readonly coolingDown: bigint;
  /** Blocks: the node the block is affine to. */
  readonly affinity?: string;
}

export function utilisation(snap: IpamSnapshot, showBlocks = false): UtilisationRow[] {
  const rows: UtilisationRow[] = [];
  const pools = [...snap.pools].sort((a, b) => a.cidr.family - b.cidr.family || (a.cidr.base < b.cidr.base ? -1 : 1));
  for (const pool of pools) {
    const blocks = snap.blocks
      .filter((vb) => cidrContains(pool.cidr, vb.value.cidr))
      .sort((a, b) => (a.value.cidr.base < b.value.cidr.base ? -1 : 1));
    const inUse = blocks.reduce((n, vb) => n + BigInt(allocatedCount(vb.value)), 0n);
    const coolingDown = blocks.reduce((n, vb) => n + BigInt(coolingOrdinals(vb.value).length), 0n);
    const total = cidrSize(pool.cidr);
    rows.push({ grouping: 'IP Pool', name: pool.name, cidr: formatCIDR(pool.cidr), total, inUse, free: total - inUse, coolingDown });
    if (!showBlocks) continue;
    for (const vb of blocks) {
      const t = cidrSize(vb.value.cidr);
      const u = BigInt(allocatedCount(vb.value));
      const c = BigInt(coolingOrdinals(vb.value).length);
      rows.push({ grouping: 'Block', cidr: formatCIDR(vb.value.cidr), total: t, inUse: u, free: t - u, coolingDown: c, ...(vb.value.affinity ? { affinity: vb.value.affinity } : {}) });
    }
  }
  return rows;
}

export interface AddressInfo {
  readonly ip: string;
  readonly assigned: boolean;
  readonly block?: string;
  readonly pool?: string;
  readonly handle?: string;
  readonly sequenceNumber?: number;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly workloadEndpoints: string[];
  /** Released and held back from reuse: when, and from when it may be handed out again. */
  readonly coolingDown?: { readonly releasedAt: string; readonly reusableAt: string };
}

export function addressInfo(snap: IpamSnapshot, addr: IPAddr): AddressInfo {
  const ip = formatIP(addr);
  const pool = snap.pools.find((p) => cidrContainsIP(p.cidr, addr));
  const weps = snap.workloadEndpoints.filter((w) => w.ips.includes(ip)).map((w) => `${w.namespace}/${w.name}`);
  const vb = snap.blocks.find((b) => cidrContainsIP(b.value.cidr, addr));
  const base = { ip, workloadEndpoints: weps, ...(pool ? { pool: pool.name } : {}) };
  if (!vb) return { ...base, assigned: false };
  const ord = ordinalOf(vb.value, addr);
  const attr = attributeOf(vb.value, ord);
  if (!attr && vb.value.allocations[ord] === null) return { ...base, assigned: false, block: formatCIDR(vb.value.cidr) };
  if (attr?.releasedAt !== undefined) {
    return {
      ...base,
      assigned: false,
      block: formatCIDR(vb.value.cidr),
      ...(attr.handleId ? { handle: attr.handleId } : {}),
      attributes: { ...attr.secondary },
      coolingDown: { releasedAt: attr.releasedAt, reusableAt: new Date(reusableAt(attr.releasedAt, cooldownSeconds(snap.config))).toISOString() },
    };
  }
  return {
    ...base,
    assigned: true,
    block: formatCIDR(vb.value.cidr),
    ...(attr?.handleId ? { handle: attr.handleId } : {}),
    sequenceNumber: sequenceOf(vb.value, ord),
    attributes: { ...(attr?.secondary ?? {}) },
  };
}

// ---- --show-borrowed ----

export interface BorrowedAddress {
  readonly ip: string;
  readonly borrowingNode: string;
  readonly block: string;
  /** The node the block is affine to; "" for a block with no owner. */
  readonly blockOwner: string;
  /** "pod", the tunnel type (e.g. vxlanTunnelAddress), the `type` attribute, or "" when unknown. */
  readonly type: string;
  /** "namespace/pod" for a pod, "node <name>" for a tunnel address, else "". */
  readonly allocatedTo: string;
}

export interface BorrowedReport {
  readonly borrowed: BorrowedAddress[];
  /** Allocations with no `node` attribute: whether they are borrowed cannot be told. */
  readonly unclassified: number;
}

/**
 * Addresses allocated for a node other than the block's owner (calicoctl's rule: the `node`
 * attribute differs from the block's affine node, which includes blocks with no owner).
 * Cooling addresses are owned by nobody and are not listed.
 */
export function borrowedAddresses(snap: IpamSnapshot): BorrowedReport {
  const borrowed: BorrowedAddress[] = [];
  let unclassified = 0;
  const blocks = [...snap.blocks].sort((a, b) => a.value.cidr.family - b.value.cidr.family || (a.value.cidr.base < b.value.cidr.base ? -1 : 1));
  for (const vb of blocks) {
    const b = vb.value;
    const owner = affineNode(b) ?? (b.affinity?.includes(':') ? b.affinity.slice(b.affinity.indexOf(':') + 1) : '');
    b.allocations.forEach((idx, ord) => {
      const attr = idx === null ? undefined : b.attributes[idx];
      if (idx === null || attr?.releasedAt !== undefined) return;
      const a = attr?.secondary ?? {};
      const node = a['node'];
      if (node === undefined) {
        unclassified++;
        return;
      }
      if (node === owner) return;
      const type = allocationType(attr?.handleId, a);
      const allocatedTo = a['pod'] !== undefined ? `${a['namespace'] ?? ''}/${a['pod']}` : type !== '' && TUNNEL_ATTR_TYPES.has(type) ? `node ${node}` : '';
      borrowed.push({ ip: formatIP({ family: b.cidr.family, value: b.cidr.base + BigInt(ord) }), borrowingNode: node, block: formatCIDR(b.cidr), blockOwner: owner, type, allocatedTo });
    });
  }
  return { borrowed, unclassified };
}

/** What an allocation is for: "pod" (pod attribute or a CNI handle), a tunnel type, or its `type` attribute. */
function allocationType(handleId: string | undefined, a: Readonly<Record<string, string>>): string {
  if (a['pod'] !== undefined) return 'pod';
  if (a['type'] !== undefined) return a['type'];
  const tunnel = handleId === undefined ? undefined : tunnelAttrTypeOf(handleId);
  if (tunnel) return tunnel;
  return handleId?.startsWith('k8s-pod-network.') ? 'pod' : '';
}
