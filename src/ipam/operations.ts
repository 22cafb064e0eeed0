// The operations behind `tabbyctl ipam show|check|release|configure`: each reads or writes the
// datastore and returns its result as data plus the text calicoctl would print, so the CLI layer
// only chooses between them (and tests check both without a process). `ipam split` and
// `release --from-report` are in src/ctl/ipam-split.ts and src/ctl/ipam-report.ts.

import type { Datastore } from '../datastore/index.js';
import { type IPAddr, parseIP } from '../ip/index.js';
import { BlockAllocator } from './allocator.js';
import { IpamError } from './api.js';
import { type CheckReport, checkIpam, renderCheck } from './core/check.js';
import { CLUSTER_INFO_KEY, type ClusterMeta, clusterMetaOf } from './core/cluster-info.js';
import { isJsonObject } from '../util/index.js';
import { IPAM_CONFIG_KEY, type IpamConfig, DEFAULT_IPAM_CONFIG, DEFAULT_MAX_BLOCKS_PER_HOST, MAX_IP_COOLDOWN_SECONDS, cooldownSeconds, decodeIpamConfig, encodeIpamConfig, ipamConfigProblems } from '../model/index.js';
import {
  type AddressInfo,
  type BorrowedReport,
  type ConfigurationRow,
  type UtilisationRow,
  addressInfo,
  borrowedAddresses,
  configurationRows,
  renderAddressInfo,
  renderBorrowed,
  renderConfiguration,
  renderUtilisation,
  utilisation,
} from './core/show.js';
import { type IpamSnapshot, buildSnapshot } from './core/snapshot.js';
import { TABBY_VERSION } from '../version.js';
import { DEFAULT_RETRY, withRetries } from './retry.js';
import { IpamStore } from './store.js';

export interface Rendered<T> {
  readonly data: T;
  readonly text: string;
}

/** An operation's failure with the datastore's vocabulary of codes (so exit codes follow). */
export class IpamOperationError extends Error {
  override readonly name = 'IpamOperationError';
  constructor(readonly code: 'NotFound' | 'Invalid' | 'Conflict', message: string) {
    super(message);
  }
}

function address(text: string): IPAddr {
  try {
    return parseIP(text);
  } catch (e) {
    throw new IpamOperationError('Invalid', `--ip: ${(e as Error).message}`);
  }
}

/** The version written into check reports and compared by release --from-report. */
export const REPORT_VERSION = `v${TABBY_VERSION}`;

/** ClusterInformation `default` as the maintenance commands read it. */
export async function readClusterMeta(ds: Datastore): Promise<ClusterMeta> {
  const kv = await ds.get(CLUSTER_INFO_KEY);
  return clusterMetaOf(kv?.value, kv?.revision);
}

/** One listing of /calico/: the IPAM snapshot and ClusterInformation at the same revision. */
export async function readIpamState(ds: Datastore): Promise<{ snap: IpamSnapshot; cluster: ClusterMeta }> {
  const { items, revision } = await ds.list('/calico/');
  const ci = items.find((kv) => kv.key === CLUSTER_INFO_KEY);
  return { snap: buildSnapshot(items, revision), cluster: clusterMetaOf(ci?.value, ci?.revision) };
}

type Counts = 'total' | 'inUse' | 'free' | 'coolingDown';

export type ShowData =
  | { readonly kind: 'utilisation'; readonly rows: (Omit<UtilisationRow, Counts> & Record<Counts, string>)[] }
  | { readonly kind: 'address'; readonly address: AddressInfo }
  | ({ readonly kind: 'borrowed' } & BorrowedReport)
  | { readonly kind: 'configuration'; readonly config: Required<IpamConfig>; readonly rows: ConfigurationRow[] };

export interface ShowOptions {
  readonly showBlocks?: boolean;
  readonly ip?: string;
  readonly showBorrowed?: boolean;
  readonly showConfiguration?: boolean;
}

