// NLRI packing: the <length, prefix> encoding of RFC 4271 §4.3 used by the Withdrawn Routes and
// NLRI fields and, for other families, by MP_REACH/MP_UNREACH (RFC 4760 §5), with the 4-octet
// path identifier of ADD-PATH (RFC 7911 §3) in front when the direction negotiated it.
//
// Invariants: a decoded prefix has its host bits clear (trailing bits on the wire are
// irrelevant, RFC 4271 §4.3); a prefix longer than its family or running past the field is a
// syntax error of the whole field (RFC 7606 §5.3), reported as NlriSyntaxError for the caller to
// turn into the NOTIFICATION or disposition of the field it was reading.

import { type CIDR, type IPFamily, familyBits } from '../../ip/index.js';
import type { Writer } from './bytes.js';
import type { AfiSafi, AfiSafiKey, CodecContext, Nlri } from './types.js';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST } from './types.js';

export class NlriSyntaxError extends Error {
  override readonly name = 'NlriSyntaxError';
}

export const afiSafiKey = (afi: number, safi: number): AfiSafiKey => `${afi}/${safi}`;
export const IPV4_UNICAST: AfiSafi = { afi: AFI_IPV4, safi: SAFI_UNICAST };
export const IPV6_UNICAST: AfiSafi = { afi: AFI_IPV6, safi: SAFI_UNICAST };

/** The IP family whose prefixes this AFI/SAFI carries in plain <length, prefix> form
 *  (unicast and multicast), or undefined when the codec keeps the NLRI raw. */
export function prefixFamily(afi: number, safi: number): IPFamily | undefined {
  if (safi !== 1 && safi !== 2) return undefined;
  return afi === AFI_IPV4 ? 4 : afi === AFI_IPV6 ? 6 : undefined;
}

export const familyAfi = (family: IPFamily): number => (family === 4 ? AFI_IPV4 : AFI_IPV6);

export function hasAddPath(ctx: CodecContext, afi: number, safi: number): boolean {
  return ctx.addPath.size > 0 && ctx.addPath.has(afiSafiKey(afi, safi));
}

/** Decode every prefix in buf[start, end). */
export function decodePrefixes(buf: Uint8Array, start: number, end: number, family: IPFamily, addPath: boolean): Nlri[] {
  const out: Nlri[] = [];
  const maxBits = familyBits(family);
  let p = start;
  while (p < end) {
    let pathId: number | undefined;
    if (addPath) {
      if (p + 4 > end) throw new NlriSyntaxError(`path identifier at offset ${p - start} runs past the field`);
      pathId = ((buf[p]! << 24) >>> 0) + ((buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
      p += 4;
      if (p >= end) throw new NlriSyntaxError(`path identifier at offset ${p - 4 - start} has no prefix after it`);
    }
    const len = buf[p++]!;
    if (len > maxBits) throw new NlriSyntaxError(`prefix length ${len} at offset ${p - 1 - start} is longer than ${maxBits} bits`);
    const octets = (len + 7) >> 3;
    if (p + octets > end) throw new NlriSyntaxError(`prefix /${len} at offset ${p - 1 - start} needs ${octets} octets, ${end - p} left`);
    let base: bigint;
    if (family === 4) {
      let v = 0;
      for (let i = 0; i < 4; i++) v = v * 256 + (i < octets ? buf[p + i]! : 0);
      // Trailing bits past the prefix length are irrelevant on the wire; clear them.
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      base = BigInt((v & mask) >>> 0);
    } else {
      let v = 0n;
      for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(i < octets ? buf[p + i]! : 0);
      const host = (1n << BigInt(128 - len)) - 1n;
      base = v & ~host;
    }
    p += octets;
    const prefix: CIDR = { family, base, prefix: len };
    out.push(pathId === undefined ? { prefix } : { prefix, pathId });
  }
  return out;
}

/** Octets one prefix takes on the wire. */
export function prefixSize(n: Nlri, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((n.prefix.prefix + 7) >> 3);
}

/** Write one prefix at buf[at..]; returns the offset after it. The caller made the room. */
export function putPrefix(buf: Uint8Array, at: number, n: Nlri, addPath: boolean): number {
  let p = at;
  if (addPath) {
    const id = n.pathId ?? 0;
    buf[p] = id >>> 24;
    buf[p + 1] = (id >>> 16) & 0xff;
    buf[p + 2] = (id >>> 8) & 0xff;
    buf[p + 3] = id & 0xff;
    p += 4;
  }
  const len = n.prefix.prefix;
  buf[p++] = len;
  const octets = (len + 7) >> 3;
  if (n.prefix.family === 4) {
    const v = Number(n.prefix.base);
    for (let i = 0; i < octets; i++) buf[p + i] = (v >>> (24 - 8 * i)) & 0xff;
  } else {
    const base = n.prefix.base;
    for (let i = 0; i < octets; i++) buf[p + i] = Number((base >> BigInt(120 - 8 * i)) & 0xffn);
  }
  return p + octets;
}

export function writePrefix(w: Writer, n: Nlri, addPath: boolean): void {
  const { buf, at } = w.claim(prefixSize(n, addPath));
  putPrefix(buf, at, n, addPath);
}

export function writePrefixes(w: Writer, list: readonly Nlri[], addPath: boolean): void {
  let size = 0;
  for (const n of list) size += prefixSize(n, addPath);
  const { buf, at } = w.claim(size);
  let p = at;
  for (const n of list) p = putPrefix(buf, p, n, addPath);
}
