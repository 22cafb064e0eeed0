// Packing many routes that share one set of path attributes into as few UPDATE messages as the
// session's size limit allows (4096 octets, 65535 with extended messages).
//
// IPv4 unicast goes in the NLRI / Withdrawn Routes fields; every other family in MP_REACH_NLRI /
// MP_UNREACH_NLRI, written as the first attribute (RFC 7606 §5.1). The shared attributes are
// encoded once; each message then takes prefixes until the next would not fit. Prefix order
// is kept.

import { attributesBytes } from './attributes.js';
import { Writer } from './bytes.js';
import { writeHeader } from './header.js';
import { checkFamily, writeMpNextHop } from './mp-reach.js';
import { familyAfi, hasAddPath, prefixSize, putPrefix } from './nlri.js';
import type { CodecContext, MpNextHop, Nlri, PackUpdates, PackWithdrawals, PathAttributes } from './types.js';
import {
  AFI_IPV4,
  ATTR_CODE,
  ATTR_FLAG,
  BgpEncodeError,
  HEADER_SIZE,
  MAX_EXTENDED_MESSAGE_SIZE,
  MAX_MESSAGE_SIZE,
  MESSAGE_TYPE,
  SAFI_UNICAST,
} from './types.js';

const MP_CODES: ReadonlySet<number> = new Set([ATTR_CODE.MP_REACH_NLRI, ATTR_CODE.MP_UNREACH_NLRI]);

const limit = (ctx: CodecContext): number => (ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_SIZE : MAX_MESSAGE_SIZE);

/** Cut `list` into consecutive runs whose encoded size stays within `room` octets each, and
 *  call `emit(from, to, size)` for each: indexes and sizes only, no intermediate arrays. */
function cut(list: readonly Nlri[], room: number, addPath: boolean, where: string, emit: (from: number, to: number, size: number) => void): void {
  let from = 0;
  let used = 0;
  for (let i = 0; i < list.length; i++) {
    const size = prefixSize(list[i]!, addPath);
    if (size > room) throw new BgpEncodeError(where, `a ${size}-octet prefix does not fit the ${room} octets left beside the attributes`);
    if (used + size > room) {
      emit(from, i, used);
      from = i;
      used = 0;
    }
    used += size;
  }
  if (used > 0) emit(from, list.length, used);
}

function putRun(buf: Uint8Array, at: number, list: readonly Nlri[], from: number, to: number, addPath: boolean): number {
  let p = at;
  for (let i = from; i < to; i++) p = putPrefix(buf, p, list[i]!, addPath);
  return p;
}

/** A whole UPDATE: header, Withdrawn Routes Length, then `fill` writes the rest into place. */
function update(size: number, fill: (buf: Uint8Array) => void): Uint8Array {
  const buf = new Uint8Array(size);
  writeHeader(buf, size, MESSAGE_TYPE.UPDATE);
  fill(buf);
  return buf;
}

const put16 = (buf: Uint8Array, at: number, v: number) => {
  buf[at] = v >>> 8;
  buf[at + 1] = v & 0xff;
};

function byFamily(prefixes: readonly Nlri[]): { v4: readonly Nlri[]; v6: readonly Nlri[] } {
  // Usually one family: hand the list on as it is rather than copying it.
  let v6 = 0;
  for (let i = 0; i < prefixes.length; i++) if (prefixes[i]!.prefix.family !== 4) v6++;
  if (v6 === 0) return { v4: prefixes, v6: [] };
  if (v6 === prefixes.length) return { v4: [], v6: prefixes };
  return { v4: prefixes.filter((n) => n.prefix.family === 4), v6: prefixes.filter((n) => n.prefix.family !== 4) };
}

/** The MP attribute header is 4 octets when its value exceeds 255 (extended length). */
const mpHeader = (valueLength: number): number => (valueLength > 255 ? 4 : 3);

/** Optional, non-transitive MP attribute header at buf[at]; returns where the value starts. */
function writeMpAttributeHeader(buf: Uint8Array, at: number, code: number, valueLength: number): number {
  const ext = valueLength > 255;
  buf[at] = ATTR_FLAG.OPTIONAL | (ext ? ATTR_FLAG.EXTENDED_LENGTH : 0);
  buf[at + 1] = code;
  if (ext) {
    put16(buf, at + 2, valueLength);
    return at + 4;
  }
  buf[at + 2] = valueLength;
  return at + 3;
}

function nextHopLength(nh: MpNextHop): number {
  return nh.kind === 'ipv4' ? 4 : nh.kind === 'ipv6' ? (nh.linkLocal ? 32 : 16) : nh.bytes.length;
}