export async function ipamShow(ds: Datastore, opts: ShowOptions = {}): Promise<Rendered<ShowData>> {
  const chosen = [opts.ip !== undefined && '--ip', opts.showBlocks && '--show-blocks', opts.showBorrowed && '--show-borrowed', opts.showConfiguration && '--show-configuration'].filter(Boolean);
  if (chosen.length > 1) throw new IpamOperationError('Invalid', `${chosen.join(' and ')} cannot be used together; give at most one of --ip, --show-blocks, --show-borrowed, --show-configuration`);
  const snap = await new IpamStore(ds).snapshot();
  if (opts.ip !== undefined) {
    const info = addressInfo(snap, address(opts.ip));
    return { data: { kind: 'address', address: info }, text: renderAddressInfo(info) };
  }
  if (opts.showBorrowed) {
    const r = borrowedAddresses(snap);
    return { data: { kind: 'borrowed', ...r }, text: renderBorrowed(r) };
  }
  if (opts.showConfiguration) {
    const c = snap.config;
    return {
      data: { kind: 'configuration', config: { strictAffinity: c.strictAffinity, autoAllocateBlocks: c.autoAllocateBlocks, maxBlocksPerHost: c.maxBlocksPerHost, ipCooldownSeconds: cooldownSeconds(c) }, rows: configurationRows(c) },
      text: renderConfiguration(c),
    };
  }
  const rows = utilisation(snap, opts.showBlocks === true);
  return {
    data: { kind: 'utilisation', rows: rows.map((r) => ({ ...r, total: r.total.toString(), inUse: r.inUse.toString(), free: r.free.toString(), coolingDown: r.coolingDown.toString() })) },
    text: rows.length === 0 ? 'No IP pools are configured.\n' : renderUtilisation(rows, snap.config),
  };
}

export async function ipamCheck(ds: Datastore, opts: { showAllIps?: boolean } = {}): Promise<Rendered<CheckReport>> {
  const { snap, cluster } = await readIpamState(ds);
  const report = checkIpam(snap, { version: REPORT_VERSION, cluster });
  return { data: report, text: renderCheck(report, opts) };
}

export interface ReleaseOptions {
  readonly ips?: readonly string[];
  readonly handle?: string;
  /** Release even when a WorkloadEndpoint still lists the address. */
  readonly force?: boolean;
}

export async function ipamRelease(ds: Datastore, opts: ReleaseOptions): Promise<Rendered<{ released: string[] }>> {
  const ips = opts.ips ?? [];
  if ((ips.length === 0) === (opts.handle === undefined)) throw new IpamOperationError('Invalid', 'give either --ip ADDR (repeatable) or --handle ID');
  const ipam = new BlockAllocator(ds);
  if (opts.handle !== undefined) {
    const released = await ipam.releaseByHandle(opts.handle);
    if (released.length === 0 && !(await new IpamStore(ds).getHandle(opts.handle))) {
      throw new IpamOperationError('NotFound', `handle ${opts.handle} does not exist`);
    }
    return { data: { released }, text: `Released ${released.length} addresses of handle ${opts.handle}${released.length ? `: ${released.join(', ')}` : ''}\n` };
  }
  const store = new IpamStore(ds);
  const snap = await store.snapshot();
  for (const ip of ips) {
    const info = addressInfo(snap, address(ip));
    if (info.coolingDown) throw new IpamOperationError('NotFound', `IP address ${info.ip} is not assigned: it was released at ${info.coolingDown.releasedAt} and is cooling down until ${info.coolingDown.reusableAt}`);
    if (!info.assigned) throw new IpamOperationError('NotFound', `IP address ${info.ip} is not assigned${info.pool ? '' : ' and is in no IP pool'}`);
    if (info.workloadEndpoints.length > 0 && !opts.force) {
      throw new IpamOperationError('Conflict', `IP address ${info.ip} is in use by WorkloadEndpoint ${info.workloadEndpoints.join(', ')}; releasing it would let IPAM hand it out twice (use --force to release anyway)`);
    }
  }
  // Guard each release with the owner seen above: if it changed meanwhile, nothing is freed.
  const reqs = ips.map((ip) => {
    const info = addressInfo(snap, address(ip));
    return { ip: info.ip, ...(info.sequenceNumber === undefined ? {} : { sequenceNumber: info.sequenceNumber }) };
  });
  const released = await ipam.releaseIPs(reqs);
  const missed = reqs.filter((r) => !released.includes(r.ip)).map((r) => r.ip);
  if (missed.length > 0) throw new IpamOperationError('Conflict', `IP address ${missed.join(', ')} changed owner while releasing; nothing released for it (look again with tabbyctl ipam show --ip)`);
  return { data: { released }, text: released.map((ip) => `Successfully released IP address ${ip}\n`).join('') };
}

