// IP addresses for both families, as a family tag plus a bigint value.
//
// One representation for IPv4 and IPv6 keeps block math, iteration and comparison in one code
// path (IPAM and routes mix both families). Parsing is strict the way Go's net.ParseIP is since
// Go 1.17, which Calico uses: dotted-quad IPv4 with no leading zeros, RFC 4291 IPv6 text forms
// including an embedded IPv4 tail, no zone index. IPv4-mapped IPv6 (::ffff:a.b.c.d) stays an
// IPv6 address; `unmapIPv4` converts it when a caller wants Go's To4() behaviour.
// Formatting of IPv6 follows RFC 5952 (lowercase, longest zero run compressed, not a single one).

export type IPFamily = 4 | 6;

export interface IPAddr {
  readonly family: IPFamily;
  readonly value: bigint;
}

export class IPParseError extends Error {
  override readonly name = 'IPParseError';
  readonly code = 'InvalidIP';
  constructor(readonly input: string, readonly reason: string) {
    super(`invalid IP address "${input}": ${reason}`);
  }
}

export const familyBits = (family: IPFamily): number => (family === 4 ? 32 : 128);
export const familyMax = (family: IPFamily): bigint => (family === 4 ? 0xffffffffn : (1n << 128n) - 1n);

export function ip(family: IPFamily, value: bigint): IPAddr {
  if (value < 0n || value > familyMax(family)) throw new RangeError(`value ${value} out of range for IPv${family}`);
  return { family, value };
}

/** Dotted-quad text → its value as a number, or -1 when it is not strictly well-formed (the slow
 *  path then names the problem). One pass over the characters, no strings or bigints made: route
 *  and IPAM decoding parse thousands of these. */
function fastIPv4(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

function parseIPv4(text: string, input: string): bigint {
  const fast = fastIPv4(text);
  if (fast >= 0) return BigInt(fast);
  const parts = text.split('.');
  if (parts.length !== 4) throw new IPParseError(input, 'IPv4 needs four dotted decimal octets');
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) throw new IPParseError(input, `"${p}" is not a decimal octet`);
    if (p.length > 1 && p.startsWith('0')) throw new IPParseError(input, `octet "${p}" has a leading zero`);
    const n = Number(p);
    if (n > 255) throw new IPParseError(input, `octet ${n} is larger than 255`);
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(text: string, input: string): bigint {
  if (text.includes('%')) throw new IPParseError(input, 'zone indexes are not allowed');
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) throw new IPParseError(input, '"::" may appear only once');
  const parseGroups = (s: string): bigint[] => {
    if (s === '') return [];
    const out: bigint[] = [];
    const groups = s.split(':');
    groups.forEach((g, i) => {
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g, input);
        out.push(v4 >> 16n, v4 & 0xffffn);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new IPParseError(input, `"${g}" is not a group of 1-4 hex digits`);
      out.push(BigInt(`0x${g}`));
    });
    return out;
  };
  let groups: bigint[];
  if (dbl === -1) {
    groups = parseGroups(text);
    if (groups.length !== 8) throw new IPParseError(input, `IPv6 needs eight groups, found ${groups.length}`);
  } else {
    const head = parseGroups(text.slice(0, dbl));
    const tail = parseGroups(text.slice(dbl + 2));
    if (head.length + tail.length > 7) throw new IPParseError(input, '"::" must stand for at least one group');
    groups = [...head, ...new Array<bigint>(8 - head.length - tail.length).fill(0n), ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parse an IPv4 or IPv6 address; throws IPParseError naming the problem. */
export function parseIP(text: string): IPAddr {
  if (typeof text !== 'string' || text.length === 0) throw new IPParseError(String(text), 'empty');
  if (text.includes(':')) return { family: 6, value: parseIPv6(text, text) };
  return { family: 4, value: parseIPv4(text, text) };
}

export function tryParseIP(text: string): IPAddr | undefined {
  try {
    return parseIP(text);
  } catch {
    return undefined;
  }
}

const MAPPED_PREFIX = 0xffffn << 32n;

export function isIPv4Mapped(a: IPAddr): boolean {
  return a.family === 6 && a.value >> 32n === 0xffffn;
}

/** ::ffff:a.b.c.d → a.b.c.d; any other address is returned unchanged. */
export function unmapIPv4(a: IPAddr): IPAddr {
  return isIPv4Mapped(a) ? { family: 4, value: a.value & 0xffffffffn } : a;
}

export function formatIP(a: IPAddr): string {
  if (a.family === 4) {
    const v = Number(a.value); // < 2^32: exact as a number, and far cheaper than bigint shifts
    return `${Math.floor(v / 0x1000000)}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  if (isIPv4Mapped(a)) return `::ffff:${formatIP({ family: 4, value: a.value - MAPPED_PREFIX })}`;
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((a.value >> s) & 0xffffn));
  // Longest run of zero groups, at least two long, first one on ties (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function ipEquals(a: IPAddr, b: IPAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Order: IPv4 before IPv6, then numerically. */
export function compareIP(a: IPAddr, b: IPAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** a + n, throwing RangeError on overflow of the family. */
export function addIP(a: IPAddr, n: bigint): IPAddr {
  return ip(a.family, a.value + n);
}
