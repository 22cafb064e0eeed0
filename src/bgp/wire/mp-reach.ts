// MP_REACH_NLRI and MP_UNREACH_NLRI values (RFC 4760 §3, §4), with the IPv6 global plus
// link-local next hop of RFC 2545 §3 and IPv4 routes over an IPv6 next hop (RFC 8950).
//
// Errors here are AFI/SAFI-wide (RFC 7606 §7.11, §5.3): a next-hop length the family does not
// allow, a value too short to hold its fixed fields, or NLRI that do not parse make the whole
// family unusable on the session, so they throw BgpDecodeError with disposition
// 'afi-safi-disable' (GoBGP's choice too) and the Optional Attribute Error NOTIFICATION with the
// attribute as data for a shell that resets instead.

import type { IPAddr } from '../../ip/index.js';
import { type Writer } from './bytes.js';
import { NlriSyntaxError, decodePrefixes, hasAddPath, prefixFamily, writePrefixes } from './nlri.js';
import type { CodecContext, MpNextHop, MpReach, MpUnreach, Nlri } from './types.js';
import { BgpDecodeError, BgpEncodeError, ERROR_CODE, UPDATE_SUBCODE } from './types.js';

function familyError(attribute: Uint8Array, name: string, afi: number | undefined, safi: number | undefined, reason: string): BgpDecodeError {
  const known = afi !== undefined && safi !== undefined;
  return new BgpDecodeError(
    { code: ERROR_CODE.UPDATE_MESSAGE, subcode: UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE_ERROR, data: attribute.slice() },
    known ? 'afi-safi-disable' : 'session-reset',
    `UPDATE attribute ${name}`,
    reason,
    known ? { afi, safi } : undefined,
  );
}

function readAddress(v: Uint8Array, at: number, octets: 4 | 16): IPAddr {
  if (octets === 4) return { family: 4, value: BigInt((((v[at]! << 24) >>> 0) + ((v[at + 1]! << 16) | (v[at + 2]! << 8) | v[at + 3]!)) >>> 0) };
  let x = 0n;
  for (let i = 0; i < 16; i++) x = (x << 8n) | BigInt(v[at + i]!);
  return { family: 6, value: x };
}

function decodeNextHop(v: Uint8Array, at: number, len: number, afi: number, safi: number): MpNextHop | undefined {
  if (prefixFamily(afi, safi) === undefined) return { kind: 'raw', bytes: v.slice(at, at + len) };
  if (len === 4 && afi === 1) return { kind: 'ipv4', address: readAddress(v, at, 4) };
  if (len === 16) return { kind: 'ipv6', global: readAddress(v, at, 16) };
  if (len === 32) return { kind: 'ipv6', global: readAddress(v, at, 16), linkLocal: readAddress(v, at + 16, 16) };
  return undefined;
}

function decodeNlriOf(v: Uint8Array, start: number, afi: number, safi: number, ctx: CodecContext): { nlri: Nlri[]; raw?: Uint8Array } {
  const family = prefixFamily(afi, safi);
  if (family === undefined) return { nlri: [], raw: v.slice(start) };
  return { nlri: decodePrefixes(v, start, v.length, family, hasAddPath(ctx, afi, safi)) };
}

/** `value` is the attribute value; `attribute` the whole attribute, for NOTIFICATION data. */
export function decodeMpReach(value: Uint8Array, attribute: Uint8Array, ctx: CodecContext): MpReach {
  const name = 'MP_REACH_NLRI';
  if (value.length < 3) throw familyError(attribute, name, undefined, undefined, `value is ${value.length} octets, too short for AFI and SAFI`);
  const afi = (value[0]! << 8) | value[1]!;
  const safi = value[2]!;
  if (value.length < 5) throw familyError(attribute, name, afi, safi, `value is ${value.length} octets, too short for a next hop length and the reserved octet`);
  const nhLen = value[3]!;
  if (4 + nhLen + 1 > value.length) throw familyError(attribute, name, afi, safi, `next hop length ${nhLen} runs past the attribute (${value.length - 4} octets left)`);
  const nextHop = decodeNextHop(value, 4, nhLen, afi, safi);
  if (!nextHop) throw familyError(attribute, name, afi, safi, `next hop length ${nhLen} is not valid for AFI ${afi} SAFI ${safi} (4 for IPv4, 16 or 32)`);
  // The octet after the next hop was the SNPA count before RFC 4760; it is ignored.
  try {
    const { nlri, raw } = decodeNlriOf(value, 4 + nhLen + 1, afi, safi, ctx);
    return raw ? { afi, safi, nextHop, nlri, rawNlri: raw } : { afi, safi, nextHop, nlri };
  } catch (e) {
    if (e instanceof NlriSyntaxError) throw familyError(attribute, name, afi, safi, `NLRI: ${e.message}`);
    throw e;
  }
}