/**
 * UPDATEs announcing `prefixes` with `attrs`. IPv4 prefixes need `attrs.nextHop`; IPv6 ones
 * need `attrs.mpReach` for AFI 2 (its next hop; its own NLRI list is ignored).
 */
export const packUpdates: PackUpdates = (attrs: PathAttributes, prefixes: readonly Nlri[], ctx: CodecContext) => {
  const max = limit(ctx);
  const { v4, v6 } = byFamily(prefixes);
  const common = attributesBytes(attrs, ctx, { exclude: MP_CODES });
  const out: Uint8Array[] = [];
  if (v4.length > 0) {
    if (!attrs.nextHop) throw new BgpEncodeError('packUpdates', 'IPv4 prefixes need attrs.nextHop');
    const addPath = hasAddPath(ctx, AFI_IPV4, SAFI_UNICAST);
    const room = max - HEADER_SIZE - 4 - common.length;
    cut(v4, room, addPath, 'UPDATE NLRI', (from, to, used) => {
      out.push(
        update(HEADER_SIZE + 4 + common.length + used, (buf) => {
          put16(buf, 19, 0);
          put16(buf, 21, common.length);
          buf.set(common, 23);
          putRun(buf, 23 + common.length, v4, from, to, addPath);
        }),
      );
    });
  }
  if (v6.length > 0) {
    const mp = attrs.mpReach;
    if (!mp || mp.afi !== familyAfi(6)) throw new BgpEncodeError('packUpdates', 'IPv6 prefixes need attrs.mpReach with AFI 2 and a next hop');
    checkFamily(v6, mp.afi, mp.safi, 'MP_REACH_NLRI');
    const addPath = hasAddPath(ctx, mp.afi, mp.safi);
    const fixed = 3 + 1 + nextHopLength(mp.nextHop) + 1;
    // Budget for the 4-octet (extended length) attribute header; a short run uses 3.
    const room = max - HEADER_SIZE - 4 - common.length - 4 - fixed;
    const head = new Writer(fixed);
    head.u16(mp.afi).u8(mp.safi);
    writeMpNextHop(head, mp.nextHop);
    const fixedBytes = head.finish();
    cut(v6, room, addPath, 'MP_REACH_NLRI', (from, to, used) => {
      const valueLength = fixed + used;
      const attrHead = mpHeader(valueLength);
      out.push(
        update(HEADER_SIZE + 4 + attrHead + valueLength + common.length, (buf) => {
          put16(buf, 19, 0);
          put16(buf, 21, attrHead + valueLength + common.length);
          let p = writeMpAttributeHeader(buf, 23, ATTR_CODE.MP_REACH_NLRI, valueLength);
          buf.set(fixedBytes, p);
          p = putRun(buf, p + fixed, v6, from, to, addPath);
          buf.set(common, p);
        }),
      );
    });
  }
  return out;
};

/** UPDATEs withdrawing `prefixes`: IPv4 in Withdrawn Routes, others in MP_UNREACH_NLRI. */
export const packWithdrawals: PackWithdrawals = (prefixes: readonly Nlri[], ctx: CodecContext) => {
  const max = limit(ctx);
  const { v4, v6 } = byFamily(prefixes);
  const out: Uint8Array[] = [];
  if (v4.length > 0) {
    const addPath = hasAddPath(ctx, AFI_IPV4, SAFI_UNICAST);
    cut(v4, max - HEADER_SIZE - 4, addPath, 'UPDATE Withdrawn Routes', (from, to, used) => {
      out.push(
        update(HEADER_SIZE + 4 + used, (buf) => {
          put16(buf, 19, used);
          put16(buf, putRun(buf, 21, v4, from, to, addPath), 0);
        }),
      );
    });
  }
  if (v6.length > 0) {
    const afi = familyAfi(6);
    const addPath = hasAddPath(ctx, afi, SAFI_UNICAST);
    cut(v6, max - HEADER_SIZE - 4 - 4 - 3, addPath, 'MP_UNREACH_NLRI', (from, to, used) => {
      const valueLength = 3 + used;
      const attrHead = mpHeader(valueLength);
      out.push(
        update(HEADER_SIZE + 4 + attrHead + valueLength, (buf) => {
          put16(buf, 19, 0);
          put16(buf, 21, attrHead + valueLength);
          const p = writeMpAttributeHeader(buf, 23, ATTR_CODE.MP_UNREACH_NLRI, valueLength);
          put16(buf, p, afi);
          buf[p + 2] = SAFI_UNICAST;
          putRun(buf, p + 3, v6, from, to, addPath);
        }),
      );
    });
  }
  return out;
};
