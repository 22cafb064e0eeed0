// Getting a workload its addresses from Tabby IPAM (calico-internals.md §4.4), for both plugins.
//
// - Pools: pod annotation > namespace annotation > CNI config ipv4_pools/ipv6_pools > any
//   matching pool (`cni.projectcalico.org/ipv4pools` / `ipv6pools`, JSON lists of names or CIDRs).
// - Fixed addresses: `cni.projectcalico.org/ipAddrs` (JSON list), or CNI_ARGS IP= for tabby-ipam.
// - Dual stack: a half success is released and the request fails.
// - Failure after a partial assignment releases everything assigned under the handle.
// IPAM and datastore errors become CNI errors here: transient ones (CAS retries exhausted,
// datastore unavailable) are code 11 "try again later", the rest code 100.

import { isDatastoreError } from '../datastore/index.js';
import { tryParseIP } from '../ip/index.js';
import { type AllocationAttrs, type AssignedAddress, type Ipam, IpamError } from '../ipam/index.js';
import { CniCode, CniError } from './errors.js';

export interface AddressRequest {
  readonly handleId: string;
  readonly node: string;
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
  /** Exact addresses to assign instead of choosing from pools. */
  readonly fixed?: readonly string[];
  readonly attrs: AllocationAttrs;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

export interface Allocation {
  readonly addresses: readonly AssignedAddress[];
}

/** An IPAM or datastore failure as the CNI error a runtime should see. */
export function ipamFailure(err: unknown, what: string): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof IpamError) {
    const code = err.code === 'RetriesExhausted' ? CniCode.TryAgainLater : CniCode.IpamFailure;
    return new CniError(code, `${what}: ${err.message}`, undefined, { cause: err });
  }
  if (isDatastoreError(err, 'Unavailable')) return new CniError(CniCode.TryAgainLater, `${what}: datastore unavailable: ${err.message}`, undefined, { cause: err });
  if (isDatastoreError(err)) return new CniError(CniCode.DatastoreFailure, `${what}: ${err.message}`, undefined, { cause: err });
  return new CniError(CniCode.Internal, `${what}: ${(err as Error).message ?? String(err)}`, undefined, { cause: err });
}

export async function allocateAddresses(ipam: Ipam, req: AddressRequest): Promise<Allocation> {
  if (req.fixed && req.fixed.length > 0) return assignFixed(ipam, req, req.fixed);
  const num4 = req.assignIpv4 ? 1 : 0;
  const num6 = req.assignIpv6 ? 1 : 0;
  let result;
  try {
    result = await ipam.autoAssign({
      handleId: req.handleId,
      node: req.node,
      num4,
      num6,
      attrs: req.attrs,
      intendedUse: 'Workload',
      ...(req.ipv4Pools.length ? { ipv4Pools: req.ipv4Pools } : {}),
      ...(req.ipv6Pools.length ? { ipv6Pools: req.ipv6Pools } : {}),
      ...(req.namespaceLabels ? { namespaceLabels: req.namespaceLabels } : {}),
    });
  } catch (err) {
    await releaseQuietly(ipam, req.handleId);
    throw ipamFailure(err, `assigning addresses for ${req.handleId}`);
  }
  const short = [...(result.ipv4.length < num4 ? ['IPv4'] : []), ...(result.ipv6.length < num6 ? ['IPv6'] : [])];
  if (short.length > 0) {
    await releaseQuietly(ipam, req.handleId);
    throw new CniError(
      CniCode.IpamFailure,
      `no ${short.join(' and ')} address available for ${req.handleId} on node ${req.node}` +
        (result.ipv4.length + result.ipv6.length > 0 ? '; the addresses of the other family were released' : ''),
    );
  }
  return { addresses: [...result.ipv4.slice(0, num4), ...result.ipv6.slice(0, num6)] };
}

async function assignFixed(ipam: Ipam, req: AddressRequest, fixed: readonly string[]): Promise<Allocation> {
  const out: AssignedAddress[] = [];
  for (const text of fixed) {
    if (!tryParseIP(text)) {
      await releaseQuietly(ipam, req.handleId);
      throw new CniError(CniCode.InvalidNetworkConfig, `requested address ${JSON.stringify(text)} is not an IP address`);
    }
    try {
      out.push(await ipam.assignIP({ ip: text, handleId: req.handleId, node: req.node, attrs: req.attrs, intendedUse: 'Workload' }));
    } catch (err) {
      await releaseQuietly(ipam, req.handleId);
      throw ipamFailure(err, `assigning requested address ${text} to ${req.handleId}`);
    }
  }
  return { addresses: out };
}

/** Releases a handle during cleanup, where a second failure must not hide the first. */
export async function releaseQuietly(ipam: Ipam, handleId: string): Promise<void> {
  try {
    await ipam.releaseByHandle(handleId);
  } catch {
    // The original error is what the runtime needs to see; GC frees a leftover allocation.
  }
}
