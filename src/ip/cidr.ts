// CIDRs: a network address plus a prefix length, with the block math IPAM and routing need.
//
// Calico distinguishes strict parsing (IPPool.cidr and IPAM blocks must be masked: host bits set
// is an error) from lenient parsing (policy `nets` accept "10.0.0.1/8" and mask it, and accept a
// bare IP as a /32 or /128). `parseCIDR(text)` is strict; `parseCIDR(text, { lenient: true })`
// masks. The network address of a CIDR value always has its host bits clear.

import { type IPAddr, type IPFamily, IPParseError, familyBits, familyMax, formatIP, parseIP } from './address.js';

export interface CIDR {
  readonly family: IPFamily;
  /** Network address; host bits are always zero. */
  readonly base: bigint;
  readonly prefix: number;
}

export class CIDRParseError extends Error {
  override readonly name = 'CIDRParseError';
  readonly code = 'InvalidCIDR';
  constructor(readonly input: string, readonly reason: string) {
    super(`invalid CIDR "${input}": ${reason}`);
  }
}

// Masks per family and prefix length, made once: CIDR math runs per block and per route, and
// each mask made on demand costs several bigint allocations.
const HOST_MASKS: Record<IPFamily, readonly bigint[]> = {
  4: Array.from({ length: 33 }, (_, p) => (1n << BigInt(32 - p)) - 1n),
  6: Array.from({ length: 129 }, (_, p) => (1n << BigInt(128 - p)) - 1n),
};
const NET_MASKS: Record<IPFamily, readonly bigint[]> = {
  4: HOST_MASKS[4].map((m) => familyMax(4) ^ m),
  6: HOST_MASKS[6].map((m) => familyMax(6) ^ m),
};

export function hostMask(family: IPFamily, prefix: number): bigint {
  return HOST_MASKS[family][prefix] ?? (1n << BigInt(familyBits(family) - prefix)) - 1n;
}

export function netMask(family: IPFamily, prefix: number): bigint {
  return NET_MASKS[family][prefix] ?? familyMax(family) ^ hostMask(family, prefix);
}

export function cidr(family: IPFamily, base: bigint, prefix: number): CIDR {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > familyBits(family)) {
    throw new RangeError(`prefix /${prefix} out of range for IPv${family}`);
  }
  return { family, base: base & netMask(family, prefix), prefix };
}

export interface ParseCIDROptions {
  /** Mask host bits instead of rejecting them, and accept a bare address as a host route. */
  readonly lenient?: boolean;
}

export function parseCIDR(text: string, opts: ParseCIDROptions = {}): CIDR {
  if (typeof text !== 'string' || text.length === 0) throw new CIDRParseError(String(text), 'empty');
  const slash = text.indexOf('/');
  if (slash === -1) {
    if (!opts.lenient) throw new CIDRParseError(text, 'missing "/prefix"');
    const a = wrap(text, () => parseIP(text));
    return { family: a.family, base: a.value, prefix: familyBits(a.family) };
  }
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const a = wrap(text, () => parseIP(addrText));
  if (!/^[0-9]{1,3}$/.test(prefixText) || (prefixText.length > 1 && prefixText.startsWith('0'))) {
    throw new CIDRParseError(text, `prefix length "${prefixText}" is not a decimal number`);
  }
  const prefix = Number(prefixText);
  const bits = familyBits(a.family);
  if (prefix > bits) throw new CIDRParseError(text, `prefix length ${prefix} is longer than ${bits} bits`);
  const c = cidr(a.family, a.value, prefix);
  if (!opts.lenient && c.base !== a.value) {
    throw new CIDRParseError(text, `host bits are set; the network is ${formatCIDR(c)}`);
  }
  return c;
}

export function tryParseCIDR(text: string, opts: ParseCIDROptions = {}): CIDR | undefined {
  try {
    return parseCIDR(text, opts);
  } catch {
    return undefined;
  }
}

function wrap<T>(input: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof IPParseError) throw new CIDRParseError(input, e.reason);
    throw e;
  }
}

