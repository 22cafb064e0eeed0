// The operations behind `tabbyctl ipam show|check|release|configure`: each reads or writes the
// datastore and returns its result as data plus the text calicoctl would print, so the CLI layer
// only chooses between them (and tests check both without a process).

import type { Datastore } from '../datastore/datastore.js';
import { type IPAddr, parseIP } from '../ip/index.js';
import { BlockAllocator } from './allocator.js';
import { IpamError } from './api.js';
import { type CheckReport, checkIpam, renderCheck } from './core/check.js';
import { IPAM_CONFIG_KEY } from './core/keys.js';
import { type IpamConfig, DEFAULT_IPAM_CONFIG, DEFAULT_MAX_BLOCKS_PER_HOST, encodeIpamConfig } from './core/records.js';
import { type AddressInfo, type UtilisationRow, addressInfo, renderAddressInfo, renderUtilisation, utilisation } from './core/show.js';
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

export type ShowData =
  | { readonly kind: 'utilisation'; readonly rows: (Omit<UtilisationRow, 'total' | 'inUse' | 'free'> & { total: string; inUse: string; free: string })[] }
  | { readonly kind: 'address'; readonly address: AddressInfo };

export async function ipamShow(ds: Datastore, opts: { showBlocks?: boolean; ip?: string } = {}): Promise<Rendered<ShowData>> {
  const snap = await new IpamStore(ds).snapshot();
  if (opts.ip !== undefined) {
    const info = addressInfo(snap, address(opts.ip));
    return { data: { kind: 'address', address: info }, text: renderAddressInfo(info) };
  }
  const rows = utilisation(snap, opts.showBlocks === true);
  return {
    data: { kind: 'utilisation', rows: rows.map((r) => ({ ...r, total: r.total.toString(), inUse: r.inUse.toString(), free: r.free.toString() })) },
    text: rows.length === 0 ? 'No IP pools are configured.\n' : renderUtilisation(rows),
  };
}

export async function ipamCheck(ds: Datastore, opts: { showAllIps?: boolean } = {}): Promise<Rendered<CheckReport>> {
  const report = checkIpam(await new IpamStore(ds).snapshot());
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
}

export async function ipamConfigure(ds: Datastore, opts: ConfigureOptions): Promise<Rendered<IpamConfig>> {
  if (opts.strictAffinity === undefined && opts.maxBlocksPerHost === undefined) {
    throw new IpamOperationError('Invalid', 'nothing to configure: give --strictaffinity=true|false and/or --max-blocks-per-host N');
  }
  if (opts.maxBlocksPerHost !== undefined && (!Number.isInteger(opts.maxBlocksPerHost) || opts.maxBlocksPerHost < 0)) {
    throw new IpamOperationError('Invalid', `--max-blocks-per-host must be a whole number >= 0 (0 means the default, ${DEFAULT_MAX_BLOCKS_PER_HOST}); got ${opts.maxBlocksPerHost}`);
  }
  const store = new IpamStore(ds);
  const config = await withRetries('updating the IPAM configuration', DEFAULT_RETRY, async () => {
    const cur = await store.getConfig();
    const next: IpamConfig = {
      ...(cur?.value ?? DEFAULT_IPAM_CONFIG),
      ...(opts.strictAffinity === undefined ? {} : { strictAffinity: opts.strictAffinity }),
      ...(opts.maxBlocksPerHost === undefined ? {} : { maxBlocksPerHost: opts.maxBlocksPerHost }),
    };
    if (cur) await ds.update(IPAM_CONFIG_KEY, encodeIpamConfig(next), cur.revision);
    else await ds.create(IPAM_CONFIG_KEY, encodeIpamConfig(next));
    return next;
  });
  const lines: string[] = [];
  if (opts.strictAffinity !== undefined) lines.push(`Successfully set StrictAffinity to: ${config.strictAffinity}`);
  if (opts.maxBlocksPerHost !== undefined) lines.push(`Successfully set MaxBlocksPerHost to: ${config.maxBlocksPerHost}${config.maxBlocksPerHost === 0 ? ` (the default, ${DEFAULT_MAX_BLOCKS_PER_HOST})` : ''}`);
  return { data: config, text: lines.join('\n') + '\n' };
}

export { IpamError };
