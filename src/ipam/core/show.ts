// `ipam show`: address utilisation per pool (and per block), and who owns one address, in
// calicoctl's table form (calico-internals.md §4.6):
//   GROUPING | CIDR | IPS TOTAL | IPS IN USE | IPS FREE
// IN USE counts allocations; FREE is TOTAL minus IN USE. Totals are bigints: an IPv6 /48 holds 2^80.

import { type IPAddr, cidrContains, cidrContainsIP, cidrSize, formatCIDR, formatIP } from '../../ip/index.js';
import { allocatedCount, attributeOf, ordinalOf, sequenceOf } from './block.js';
import type { IpamSnapshot } from './snapshot.js';

export interface UtilisationRow {
  readonly grouping: 'IP Pool' | 'Block';
  readonly name?: string;
  readonly cidr: string;
  readonly total: bigint;
  readonly inUse: bigint;
  readonly free: bigint;
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
    const total = cidrSize(pool.cidr);
    rows.push({ grouping: 'IP Pool', name: pool.name, cidr: formatCIDR(pool.cidr), total, inUse, free: total - inUse });
    if (!showBlocks) continue;
    for (const vb of blocks) {
      const t = cidrSize(vb.value.cidr);
      const u = BigInt(allocatedCount(vb.value));
      rows.push({ grouping: 'Block', cidr: formatCIDR(vb.value.cidr), total: t, inUse: u, free: t - u, ...(vb.value.affinity ? { affinity: vb.value.affinity } : {}) });
    }
  }
  return rows;
}

function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0%';
  return `${Number((part * 100n + whole / 2n) / whole)}%`;
}

/** calicoctl's bordered table; numbers right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], rightAlign: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const line = (cells: readonly string[], head: boolean) =>
    `| ${cells.map((c, i) => (head ? centre(c, widths[i]!) : rightAlign.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [rule, line(header, true), rule, ...rows.map((r) => line(r, false)), rule].join('\n') + '\n';
}

export function renderUtilisation(rows: readonly UtilisationRow[]): string {
  return renderTable(
    ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'],
    rows.map((r) => [r.grouping, r.cidr, r.total.toString(), `${r.inUse} (${percent(r.inUse, r.total)})`, `${r.free} (${percent(r.free, r.total)})`]),
    new Set([2]),
  );
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
  return {
    ...base,
    assigned: true,
    block: formatCIDR(vb.value.cidr),
    ...(attr?.handleId ? { handle: attr.handleId } : {}),
    sequenceNumber: sequenceOf(vb.value, ord),
    attributes: { ...(attr?.secondary ?? {}) },
  };
}

export function renderAddressInfo(info: AddressInfo): string {
  if (!info.assigned) {
    return `IP ${info.ip} is not currently assigned${info.pool ? ` (pool ${info.pool})` : ' and is in no IP pool'}\n`;
  }
  const lines = [`IP ${info.ip} is in use`, `Handle ID: ${info.handle ?? '(none)'}`, `Block: ${info.block}`, 'Active Owner Attributes:'];
  for (const k of Object.keys(info.attributes ?? {}).sort()) lines.push(`  ${k}: ${info.attributes![k]}`);
  if (info.workloadEndpoints.length > 0) lines.push(`WorkloadEndpoint: ${info.workloadEndpoints.join(', ')}`);
  return lines.join('\n') + '\n';
}