export interface ConfigureOptions {
  readonly strictAffinity?: boolean;
  readonly maxBlocksPerHost?: number;
  readonly ipCooldownSeconds?: number;
}

/**
 * Change the stored configuration, keeping fields this version does not know (written by Calico)
 * as they are. The result must pass Calico's cross-field rules (records.ts ipamConfigProblems),
 * else nothing is written.
 */
export async function ipamConfigure(ds: Datastore, opts: ConfigureOptions): Promise<Rendered<IpamConfig>> {
  if (opts.strictAffinity === undefined && opts.maxBlocksPerHost === undefined && opts.ipCooldownSeconds === undefined) {
    throw new IpamOperationError('Invalid', 'nothing to configure: give --strictaffinity=true|false, --max-blocks-per-host N and/or --ip-cooldown-seconds N');
  }
  if (opts.maxBlocksPerHost !== undefined && (!Number.isInteger(opts.maxBlocksPerHost) || opts.maxBlocksPerHost < 0)) {
    throw new IpamOperationError('Invalid', `--max-blocks-per-host must be a whole number >= 0 (0 means the default, ${DEFAULT_MAX_BLOCKS_PER_HOST}); got ${opts.maxBlocksPerHost}`);
  }
  const cool = opts.ipCooldownSeconds;
  if (cool !== undefined && (!Number.isInteger(cool) || cool < 0 || cool > MAX_IP_COOLDOWN_SECONDS)) {
    throw new IpamOperationError('Invalid', `--ip-cooldown-seconds must be a whole number of seconds in 0..${MAX_IP_COOLDOWN_SECONDS} (0 reuses released addresses at once); got ${cool}`);
  }
  const config = await withRetries('updating the IPAM configuration', DEFAULT_RETRY, async () => {
    const cur = await ds.get(IPAM_CONFIG_KEY);
    const before = cur ? decodeIpamConfig(cur.value) : DEFAULT_IPAM_CONFIG;
    const next: IpamConfig = {
      ...before,
      ...(opts.strictAffinity === undefined ? {} : { strictAffinity: opts.strictAffinity }),
      ...(opts.maxBlocksPerHost === undefined ? {} : { maxBlocksPerHost: opts.maxBlocksPerHost }),
      ...(cool === undefined ? {} : { ipCooldownSeconds: cool }),
    };
    const problems = ipamConfigProblems(next);
    if (problems.length > 0) throw new IpamOperationError('Invalid', `IPAM configuration not changed: ${problems.join('; ')}`);
    const known = encodeIpamConfig(next) as Record<string, unknown>;
    const kept = cur && isJsonObject(cur.value) ? { ...cur.value } : {};
    delete kept['ipCooldownSeconds']; // written only when non-zero (omitempty)
    const value = { ...kept, ...known } as never;
    if (cur) await ds.update(IPAM_CONFIG_KEY, value, cur.revision);
    else await ds.create(IPAM_CONFIG_KEY, value);
    return next;
  });
  const lines: string[] = [];
  if (opts.strictAffinity !== undefined) lines.push(`Successfully set StrictAffinity to: ${config.strictAffinity}`);
  if (opts.maxBlocksPerHost !== undefined) lines.push(`Successfully set MaxBlocksPerHost to: ${config.maxBlocksPerHost}${config.maxBlocksPerHost === 0 ? ` (the default, ${DEFAULT_MAX_BLOCKS_PER_HOST})` : ''}`);
  if (cool !== undefined) lines.push(`Successfully set IPCooldownSeconds to: ${cooldownSeconds(config)}`);
  return { data: config, text: lines.join('\n') + '\n' };
}

export { IpamError };
