// AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 5065 confederation segments, RFC 6793 4-octet AS):
// segment encoding, the RFC 6793 §4.2.3 reconciliation a NEW speaker does for routes from an OLD
// one, and the path-length and formatting rules the RIB and status output share.
//
// Invariants: a segment has 1-255 ASNs (RFC 7606 §7.2: zero-length or overrunning segments, and
// unknown segment types, make the path malformed); path length counts an AS_SET as one hop and
// confederation segments as none (RFC 4271 §9.1.2.2 a, RFC 5065 §5.3).

import { Writer } from './bytes.js';
import type { AsPath, AsPathSegment, AsPathSegmentType, PathAttributes } from './types.js';
import { AS_TRANS, BgpEncodeError } from './types.js';

const SEGMENT_TYPES: readonly (AsPathSegmentType | undefined)[] = [undefined, 'set', 'sequence', 'confed-sequence', 'confed-set'];
const SEGMENT_CODE: Record<AsPathSegmentType, number> = { set: 1, sequence: 2, 'confed-sequence': 3, 'confed-set': 4 };

/** Decode an AS_PATH or AS4_PATH value; returns a reason string when malformed. */
export function decodeAsPath(value: Uint8Array, asnSize: 2 | 4): AsPath | string {
  const segs: AsPathSegment[] = [];
  let p = 0;
  while (p < value.length) {
    if (p + 2 > value.length) return `segment header at offset ${p} is cut short`;
    const type = SEGMENT_TYPES[value[p]!];
    const count = value[p + 1]!;
    if (type === undefined) return `segment type ${value[p]} at offset ${p} is not 1-4`;
    if (count === 0) return `segment at offset ${p} has no AS numbers`;
    const end = p + 2 + count * asnSize;
    if (end > value.length) return `segment at offset ${p} of ${count} ${asnSize}-octet ASNs runs past the attribute (${value.length - p - 2} octets left)`;
    const asns: number[] = new Array(count);
    for (let i = 0, q = p + 2; i < count; i++, q += asnSize) {
      asns[i] = asnSize === 2 ? (value[q]! << 8) | value[q + 1]! : ((value[q]! << 24) >>> 0) + ((value[q + 1]! << 16) | (value[q + 2]! << 8) | value[q + 3]!);
    }
    segs.push({ type, asns });
    p = end;
  }
  return segs;
}

/** Encode segments with `asnSize`-octet ASNs; 4-octet ASNs become AS_TRANS in 2-octet form.
 *  Sequences longer than 255 are split (the path means the same); sets cannot be. */
