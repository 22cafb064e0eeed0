// IP pools as IPAM sees them, and Calico's rules for choosing the pools of a request
// (calico-internals.md §2.1, §4.2 step 1):
//   - pools named explicitly (by name or CIDR) are used unconditionally — selectors ignored — but
//     must exist, be of the right family and be enabled;
//   - otherwise: enabled pools with assignmentMode Automatic whose nodeSelector matches the
//     node's labels and whose namespaceSelector matches the namespace's labels;
//   - in both cases the pool's allowedUses must include the intended use.

import { type CIDR, type IPFamily, cidrsOverlap, formatCIDR, parseCIDR, tryParseCIDR } from '../../ip/index.js';
import { isJsonObject, type JsonValue } from './json.js';

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
}

export class PoolDecodeError extends Error {
  override readonly name = 'PoolDecodeError';
  readonly code = 'InvalidPool';
}

export const DEFAULT_BLOCK_SIZE: Record<IPFamily, number> = { 4: 26, 6: 122 };
const BLOCK_SIZE_RANGE: Record<IPFamily, [number, number]> = { 4: [20, 32], 6: [116, 128] };
const USES: readonly IntendedUse[] = ['Workload', 'Tunnel', 'LoadBalancer'];

/** An IPPool resource (v3 JSON) with Calico's defaults applied; throws naming key and field. */
export function poolFromResource(value: JsonValue, key: string): IpamPool {
  const bad = (field: string, rule: string) => new PoolDecodeError(`IPPool at ${key}: spec.${field}: ${rule}`);
  if (!isJsonObject(value) || !isJsonObject(value['spec'])) throw new PoolDecodeError(`IPPool at ${key}: no spec object`);
  const spec = value['spec'];
  const meta = isJsonObject(value['metadata']) ? value['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : key.slice(key.lastIndexOf('/') + 1);
  let cidr: CIDR;
  try {
    cidr = parseCIDR(String(spec['cidr']));
  } catch (e) {
    throw bad('cidr', (e as Error).message);
  }
  const [lo, hi] = BLOCK_SIZE_RANGE[cidr.family];
  const bs = spec['blockSize'];
  const blockSize = bs === undefined || bs === null || bs === 0 ? DEFAULT_BLOCK_SIZE[cidr.family] : bs;
  if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < lo || blockSize > hi) {
    throw bad('blockSize', `${JSON.stringify(bs)} is not an integer in ${lo}..${hi} for IPv${cidr.family}`);
  }
  const disabled = spec['disabled'] === true;
  if (cidr.prefix > blockSize && !disabled) throw bad('cidr', `prefix /${cidr.prefix} is longer than blockSize ${blockSize}`);
  const uses = spec['allowedUses'];
  let allowedUses: IntendedUse[] = ['Workload', 'Tunnel'];
  if (Array.isArray(uses) && uses.length > 0) {
    allowedUses = uses.map((u) => {
      if (!USES.includes(u as IntendedUse)) throw bad('allowedUses', `"${String(u)}" is not one of ${USES.join(', ')}`);
      return u as IntendedUse;
    });
  }
  const mode = spec['assignmentMode'];
  if (mode !== undefined && mode !== null && mode !== '' && mode !== 'Automatic' && mode !== 'Manual') {
    throw bad('assignmentMode', `"${String(mode)}" is not Automatic or Manual`);
  }
  const str = (v: JsonValue | undefined, dflt: string) => (typeof v === 'string' && v.trim() !== '' ? v : dflt);
  return {
    name,
    cidr,
    blockSize,
    disabled,
    nodeSelector: str(spec['nodeSelector'], 'all()'),
    namespaceSelector: str(spec['namespaceSelector'], ''),
    allowedUses,
    assignmentMode: mode === 'Manual' ? 'Manual' : 'Automatic',
    ipipMode: str(spec['ipipMode'], 'Never'),
    vxlanMode: str(spec['vxlanMode'], 'Never'),
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

export function choosePools(all: readonly IpamPool[], sel: PoolSelection, parseSelector: SelectorParser): PoolChoice {
  const fam = `IPv${sel.family}`;
  if (sel.explicit && sel.explicit.length > 0) {
    const chosen: IpamPool[] = [];
    for (const ref of sel.explicit) {
      const pool = all.find((p) => poolMatchesRef(p, ref));
      if (!pool) return { ok: false, code: 'NoQualifiedPool', message: `requested ${fam} pool "${ref}" does not exist (give a pool name or its exact CIDR)` };
      if (pool.cidr.family !== sel.family) {
        return { ok: false, code: 'InvalidRequest', message: `requested ${fam} pool "${ref}" is an IPv${pool.cidr.family} pool` };
      }
      if (pool.disabled) return { ok: false, code: 'NoQualifiedPool', message: `requested pool "${pool.name}" (${formatCIDR(pool.cidr)}) is disabled` };
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
