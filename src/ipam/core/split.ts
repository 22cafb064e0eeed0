// `ipam split N`: one IP pool becomes N equal pools covering exactly its CIDR, as calicoctl's
// `ipam split` does (calico-internals.md §4.6): N must be a power of two (2, 4, 8, ...), the
// children are named split-<pool>-<i> in address order, enabled, with the parent's other settings.
// Existing blocks keep their place: blocks are aligned to blockSize and every child is at least
// one block, so each block lies in exactly one child. Pure: the arithmetic and the checks.

import { type CIDR, formatCIDR, splitCIDR } from '../../ip/index.js';

export class SplitError extends Error {
  override readonly name = 'SplitError';
  readonly code = 'Invalid';
}

/** The N equal child CIDRs of `cidr`, in address order. */
export function splitCidr(cidr: CIDR, parts: number, blockSize: number): CIDR[] {
  const bits = Math.log2(parts);
  if (!Number.isInteger(parts) || parts < 2 || !Number.isInteger(bits)) {
    throw new SplitError(`the number of pools to split into must be a power of two of at least 2 (2, 4, 8, ...); got ${parts}`);
  }
  const width = cidr.family === 4 ? 32 : 128;
  const prefix = cidr.prefix + bits;
  if (prefix > width) throw new SplitError(`${formatCIDR(cidr)} is not large enough to be split into ${parts} pools`);
  if (prefix > blockSize) {
    throw new SplitError(`splitting ${formatCIDR(cidr)} into ${parts} would make /${prefix} pools, smaller than the pool's blockSize /${blockSize}; split into at most ${2 ** (blockSize - cidr.prefix)} pools`);
  }
  return [...splitCIDR(cidr, prefix)];
}

/** calicoctl's naming: split-<name>-<i>, the parent name cut to 245 characters if that exceeds 253. */
export function splitPoolName(parent: string, index: number): string {
  const name = `split-${parent}-${index}`;
  return name.length > 253 ? `split-${parent.slice(0, 245)}-${index}` : name;
}
