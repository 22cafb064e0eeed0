// The operations behind `tabbyctl ipam show|check|release|configure`: each reads or writes the
// datastore and returns its result as data; tabbyctl prints it (ctl/ipam-text.ts). `ipam split`
// and `release --from-report` are in pool-split.ts and release-from-report.ts.

import type { Datastore } from '../datastore/index.js';
import { type IPAddr, parseIP } from '../ip/index.js';
import { BlockAllocator } from './allocator.js';
import { type CheckReport, checkIpam } from './core/check.js';
import { type ClusterMeta, clusterMetaOf } from './core/cluster-info.js';
import { isJsonObject } from '../util/index.js';
import { CLUSTER_INFORMATION_KEY, IPAM_CONFIG_KEY, type IpamConfig, DEFAULT_IPAM_CONFIG, DEFAULT_MAX_BLOCKS_PER_HOST, MAX_IP_COOLDOWN_SECONDS, decodeIpamConfig, encodeIpamConfig, ipamConfigProblems } from '../model/index.js';
import { type AddressInfo, type BorrowedReport, type UtilisationRow, addressInfo, borrowedAddresses, utilisation } from './core/show.js';
import { type IpamSnapshot, buildSnapshot } from './core/snapshot.js';
import { TABBY_VERSION } from '../version.js';
import { DEFAULT_RETRY, withRetries } from './retry.js';
import { IpamStore } from './store.js';

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
  const kv = await ds.get(CLUSTER_INFORMATION_KEY);
  return clusterMetaOf(kv?.value, kv?.revision);
}

/** One listing of /calico/: the IPAM snapshot and ClusterInformation at the same revision. */
export async function readIpamState(ds: Datastore): Promise<{ snap: IpamSnapshot; cluster: ClusterMeta }> {
  const { items, revision } = await ds.list('/calico/');
  const ci = items.find((kv) => kv.key === CLUSTER_INFORMATION_KEY);
  return { snap: buildSnapshot(items, revision), cluster: clusterMetaOf(ci?.value, ci?.revision) };
}

export type ShowResult =
  | { readonly kind: 'utilisation'; readonly rows: UtilisationRow[]; readonly config: IpamConfig }
  | { readonly kind: 'address'; readonly address: AddressInfo }
  | ({ readonly kind: 'borrowed' } & BorrowedReport)
  | { readonly kind: 'configuration'; readonly config: IpamConfig };

export interface ShowOptions {
  readonly showBlocks?: boolean;
  readonly ip?: string;
  readonly showBorrowed?: boolean;
  readonly showConfiguration?: boolean;
}

export async function ipamShow(ds: Datastore, opts: ShowOptions = {}): Promise<ShowResult> {
  const chosen = [opts.ip !== undefined && '--ip', opts.showBlocks && '--show-blocks', opts.showBorrowed && '--show-borrowed', opts.showConfiguration && '--show-configuration'].filter(Boolean);
  if (chosen.length > 1) throw new IpamOperationError('Invalid', `${chosen.join(' and ')} cannot be used together; give at most one of --ip, --show-blocks, --show-borrowed, --show-configuration`);
  const snap = await new IpamStore(ds).snapshot();
  if (opts.ip !== undefined) return { kind: 'address', address: addressInfo(snap, address(opts.ip)) };
  if (opts.showBorrowed) return { kind: 'borrowed', ...borrowedAddresses(snap) };
  if (opts.showConfiguration) return { kind: 'configuration', config: snap.config };
  return { kind: 'utilisation', rows: utilisation(snap, opts.showBlocks === true), config: snap.config };
}

export async function ipamCheck(ds: Datastore): Promise<CheckReport> {
  const { snap, cluster } = await readIpamState(ds);
  return checkIpam(snap, { version: REPORT_VERSION, cluster });
}

export interface ReleaseOptions {
  readonly ips?: readonly string[];
  readonly handle?: string;
  /** Release even when a WorkloadEndpoint still lists the address. */
  readonly force?: boolean;
}

export async function ipamRelease(ds: Datastore, opts: ReleaseOptions): Promise<{ released: string[] }> {
  const ips = opts.ips ?? [];
  if ((ips.length === 0) === (opts.handle === undefined)) throw new IpamOperationError('Invalid', 'give either --ip ADDR (repeatable) or --handle ID');
  const ipam = new BlockAllocator(ds);
  if (opts.handle !== undefined) {
    const released = await ipam.releaseByHandle(opts.handle);
    if (released.length === 0 && !(await new IpamStore(ds).getHandle(opts.handle))) {
      throw new IpamOperationError('NotFound', `handle ${opts.handle} does not exist`);
    }
    return { released };
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
  return { released };
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
export async function ipamConfigure(ds: Datastore, opts: ConfigureOptions): Promise<IpamConfig> {
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
  return withRetries('updating the IPAM configuration', DEFAULT_RETRY, async () => {
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
}
