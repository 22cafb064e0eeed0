// IP pools as IPAM sees them, and Calico's rules for choosing the pools of a request
// (calico-internals.md §2.1, §4.2 step 1):
//   - pools named explicitly (by name or CIDR) are used unconditionally — selectors ignored — but
//     must exist, be of the right family and be enabled;
//   - otherwise: enabled pools with assignmentMode Automatic whose nodeSelector matches the
//     node's labels and whose namespaceSelector matches the namespace's labels;
//   - in both cases the pool's allowedUses must include the intended use.

import { type CIDR, type IPFamily, cidrsOverlap, formatCIDR, parseCIDR, tryParseCIDR } from '../../ip/index.js';
import { type ResourceObject, validateResource } from '../../model/index.js';
import { isJsonObject, type JsonValue } from '../../util/index.js';

export type IntendedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';
export type Labels = Readonly<Record<string, string>>;

/** What IPAM needs of a selector; the selector module provides it. */
export interface LabelMatcher {
  matches(labels: Labels): boolean;
}
export type SelectorParser = (text: string) => LabelMatcher;

export interface IpamPool {
  readonly name: string;
  readonly cidr: CIDR;
  readonly blockSize: number;
  readonly disabled: boolean;
  readonly nodeSelector: string;
  /** Empty selects every namespace. */
  readonly namespaceSelector: string;
  readonly allowedUses: readonly IntendedUse[];
  readonly assignmentMode: 'Automatic' | 'Manual';
  readonly ipipMode: string;
  readonly vxlanMode: string;
  /** metadata.creationTimestamp ('' when unknown): the older of two overlapping pools wins. */
  readonly createdAt: string;
}

export class PoolDecodeError extends Error {
  override readonly name = 'PoolDecodeError';
  readonly code = 'InvalidPool';
}

export const DEFAULT_BLOCK_SIZE: Record<IPFamily, number> = { 4: 26, 6: 122 };
const USES: readonly IntendedUse[] = ['Workload', 'Tunnel', 'LoadBalancer'];

/**
 * An IPPool resource as stored (v3 JSON), validated and defaulted by the resource model (so IPAM
 * and `tabbyctl apply` agree on what a valid pool is); throws PoolDecodeError naming the key,
 * the field and the rule.
 */
export function poolFromResource(value: JsonValue, key: string): IpamPool {
  if (!isJsonObject(value)) throw new PoolDecodeError(`${key}: IPPool value is not an object`);
  let pool: ResourceObject;
  try {
    pool = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', ...value }, { source: key });
  } catch (e) {
    throw new PoolDecodeError((e as Error).message);
  }
  const spec = (pool as unknown as { spec: Record<string, unknown> }).spec;
  const cidr = parseCIDR(String(spec['cidr']));
  const str = (v: unknown, dflt: string) => (typeof v === 'string' && v.trim() !== '' ? v : dflt);
  const uses = Array.isArray(spec['allowedUses']) && spec['allowedUses'].length > 0 ? (spec['allowedUses'] as IntendedUse[]) : (['Workload', 'Tunnel'] as IntendedUse[]);
  const bs = spec['blockSize'];
  return {
    name: pool.metadata.name ?? key.slice(key.lastIndexOf('/') + 1),
    cidr,
    blockSize: typeof bs === 'number' && bs > 0 ? bs : DEFAULT_BLOCK_SIZE[cidr.family],
    disabled: spec['disabled'] === true,
    nodeSelector: str(spec['nodeSelector'], 'all()'),
    namespaceSelector: str(spec['namespaceSelector'], ''),
    allowedUses: uses.filter((u) => USES.includes(u)),
    assignmentMode: spec['assignmentMode'] === 'Manual' ? 'Manual' : 'Automatic',
    ipipMode: str(spec['ipipMode'], 'Never'),
    vxlanMode: str(spec['vxlanMode'], 'Never'),
    createdAt: pool.metadata.creationTimestamp ?? '',
  };
}

export interface PoolSelection {
  readonly family: IPFamily;
  /** Names or CIDRs requested explicitly; empty or absent = choose automatically. */
  readonly explicit?: readonly string[];
  readonly nodeLabels: Labels;
  readonly namespaceLabels?: Labels;
  readonly use: IntendedUse;
}

