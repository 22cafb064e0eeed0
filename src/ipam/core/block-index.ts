// Which address ranges existing blocks already cover, so a claim never creates a block that
// overlaps another. Blocks of one pool normally tile it exactly, but a pool's blockSize can be
// changed after blocks exist (blocks keep their size, calico#10778), and a new block of the new
// size inside an old block would let one address be allocated twice. Lookups are by exact key per
// prefix length (for existing blocks as large or larger than the candidate) and by binary search
// over sorted bases (for smaller ones inside it).

import { type CIDR, type IPFamily, cidrLast, enclosingCIDR, formatCIDR } from '../../ip/index.js';

export class BlockIndex {
  private readonly byPrefix = new Map<string, { keys: Set<string>; bases: bigint[] }>();

  constructor(blocks: Iterable<CIDR>) {
    for (const b of blocks) {
      const k = `${b.family}/${b.prefix}`;
      const e = this.byPrefix.get(k) ?? { keys: new Set<string>(), bases: [] };
      e.keys.add(formatCIDR(b));
      e.bases.push(b.base);
      this.byPrefix.set(k, e);
    }
    for (const e of this.byPrefix.values()) e.bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  has(c: CIDR): boolean {
    return this.byPrefix.get(`${c.family}/${c.prefix}`)?.keys.has(formatCIDR(c)) ?? false;
  }

  /** True when some existing block shares at least one address with `c`. */
  overlaps(c: CIDR): boolean {
    for (const [k, e] of this.byPrefix) {
      const [fam, pre] = k.split('/').map(Number) as [IPFamily, number];
      if (fam !== c.family) continue;
      if (pre <= c.prefix) {
        if (e.keys.has(formatCIDR(enclosingCIDR(c, pre)))) return true;
      } else if (firstAtLeast(e.bases, c.base) <= cidrLast(c).value) {
        return true;
      }
    }
    return false;
  }
}

/** The smallest value in sorted `xs` that is >= `v`, or +infinity (as a huge bigint). */
function firstAtLeast(xs: readonly bigint[], v: bigint): bigint {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < xs.length ? xs[lo]! : 1n << 129n;
}