export function decodeMpUnreach(value: Uint8Array, attribute: Uint8Array, ctx: CodecContext): MpUnreach {
  const name = 'MP_UNREACH_NLRI';
  if (value.length < 3) throw familyError(attribute, name, undefined, undefined, `value is ${value.length} octets, too short for AFI and SAFI`);
  const afi = (value[0]! << 8) | value[1]!;
  const safi = value[2]!;
  try {
    const { nlri, raw } = decodeNlriOf(value, 3, afi, safi, ctx);
    return raw ? { afi, safi, withdrawn: nlri, rawWithdrawn: raw } : { afi, safi, withdrawn: nlri };
  } catch (e) {
    if (e instanceof NlriSyntaxError) throw familyError(attribute, name, afi, safi, `withdrawn routes: ${e.message}`);
    throw e;
  }
}

function writeAddress(w: Writer, a: IPAddr, family: 4 | 6, what: string): void {
  if (a.family !== family) throw new BgpEncodeError('MP_REACH_NLRI', `${what} must be IPv${family}`);
  if (family === 4) w.u32(Number(a.value));
  else for (let s = 120n; s >= 0n; s -= 8n) w.u8(Number((a.value >> s) & 0xffn));
}

/** Next-hop length octet, next hop and reserved octet: everything before the NLRI but AFI/SAFI. */
export function writeMpNextHop(w: Writer, nh: MpNextHop): void {
  switch (nh.kind) {
    case 'ipv4':
      w.u8(4);
      writeAddress(w, nh.address, 4, 'IPv4 next hop');
      break;
    case 'ipv6':
      w.u8(nh.linkLocal ? 32 : 16);
      writeAddress(w, nh.global, 6, 'global next hop');
      if (nh.linkLocal) writeAddress(w, nh.linkLocal, 6, 'link-local next hop');
      break;
    case 'raw':
      if (nh.bytes.length > 255) throw new BgpEncodeError('MP_REACH_NLRI', `next hop of ${nh.bytes.length} octets does not fit`);
      w.u8(nh.bytes.length).bytes(nh.bytes);
      break;
  }
  w.u8(0);
}

export function checkFamily(list: readonly Nlri[], afi: number, safi: number, where: string): void {
  const family = prefixFamily(afi, safi);
  for (const n of list) {
    if (n.prefix.family !== family) throw new BgpEncodeError(where, `prefix of IPv${n.prefix.family} in an AFI ${afi} SAFI ${safi} list`);
  }
}

export function encodeMpReach(mp: MpReach, ctx: CodecContext, w: Writer): void {
  w.u16(mp.afi).u8(mp.safi);
  writeMpNextHop(w, mp.nextHop);
  if (mp.rawNlri) w.bytes(mp.rawNlri);
  checkFamily(mp.nlri, mp.afi, mp.safi, 'MP_REACH_NLRI');
  writePrefixes(w, mp.nlri, hasAddPath(ctx, mp.afi, mp.safi));
}

export function encodeMpUnreach(mp: MpUnreach, ctx: CodecContext, w: Writer): void {
  w.u16(mp.afi).u8(mp.safi);
  if (mp.rawWithdrawn) w.bytes(mp.rawWithdrawn);
  checkFamily(mp.withdrawn, mp.afi, mp.safi, 'MP_UNREACH_NLRI');
  writePrefixes(w, mp.withdrawn, hasAddPath(ctx, mp.afi, mp.safi));
}
