// Packing many routes that share one set of path attributes into as few UPDATE messages as the
// session's size limit allows (4096 octets, 65535 with extended messages).
//
// IPv4 unicast goes in the NLRI / Withdrawn Routes fields; every other family in MP_REACH_NLRI /
// MP_UNREACH_NLRI, written as the first attribute (RFC 7606 §5.1). The shared attributes are
// encoded once; each message then takes prefixes until the next would not fit. Prefix order
// is kept.

import { attributesBytes, writeAttribute } from './attributes.js';
import { Writer } from './bytes.js';
import { writeHeader } from './header.js';
import { checkFamily, writeMpNextHop } from './mp-reach.js';
import { familyAfi, hasAddPath, prefixSize, writePrefix } from './nlri.js';
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

function finish(w: Writer): Uint8Array {
  const out = w.finish();
  writeHeader(out, out.length, MESSAGE_TYPE.UPDATE);
  return out;
}

/** Split `list` into runs whose encoded size stays within `room` octets each. */
function runs(list: readonly Nlri[], room: number, addPath: boolean, where: string): Nlri[][] {
  const out: Nlri[][] = [];
  let run: Nlri[] = [];
  let used = 0;
  for (const n of list) {
    const size = prefixSize(n, addPath);
    if (size > room) throw new BgpEncodeError(where, `a ${size}-octet prefix does not fit the ${room} octets left beside the attributes`);
    if (used + size > room) {
      out.push(run);
      run = [];
      used = 0;
    }
    run.push(n);
    used += size;
  }
  if (run.length > 0) out.push(run);
  return out;
}

function byFamily(prefixes: readonly Nlri[]): { v4: Nlri[]; v6: Nlri[] } {
  const v4: Nlri[] = [];
  const v6: Nlri[] = [];
  for (const n of prefixes) (n.prefix.family === 4 ? v4 : v6).push(n);
  return { v4, v6 };
}

/** The MP attribute header is 4 octets when its value exceeds 255 (extended length). */
const mpHeader = (valueLength: number): number => (valueLength > 255 ? 4 : 3);

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
    for (const run of runs(v4, room, addPath, 'UPDATE NLRI')) {
      const w = new Writer(max);
      w.bytes(new Uint8Array(HEADER_SIZE)).u16(0).u16(common.length).bytes(common);
      for (const n of run) writePrefix(w, n, addPath);
      out.push(finish(w));
    }
  }
  if (v6.length > 0) {
    const mp = attrs.mpReach;
    if (!mp || mp.afi !== familyAfi(6)) throw new BgpEncodeError('packUpdates', 'IPv6 prefixes need attrs.mpReach with AFI 2 and a next hop');
    checkFamily(v6, mp.afi, mp.safi, 'MP_REACH_NLRI');
    const addPath = hasAddPath(ctx, mp.afi, mp.safi);
    const fixed = 3 + 1 + nextHopLength(mp.nextHop) + 1;
    // Budget for the 4-octet (extended length) attribute header; a short run uses 3.
    const room = max - HEADER_SIZE - 4 - common.length - 4 - fixed;
    for (const run of runs(v6, room, addPath, 'MP_REACH_NLRI')) {
      const value = new Writer(fixed + room);
      value.u16(mp.afi).u8(mp.safi);
      writeMpNextHop(value, mp.nextHop);
      for (const n of run) writePrefix(value, n, addPath);
      const v = value.finish();
      const w = new Writer(HEADER_SIZE + 4 + mpHeader(v.length) + v.length + common.length);
      w.bytes(new Uint8Array(HEADER_SIZE)).u16(0).u16(mpHeader(v.length) + v.length + common.length);
      writeAttribute(w, ATTR_FLAG.OPTIONAL, ATTR_CODE.MP_REACH_NLRI, v);
      w.bytes(common);
      out.push(finish(w));
    }
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
    for (const run of runs(v4, max - HEADER_SIZE - 4, addPath, 'UPDATE Withdrawn Routes')) {
      const w = new Writer(max);
      w.bytes(new Uint8Array(HEADER_SIZE));
      const at = w.slot(2);
      const from = w.length;
      for (const n of run) writePrefix(w, n, addPath);
      w.patch(at, 2, from);
      w.u16(0);
      out.push(finish(w));
    }
  }
  if (v6.length > 0) {
    const afi = familyAfi(6);
    const addPath = hasAddPath(ctx, afi, SAFI_UNICAST);
    for (const run of runs(v6, max - HEADER_SIZE - 4 - 4 - 3, addPath, 'MP_UNREACH_NLRI')) {
      const value = new Writer(max);
      value.u16(afi).u8(SAFI_UNICAST);
      for (const n of run) writePrefix(value, n, addPath);
      const v = value.finish();
      const w = new Writer(HEADER_SIZE + 8 + v.length);
      w.bytes(new Uint8Array(HEADER_SIZE)).u16(0).u16(mpHeader(v.length) + v.length);
      writeAttribute(w, ATTR_FLAG.OPTIONAL, ATTR_CODE.MP_UNREACH_NLRI, v);
      out.push(finish(w));
    }
  }
  return out;
};