export function encodeAsPath(path: AsPath, asnSize: 2 | 4, w: Writer): void {
  for (const seg of path) {
    if (seg.asns.length === 0) throw new BgpEncodeError('AS_PATH', `an empty ${seg.type} segment cannot be sent`);
    const splittable = seg.type === 'sequence' || seg.type === 'confed-sequence';
    if (seg.asns.length > 255 && !splittable) throw new BgpEncodeError('AS_PATH', `an ${seg.type} of ${seg.asns.length} ASNs does not fit one segment`);
    for (let start = 0; start < seg.asns.length; start += 255) {
      const part = seg.asns.slice(start, start + 255);
      w.u8(SEGMENT_CODE[seg.type]).u8(part.length);
      for (const asn of part) {
        if (!Number.isInteger(asn) || asn < 0 || asn > 0xffffffff) throw new BgpEncodeError('AS_PATH', `AS number ${asn} is not a 32-bit unsigned integer`);
        if (asnSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

export const isConfedSegment = (s: AsPathSegment): boolean => s.type === 'confed-sequence' || s.type === 'confed-set';

/** Hops for best-path selection: a set is one, confederation segments none. */
export function asPathLength(path: AsPath): number {
  let n = 0;
  for (const s of path) n += s.type === 'sequence' ? s.asns.length : s.type === 'set' ? 1 : 0;
  return n;
}

export function asPathContains(path: AsPath, asn: number): boolean {
  return path.some((s) => s.asns.includes(asn));
}

/** True when some ASN needs 4 octets (so an OLD peer must also get AS4_PATH). */
export function needsFourOctets(path: AsPath): boolean {
  return path.some((s) => s.asns.some((a) => a > 0xffff));
}

/** The leftmost AS (the neighbour AS of an eBGP route, RFC 4271 §9.1.2.2 c); undefined when
 *  the path is empty or starts inside our confederation (as FRR's aspath_leftmost). */
export function firstAsn(path: AsPath): number | undefined {
  const s = path[0];
  return s && !isConfedSegment(s) ? s.asns[0] : undefined;
}

/** ASNs in confederation segments, a confed set counting one (RFC 5065 §5.3). */
export function confedLength(path: AsPath): number {
  let n = 0;
  for (const s of path) n += s.type === 'confed-sequence' ? s.asns.length : s.type === 'confed-set' ? 1 : 0;
  return n;
}

/** The path without confederation segments, as sent outside the confederation (RFC 5065 §4.1). */
export function withoutConfedSegments(path: AsPath): AsPath {
  return path.filter((s) => !isConfedSegment(s));
}

/** FRR/BIRD-style text: sequences as "1 2 3", sets "{1,2}", confed sequences "(1 2)", confed
 *  sets "[1,2]"; set members sorted and without duplicates. */
export function formatAsPath(path: AsPath): string {
  const set = (asns: readonly number[]) => [...new Set(asns)].sort((a, b) => a - b).join(',');
  return path
    .map((s) => {
      switch (s.type) {
        case 'sequence':
          return s.asns.join(' ');
        case 'set':
          return `{${set(s.asns)}}`;
        case 'confed-sequence':
          return `(${s.asns.join(' ')})`;
        case 'confed-set':
          return `[${set(s.asns)}]`;
      }
    })
    .join(' ');
}

/** Prepend `asn` as the new first hop (RFC 4271 §5.1.2), joining the leading sequence when it
 *  has room. */
export function prependAsn(path: AsPath, asn: number, times = 1): AsPath {
  let out = [...path];
  for (let i = 0; i < times; i++) {
    const head = out[0];
    if (head && head.type === 'sequence' && head.asns.length < 255) out = [{ type: 'sequence', asns: [asn, ...head.asns] }, ...out.slice(1)];
    else out = [{ type: 'sequence', asns: [asn] }, ...out];
  }
  return out;
}

/** The first `hops` hops of a path (counting as asPathLength does), keeping the confederation
 *  segments they pass; a sequence is cut inside if needed. */
function leadingHops(path: AsPath, hops: number): AsPathSegment[] {
  const out: AsPathSegment[] = [];
  let left = hops;
  for (const s of path) {
    if (isConfedSegment(s)) {
      out.push(s);
      continue;
    }
    if (left === 0) break;
    if (s.type === 'set') {
      out.push(s);
      left -= 1;
    } else if (s.asns.length <= left) {
      out.push(s);
      left -= s.asns.length;
    } else {
      out.push({ type: 'sequence', asns: s.asns.slice(0, left) });
      left = 0;
    }
  }
  return out;
}

/**
 * RFC 6793 §4.2.3: the path and aggregator of a route from an OLD speaker. When AGGREGATOR holds
 * a real 2-octet AS (not AS_TRANS), AS4_AGGREGATOR and AS4_PATH are ignored. Otherwise the
 * aggregator comes from AS4_AGGREGATOR, and if AS_PATH has at least as many hops as AS4_PATH,
 * its leading extra hops are kept in front of AS4_PATH (confederation segments in AS4_PATH are
 * dropped; RFC 6793 §4.2.2 forbids them there). The AS4_* attributes are removed.
 */
export function reconcileAs4(attrs: PathAttributes): PathAttributes {
  const { as4Path, as4Aggregator, ...rest } = attrs;
  if (as4Path === undefined && as4Aggregator === undefined) return attrs;
  if (rest.aggregator && rest.aggregator.asn !== AS_TRANS) return rest;
  const out: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = { ...rest };
  if (as4Aggregator && rest.aggregator) out.aggregator = as4Aggregator;
  if (as4Path && rest.asPath) {
    const as4 = as4Path.filter((s) => !isConfedSegment(s));
    const extra = asPathLength(rest.asPath) - asPathLength(as4);
    if (extra >= 0) out.asPath = [...leadingHops(rest.asPath, extra), ...as4];
  }
  return out;
}

/** The AS4_PATH to send an OLD speaker alongside `path` (RFC 6793 §4.2.2): the path without
 *  confederation segments, or undefined when every ASN fits 2 octets. */
export function as4PathFor(path: AsPath): AsPath | undefined {
  return needsFourOctets(path) ? path.filter((s) => !isConfedSegment(s)) : undefined;
}

export function asPathBytes(path: AsPath, asnSize: 2 | 4): Uint8Array {
  const w = new Writer(path.length * 64 + 8);
  encodeAsPath(path, asnSize, w);
  return w.finish();
}