export function formatCIDR(c: CIDR): string {
  return `${formatIP({ family: c.family, value: c.base })}/${c.prefix}`;
}

/** Number of addresses in the CIDR. */
export function cidrSize(c: CIDR): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

export function cidrFirst(c: CIDR): IPAddr {
  return { family: c.family, value: c.base };
}

export function cidrLast(c: CIDR): IPAddr {
  return { family: c.family, value: c.base | hostMask(c.family, c.prefix) };
}

export function cidrContainsIP(c: CIDR, a: IPAddr): boolean {
  return c.family === a.family && (a.value & netMask(c.family, c.prefix)) === c.base;
}

/** True when `inner` lies entirely within `outer` (equal counts). */
export function cidrContains(outer: CIDR, inner: CIDR): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.base & netMask(outer.family, outer.prefix)) === outer.base;
}

export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function cidrEquals(a: CIDR, b: CIDR): boolean {
  return a.family === b.family && a.base === b.base && a.prefix === b.prefix;
}

/** The address at `index` (0-based) within the CIDR. */
export function cidrAddress(c: CIDR, index: bigint): IPAddr {
  if (index < 0n || index >= cidrSize(c)) throw new RangeError(`index ${index} outside ${formatCIDR(c)}`);
  return { family: c.family, value: c.base + index };
}

/** Ordinal of `a` within the CIDR; RangeError if outside. */
export function cidrIndexOf(c: CIDR, a: IPAddr): bigint {
  if (!cidrContainsIP(c, a)) throw new RangeError(`${formatIP(a)} is not in ${formatCIDR(c)}`);
  return a.value - c.base;
}

/** The enclosing /`prefix` of an address or CIDR (prefix must be no longer than the input's). */
export function enclosingCIDR(a: IPAddr | CIDR, prefix: number): CIDR {
  const value = 'value' in a ? a.value : a.base;
  return cidr(a.family, value, prefix);
}

/** Number of /`newPrefix` subnets in `c`. */
export function subnetCount(c: CIDR, newPrefix: number): bigint {
  if (newPrefix < c.prefix || newPrefix > familyBits(c.family)) {
    throw new RangeError(`cannot split ${formatCIDR(c)} into /${newPrefix} blocks`);
  }
  return 1n << BigInt(newPrefix - c.prefix);
}

/** The `index`-th /`newPrefix` subnet of `c`. */
export function subnetAt(c: CIDR, newPrefix: number, index: bigint): CIDR {
  const n = subnetCount(c, newPrefix);
  if (index < 0n || index >= n) throw new RangeError(`subnet index ${index} outside 0..${n - 1n}`);
  return { family: c.family, base: c.base + (index << BigInt(familyBits(c.family) - newPrefix)), prefix: newPrefix };
}

/** Every /`newPrefix` subnet of `c`, in address order. Lazy: a /48 split into /122s is fine. */
export function* splitCIDR(c: CIDR, newPrefix: number): Generator<CIDR> {
  const n = subnetCount(c, newPrefix);
  for (let i = 0n; i < n; i++) yield subnetAt(c, newPrefix, i);
}

/** Every address in `c`, in order. Lazy. */
export function* cidrAddresses(c: CIDR): Generator<IPAddr> {
  const n = cidrSize(c);
  for (let i = 0n; i < n; i++) yield { family: c.family, value: c.base + i };
}

/** Calico's etcd/CRD spelling of a CIDR in a key: "/" becomes "-". */
export function cidrKeySegment(c: CIDR): string {
  return formatCIDR(c).replace('/', '-');
}

/** Inverse of cidrKeySegment: "10.0.0.0-26" → 10.0.0.0/26. */
export function parseCIDRKeySegment(segment: string): CIDR {
  const dash = segment.lastIndexOf('-');
  if (dash === -1) throw new CIDRParseError(segment, 'key segment has no "-prefix"');
  return parseCIDR(`${segment.slice(0, dash)}/${segment.slice(dash + 1)}`);
}
