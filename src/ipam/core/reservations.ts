// IPReservation: addresses IPAM must never hand out automatically (calico-internals.md §2.4).
// The reserved CIDRs of every reservation are merged into sorted, disjoint ranges per family so
// "is this address reserved" is a binary search and "is this whole block reserved" (skip it when
// claiming) is one range lookup.

import { type CIDR, type IPAddr, type IPFamily, cidrFirst, cidrLast, parseCIDR } from '../../ip/index.js';
import { isJsonObject, type JsonValue } from '../../util/index.js';

interface Range {
  lo: bigint;
  hi: bigint;
}

export class ReservationSet {
  private readonly ranges: Record<IPFamily, Range[]>;

  constructor(cidrs: readonly CIDR[]) {
    this.ranges = { 4: merge(cidrs.filter((c) => c.family === 4)), 6: merge(cidrs.filter((c) => c.family === 6)) };
  }

  static readonly empty = new ReservationSet([]);

  get size(): number {
    return this.ranges[4].length + this.ranges[6].length;
  }

  isReserved = (a: IPAddr): boolean => this.find(a.family, a.value) !== undefined;

  /** True when every address of `c` is reserved: such a block is never claimed. */
  coversBlock(c: CIDR): boolean {
    const r = this.find(c.family, c.base);
    return r !== undefined && r.hi >= cidrLast(c).value;
  }

  private find(family: IPFamily, v: bigint): Range | undefined {
    const rs = this.ranges[family];
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (v < r.lo) hi = mid - 1;
      else if (v > r.hi) lo = mid + 1;
      else return r;
    }
    return undefined;
  }
}

function merge(cidrs: CIDR[]): Range[] {
  const rs = cidrs.map((c) => ({ lo: cidrFirst(c).value, hi: cidrLast(c).value })).sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Range[] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1n) last.hi = r.hi > last.hi ? r.hi : last.hi;
    else out.push({ ...r });
  }
  return out;
}

export class ReservationDecodeError extends Error {
  override readonly name = 'ReservationDecodeError';
  readonly code = 'InvalidReservation';
}

/** The reserved CIDRs of one IPReservation resource (bare IPs mean /32 or /128). */
export function reservedCidrsOf(value: JsonValue, key: string): CIDR[] {
  if (!isJsonObject(value) || !isJsonObject(value['spec'])) throw new ReservationDecodeError(`IPReservation at ${key}: no spec object`);
  const list = value['spec']['reservedCIDRs'];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new ReservationDecodeError(`IPReservation at ${key}: spec.reservedCIDRs is not a list`);
  return list.map((t, i) => {
    try {
      return parseCIDR(String(t), { lenient: true });
    } catch (e) {
      throw new ReservationDecodeError(`IPReservation at ${key}: spec.reservedCIDRs[${i}]: ${(e as Error).message}`);
    }
  });
}

