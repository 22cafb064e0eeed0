// What `tabbyctl ipam` prints: calicoctl's text (bordered tables, its sentences) and the JSON
// shapes of `-o json`, from the data the IPAM library returns. Pure formatting.

import { DEFAULT_MAX_BLOCKS_PER_HOST, type IpamConfig, cooldownSeconds } from '../model/index.js';
import { type AddressInfo, type BorrowedReport, type CheckReport, type ConfigureOptions, type ReportReleaseResult, type ShowResult, type SplitResult, UNLOCK_HINT, type UtilisationRow } from '../ipam/index.js';

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

// ---- ipam show ----

function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0%';
  return `${Number((part * 100n + whole / 2n) / whole)}%`;
}

/** GROUPING | CIDR | IPS TOTAL | IPS IN USE | IPS FREE, and a note on addresses still cooling down. */
export function renderUtilisation(rows: readonly UtilisationRow[], config?: IpamConfig): string {
  const table = renderTable(
    ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'],
    rows.map((r) => [r.grouping, r.cidr, r.total.toString(), `${r.inUse} (${percent(r.inUse, r.total)})`, `${r.free} (${percent(r.free, r.total)})`]),
    new Set([2]),
  );
  const cooling = rows.filter((r) => r.grouping === 'IP Pool').reduce((n, r) => n + r.coolingDown, 0n);
  if (cooling === 0n) return table;
  const seconds = config ? ` (ipCooldownSeconds ${cooldownSeconds(config)})` : '';
  return `${table}\n${cooling} of the addresses in use were released and are cooling down before reuse${seconds}.\n`;
}

export function renderAddressInfo(info: AddressInfo): string {
  const attributes = () => Object.keys(info.attributes ?? {}).sort().map((k) => `  ${k}: ${info.attributes![k]}`);
  if (info.coolingDown) {
    const head = `IP ${info.ip} is not currently assigned: it was released at ${info.coolingDown.releasedAt} and is cooling down until ${info.coolingDown.reusableAt}`;
    return [head, `Previous Handle ID: ${info.handle ?? '(none)'}`, `Block: ${info.block}`, 'Previous Owner Attributes:', ...attributes()].join('\n') + '\n';
  }
  if (!info.assigned) return `IP ${info.ip} is not currently assigned${info.pool ? ` (pool ${info.pool})` : ' and is in no IP pool'}\n`;
  const lines = [`IP ${info.ip} is in use`, `Handle ID: ${info.handle ?? '(none)'}`, `Block: ${info.block}`, 'Active Owner Attributes:', ...attributes()];
  if (info.workloadEndpoints.length > 0) lines.push(`WorkloadEndpoint: ${info.workloadEndpoints.join(', ')}`);
  return lines.join('\n') + '\n';
}

export function renderBorrowed(r: BorrowedReport): string {
  const table = renderTable(
    ['IP', 'BORROWING-NODE', 'BLOCK', 'BLOCK OWNER', 'TYPE', 'ALLOCATED-TO'],
    r.borrowed.map((x) => [x.ip, x.borrowingNode, x.block, x.blockOwner, x.type, x.allocatedTo]),
  );
  const note = r.unclassified > 0 ? `\nNote: found ${r.unclassified} IP allocations without an explicit node association. Unable to determine if they are borrowed.\n` : '';
  return table + note;
}

/** calicoctl prints the Go field names; Tabby's model has no KubeVirtVMAddressPersistence. */
export function configurationRows(c: IpamConfig): { property: string; value: string }[] {
  return [
    { property: 'StrictAffinity', value: String(c.strictAffinity) },
    { property: 'AutoAllocateBlocks', value: String(c.autoAllocateBlocks) },
    { property: 'MaxBlocksPerHost', value: c.maxBlocksPerHost === 0 ? `0 (the default, ${DEFAULT_MAX_BLOCKS_PER_HOST})` : String(c.maxBlocksPerHost) },
    { property: 'IPCooldownSeconds', value: String(cooldownSeconds(c)) },
  ];
}

export function showText(r: ShowResult): string {
  if (r.kind === 'address') return renderAddressInfo(r.address);
  if (r.kind === 'borrowed') return renderBorrowed(r);
  if (r.kind === 'configuration') return renderTable(['PROPERTY', 'VALUE'], configurationRows(r.config).map((x) => [x.property, x.value]));
  return r.rows.length === 0 ? 'No IP pools are configured.\n' : renderUtilisation(r.rows, r.config);
}

