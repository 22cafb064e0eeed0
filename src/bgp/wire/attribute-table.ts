// Path attributes as a descriptor table, one row per type code: name, the Optional/Transitive
// flags its RFC fixes, the PathAttributes field it fills, what RFC 7606 §7 says to do when it is
// malformed, and its value decode and encode. The attribute-list walk in attributes.ts is
// generic over this table; adding an attribute is adding a row.
//
// Decoders see only the value (and the whole attribute for NOTIFICATION data) and report a
// malformed value by throwing Malformed with the RFC 4271 §6.3 subcode; the walk turns that into
// the row's disposition.

import type { IPAddr } from '../../ip/index.js';
import { type Writer } from './bytes.js';
import { decodeAsPath, encodeAsPath, isConfedSegment } from './as-path.js';
import { decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp-reach.js';
import type { Aggregator, CodecContext, LargeCommunity, Origin, PathAttributes } from './types.js';
import { ATTR_CODE, ATTR_FLAG, BgpEncodeError, UPDATE_SUBCODE } from './types.js';

/** A malformed attribute value: `subcode` is the UPDATE Message Error subcode RFC 4271 gives it. */
export class Malformed extends Error {
  override readonly name = 'Malformed';
  constructor(readonly subcode: number, reason: string, readonly withData = true) {
    super(reason);
  }
}

type Key = Exclude<keyof PathAttributes, 'unknown' | 'layout'>;
type Value<K extends Key> = NonNullable<PathAttributes[K]>;

export interface AttributeDescriptor<K extends Key = Key> {
  readonly code: number;
  readonly name: string;
  /** The Optional and Transitive bits the attribute must carry. */
  readonly flags: number;
  readonly key: K;
  /** RFC 7606 handling of a malformed value (and of wrong O/T flags, §3c). */
  readonly malformed: 'treat-as-withdraw' | 'attribute-discard' | 'afi-safi-disable';
  /** RFC 7606 §7.5, §7.9, §7.10: discarded when it comes from an external peer. */
  readonly internalOnly?: boolean;
  /** RFC 6793: only meaningful from a 2-octet (OLD) speaker; discarded otherwise. */
  readonly oldSpeakerOnly?: boolean;
  readonly decode: (value: Uint8Array, ctx: CodecContext, attribute: Uint8Array) => Value<K>;
  readonly encode: (value: Value<K>, ctx: CodecContext, w: Writer) => void;
}

/** Erase a row's key type so rows of different attributes share one table. */
const row = <K extends Key>(d: AttributeDescriptor<K>): AttributeDescriptor => d as unknown as AttributeDescriptor;

const WELL_KNOWN = ATTR_FLAG.TRANSITIVE;
const OPTIONAL = ATTR_FLAG.OPTIONAL;
const OPTIONAL_TRANSITIVE = ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE;

const u32 = (v: Uint8Array, at: number): number => ((v[at]! << 24) >>> 0) + ((v[at + 1]! << 16) | (v[at + 2]! << 8) | v[at + 3]!);

function length(v: Uint8Array, ok: boolean, want: string): void {
  if (!ok) throw new Malformed(UPDATE_SUBCODE.ATTRIBUTE_LENGTH_ERROR, `length ${v.length}, must be ${want}`);
}

function u32List(v: Uint8Array): number[] {
  length(v, v.length > 0 && v.length % 4 === 0, 'a non-zero multiple of 4');
  const out = new Array<number>(v.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = u32(v, 4 * i);
  return out;
}

const ipv4 = (v: Uint8Array, at: number): IPAddr => ({ family: 4, value: BigInt(u32(v, at)) });

function writeIPv4(w: Writer, a: IPAddr, what: string): void {
  if (a.family !== 4) throw new BgpEncodeError(what, 'must be an IPv4 address');
  w.u32(Number(a.value));
}

function writeU32(w: Writer, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new BgpEncodeError(what, `${n} is not a 32-bit unsigned integer`);
  w.u32(n);
}

/** Value codec of an attribute that is one 4-octet number (MED, LOCAL_PREF, ORIGINATOR_ID). */
const u32Value = (name: string) => ({
  decode: (v: Uint8Array): number => {
    length(v, v.length === 4, '4');
    return u32(v, 0);
  },
  encode: (n: number, _ctx: CodecContext, w: Writer) => writeU32(w, n, name),
});

/** Value codec of an attribute that is a non-empty list of 4-octet numbers. */
const u32ListValue = (name: string) => ({
  decode: (v: Uint8Array): number[] => u32List(v),
  encode: (list: readonly number[], _ctx: CodecContext, w: Writer) => list.forEach((c) => writeU32(w, c, name)),
});

const ORIGINS: readonly Origin[] = ['igp', 'egp', 'incomplete'];

function aggregatorRow(code: number, name: string, key: 'aggregator' | 'as4Aggregator', oldSpeakerOnly: boolean): AttributeDescriptor<'aggregator' | 'as4Aggregator'> {
  const asnSize = (ctx: CodecContext) => (key === 'as4Aggregator' || ctx.as4 ? 4 : 2);
  return {
    code,
    name,
    flags: OPTIONAL_TRANSITIVE,
    key,
    malformed: 'attribute-discard',
    oldSpeakerOnly,
    decode: (v, ctx): Aggregator => {
      const n = asnSize(ctx);
      length(v, v.length === n + 4, String(n + 4));
      return { asn: n === 4 ? u32(v, 0) : (v[0]! << 8) | v[1]!, address: ipv4(v, n) };
    },
    encode: (a, ctx, w) => {
      if (asnSize(ctx) === 4) writeU32(w, a.asn, name);
      else w.u16(a.asn > 0xffff ? 23456 : a.asn);
      writeIPv4(w, a.address, `${name} address`);
    },
  };
}

export const ATTRIBUTES: readonly AttributeDescriptor[] = [
  row({
    code: ATTR_CODE.ORIGIN,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    key: 'origin',
    malformed: 'treat-as-withdraw',
    decode: (v) => {
      length(v, v.length === 1, '1');
      const o = ORIGINS[v[0]!];
      if (o === undefined) throw new Malformed(UPDATE_SUBCODE.INVALID_ORIGIN, `value ${v[0]} is not IGP (0), EGP (1) or INCOMPLETE (2)`);
      return o;
    },
    encode: (o, _ctx, w) => {
      w.u8(ORIGINS.indexOf(o));
    },
  }),
  row({
    code: ATTR_CODE.AS_PATH,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    key: 'asPath',
    malformed: 'treat-as-withdraw',
    decode: (v, ctx) => {
      const p = decodeAsPath(v, ctx.as4 ? 4 : 2);
      // RFC 4271 §6.3: Malformed AS_PATH carries no data.
      if (typeof p === 'string') throw new Malformed(UPDATE_SUBCODE.MALFORMED_AS_PATH, p, false);
      // RFC 7606 §7.2: confederation segments only come from inside the confederation.
      if (ctx.external && p.some(isConfedSegment)) throw new Malformed(UPDATE_SUBCODE.MALFORMED_AS_PATH, 'confederation segments from an external peer', false);
      return p;
    },
    encode: (p, ctx, w) => encodeAsPath(p, ctx.as4 ? 4 : 2, w),
  }),
  row({
    code: ATTR_CODE.NEXT_HOP,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    key: 'nextHop',
    malformed: 'treat-as-withdraw',
    decode: (v) => {
      length(v, v.length === 4, '4');
      return ipv4(v, 0);
    },
    encode: (a, _ctx, w) => writeIPv4(w, a, 'NEXT_HOP'),
  }),
  row({
    code: ATTR_CODE.MULTI_EXIT_DISC,
    name: 'MULTI_EXIT_DISC',
    flags: OPTIONAL,
    key: 'med',
    malformed: 'treat-as-withdraw',
    ...u32Value('MULTI_EXIT_DISC'),
  }),
  row({
    code: ATTR_CODE.LOCAL_PREF,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    key: 'localPref',
    malformed: 'treat-as-withdraw',
    internalOnly: true,
    ...u32Value('LOCAL_PREF'),
  }),
  row({
    code: ATTR_CODE.ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    key: 'atomicAggregate',
    malformed: 'attribute-discard',
    decode: (v) => {
      length(v, v.length === 0, '0');
      return true;
    },
    encode: () => {},
  }),
  row(aggregatorRow(ATTR_CODE.AGGREGATOR, 'AGGREGATOR', 'aggregator', false)),
  row({
    code: ATTR_CODE.COMMUNITIES,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    key: 'communities',
    malformed: 'treat-as-withdraw',
    ...u32ListValue('COMMUNITIES'),
  }),
  row({
    code: ATTR_CODE.ORIGINATOR_ID,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    key: 'originatorId',
    malformed: 'treat-as-withdraw',
    internalOnly: true,
    ...u32Value('ORIGINATOR_ID'),
  }),
  row({
    code: ATTR_CODE.CLUSTER_LIST,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL,
    key: 'clusterList',
    malformed: 'treat-as-withdraw',
    internalOnly: true,
    ...u32ListValue('CLUSTER_LIST'),
  }),
  row({
    code: ATTR_CODE.MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL,
    key: 'mpReach',
    malformed: 'afi-safi-disable',
    decode: (v, ctx, attribute) => decodeMpReach(v, attribute, ctx),
    encode: (mp, ctx, w) => encodeMpReach(mp, ctx, w),
  }),
  row({
    code: ATTR_CODE.MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL,
    key: 'mpUnreach',
    malformed: 'afi-safi-disable',
    decode: (v, ctx, attribute) => decodeMpUnreach(v, attribute, ctx),
    encode: (mp, ctx, w) => encodeMpUnreach(mp, ctx, w),
  }),
  row({
    code: ATTR_CODE.EXTENDED_COMMUNITIES,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    key: 'extendedCommunities',
    malformed: 'treat-as-withdraw',
    decode: (v) => {
      length(v, v.length > 0 && v.length % 8 === 0, 'a non-zero multiple of 8');
      const out: bigint[] = [];
      for (let i = 0; i < v.length; i += 8) out.push((BigInt(u32(v, i)) << 32n) | BigInt(u32(v, i + 4)));
      return out;
    },
    encode: (list, _ctx, w) => {
      for (const c of list) {
        if (c < 0n || c >= 1n << 64n) throw new BgpEncodeError('EXTENDED_COMMUNITIES', `${c} is not a 64-bit value`);
        w.u32(Number(c >> 32n)).u32(Number(c & 0xffffffffn));
      }
    },
  }),
  row({
    code: ATTR_CODE.AS4_PATH,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    key: 'as4Path',
    malformed: 'attribute-discard',
    oldSpeakerOnly: true,
    decode: (v) => {
      const p = decodeAsPath(v, 4);
      if (typeof p === 'string') throw new Malformed(UPDATE_SUBCODE.MALFORMED_AS_PATH, p, false);
      return p;
    },
    encode: (p, _ctx, w) => encodeAsPath(p, 4, w),
  }),
  row(aggregatorRow(ATTR_CODE.AS4_AGGREGATOR, 'AS4_AGGREGATOR', 'as4Aggregator', true)),
  row({
    code: ATTR_CODE.LARGE_COMMUNITY,
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    key: 'largeCommunities',
    malformed: 'treat-as-withdraw',
    decode: (v) => {
      length(v, v.length > 0 && v.length % 12 === 0, 'a non-zero multiple of 12');
      const out: LargeCommunity[] = [];
      for (let i = 0; i < v.length; i += 12) out.push({ global: u32(v, i), local1: u32(v, i + 4), local2: u32(v, i + 8) });
      return out;
    },
    encode: (list, _ctx, w) => {
      for (const c of list) {
        writeU32(w, c.global, 'LARGE_COMMUNITY');
        writeU32(w, c.local1, 'LARGE_COMMUNITY');
        writeU32(w, c.local2, 'LARGE_COMMUNITY');
      }
    },
  }),
];

export const ATTRIBUTE_BY_CODE: ReadonlyMap<number, AttributeDescriptor> = new Map(ATTRIBUTES.map((d) => [d.code, d]));
export const ATTRIBUTE_BY_KEY: ReadonlyMap<Key, AttributeDescriptor> = new Map(ATTRIBUTES.map((d) => [d.key, d]));

export function attributeName(code: number): string {
  return ATTRIBUTE_BY_CODE.get(code)?.name ?? `attribute ${code}`;
}