export type PoolChoice =
  | { readonly ok: true; readonly pools: IpamPool[] }
  | { readonly ok: false; readonly code: 'NoQualifiedPool' | 'InvalidRequest'; readonly message: string };

/** Does `ref` (a pool name or CIDR text) name this pool? */
export function poolMatchesRef(pool: IpamPool, ref: string): boolean {
  if (pool.name === ref) return true;
  const c = tryParseCIDR(ref);
  return c !== undefined && formatCIDR(c) === formatCIDR(pool.cidr);
}

/**
 * Pools that overlap an older pool (by creationTimestamp, then name) are not allocatable, as
 * Calico marks them (status condition Allocatable=False, reason CIDROverlap): two pools handing out
 * one range could give one address to two workloads. Returns each such pool with the pool it lost to.
 */
export function overlapLosers(pools: readonly IpamPool[]): Map<IpamPool, IpamPool> {
  const order = [...pools].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const losers = new Map<IpamPool, IpamPool>();
  order.forEach((p, i) => {
    const winner = order.slice(0, i).find((q) => !losers.has(q) && cidrsOverlap(q.cidr, p.cidr));
    if (winner) losers.set(p, winner);
  });
  return losers;
}

export function choosePools(all: readonly IpamPool[], sel: PoolSelection, parseSelector: SelectorParser): PoolChoice {
  const fam = `IPv${sel.family}`;
  const losers = overlapLosers(all);
  if (sel.explicit && sel.explicit.length > 0) {
    const chosen: IpamPool[] = [];
    for (const ref of sel.explicit) {
      const pool = all.find((p) => poolMatchesRef(p, ref));
      if (!pool) return { ok: false, code: 'NoQualifiedPool', message: `requested ${fam} pool "${ref}" does not exist (give a pool name or its exact CIDR)` };
      if (pool.cidr.family !== sel.family) {
        return { ok: false, code: 'InvalidRequest', message: `requested ${fam} pool "${ref}" is an IPv${pool.cidr.family} pool` };
      }
      if (pool.disabled) return { ok: false, code: 'NoQualifiedPool', message: `requested pool "${pool.name}" (${formatCIDR(pool.cidr)}) is disabled` };
      const winner = losers.get(pool);
      if (winner) {
        return { ok: false, code: 'NoQualifiedPool', message: `requested pool "${pool.name}" (${formatCIDR(pool.cidr)}) overlaps the older pool "${winner.name}" (${formatCIDR(winner.cidr)}) and is not allocatable` };
      }
      if (!pool.allowedUses.includes(sel.use)) {
        return { ok: false, code: 'NoQualifiedPool', message: `requested pool "${pool.name}" does not allow use ${sel.use} (allowedUses: ${pool.allowedUses.join(', ')})` };
      }
      if (!chosen.includes(pool)) chosen.push(pool);
    }
    return { ok: true, pools: chosen };
  }
  const pools = all.filter(
    (p) =>
      p.cidr.family === sel.family &&
      !p.disabled &&
      !losers.has(p) &&
      p.cidr.prefix <= p.blockSize &&
      p.assignmentMode === 'Automatic' &&
      p.allowedUses.includes(sel.use) &&
      parseSelector(p.nodeSelector).matches(sel.nodeLabels) &&
      (sel.use === 'Tunnel' || p.namespaceSelector === '' || parseSelector(p.namespaceSelector).matches(sel.namespaceLabels ?? {})),
  );
  if (pools.length === 0) {
    return { ok: false, code: 'NoQualifiedPool', message: `no enabled ${fam} pool allows use ${sel.use} and matches this node and namespace` };
  }
  return { ok: true, pools };
}

/** The pool containing an address's block, if any. */
export function poolContaining(pools: readonly IpamPool[], c: CIDR): IpamPool | undefined {
  return pools.find((p) => p.cidr.family === c.family && cidrsOverlap(p.cidr, c) && p.cidr.prefix <= c.prefix);
}

/**
 * Pools whose CIDR overlaps `candidate`'s (other than the candidate itself, by name). Calico
 * refuses such pools; the caller decides whether to refuse the write or report the pair.
 */
export function checkPoolOverlap(pools: readonly IpamPool[], candidate: Pick<IpamPool, 'name' | 'cidr'>): IpamPool[] {
  return pools.filter((p) => p.name !== candidate.name && cidrsOverlap(p.cidr, candidate.cidr));
}