/** `-o json`: counts as strings (an IPv6 pool's total passes 2^53), the configuration with its rows. */
export function showJson(r: ShowResult): unknown {
  if (r.kind === 'utilisation') return { kind: r.kind, rows: r.rows.map((x) => ({ ...x, total: x.total.toString(), inUse: x.inUse.toString(), free: x.free.toString(), coolingDown: x.coolingDown.toString() })) };
  if (r.kind !== 'configuration') return r;
  const c = r.config;
  return { kind: r.kind, config: { strictAffinity: c.strictAffinity, autoAllocateBlocks: c.autoAllocateBlocks, maxBlocksPerHost: c.maxBlocksPerHost, ipCooldownSeconds: cooldownSeconds(c) }, rows: configurationRows(c) };
}

// ---- ipam check ----

export function renderCheck(r: CheckReport, opts: { showAllIps?: boolean } = {}): string {
  const s = r.summary;
  const lines = [
    'Checking IPAM for inconsistencies...',
    '',
    `Found ${s.pools} IP pools, ${s.blocks} IPAM blocks, ${s.handles} IPAM handles.`,
    `Found ${s.allocated} allocated addresses: ${s.inUseWorkload} in use by workloads, ${s.inUseTunnel} node tunnel addresses, ${s.leaked} leaked, ${s.unowned} unowned.`,
    ...(s.coolingDown > 0 ? [`Found ${s.coolingDown} released addresses cooling down before reuse (not a problem).`] : []),
  ];
  if (opts.showAllIps) {
    lines.push('', 'Allocated addresses:');
    for (const [ip, list] of Object.entries(r.allocations)) {
      for (const a of list) {
        const extra = a.coolingDown ? `  reusable from ${a.reusableAt}` : a.borrowed ? '  borrowed' : '';
        lines.push(`  ${ip}  ${a.state}${a.owners.length ? ` (${a.owners.join(', ')})` : ''}  handle=${a.handle ?? '-'}  block=${a.block}${extra}`);
      }
    }
  }
  if (r.problems.length > 0) {
    lines.push('', 'Problems:');
    for (const p of r.problems) lines.push(`  [${p.kind}] ${p.message}`);
  }
  lines.push('', `Check complete; found ${r.problems.length} problems.`);
  return lines.join('\n') + '\n';
}

// ---- ipam release, configure, split ----

export function releaseText(released: readonly string[], handle: string | undefined): string {
  if (handle !== undefined) return `Released ${released.length} addresses of handle ${handle}${released.length ? `: ${released.join(', ')}` : ''}\n`;
  return released.map((ip) => `Successfully released IP address ${ip}\n`).join('');
}

export function reportReleaseText(r: ReportReleaseResult): string {
  const lines = [...r.warnings];
  const listed = r.released.length + r.alreadyReleased.length + r.changed.length;
  if (listed === 0) lines.push("The report didn't list any leaked addresses to release.");
  else {
    lines.push(`Releasing ${listed} leaked addresses...`, `Released ${r.released.length} IPs successfully${r.released.length ? `: ${r.released.join(', ')}` : ''}`);
    if (r.alreadyReleased.length) lines.push(`${r.alreadyReleased.length} addresses marked as leaked in the report had already been released: ${r.alreadyReleased.join(', ')}`);
    if (r.changed.length) lines.push(`${r.changed.length} addresses were assigned again or are in use since the report and were left alone: ${r.changed.join(', ')}`);
  }
  const skipped = r.handlesSkipped;
  if (r.handlesDeleted.length + skipped.length === 0) lines.push("The report didn't list any leaked handles to delete.");
  else lines.push(`Deleted ${r.handlesDeleted.length} leaked handles; ${skipped.length} skipped because they changed since the report${skipped.length ? ` (${skipped.join(', ')})` : ''}.`);
  lines.push(`You may now unlock the datastore: ${UNLOCK_HINT}`);
  return lines.join('\n') + '\n';
}

export function configureText(asked: ConfigureOptions, config: IpamConfig): string {
  const lines: string[] = [];
  if (asked.strictAffinity !== undefined) lines.push(`Successfully set StrictAffinity to: ${config.strictAffinity}`);
  if (asked.maxBlocksPerHost !== undefined) lines.push(`Successfully set MaxBlocksPerHost to: ${config.maxBlocksPerHost}${config.maxBlocksPerHost === 0 ? ` (the default, ${DEFAULT_MAX_BLOCKS_PER_HOST})` : ''}`);
  if (asked.ipCooldownSeconds !== undefined) lines.push(`Successfully set IPCooldownSeconds to: ${cooldownSeconds(config)}`);
  return lines.join('\n') + '\n';
}

export function splitText(r: SplitResult): string {
  const lines = [`IP Pool ${r.pool} was successfully split into ${r.created.length} smaller pools.`, ...r.created.map((c) => `Created ${c.name} with CIDR ${c.cidr}.`), `When done, unlock the datastore: ${UNLOCK_HINT}`];
  return lines.join('\n') + '\n';
}
