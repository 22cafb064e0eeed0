// The Path Attributes field of an UPDATE: the walk over (flags, type, length, value) records
// that applies RFC 7606, and the encoder that writes PathAttributes back.
//
// RFC 7606 as applied here:
// - §4: an attribute header cut short, or a length running past Total Path Attribute Length,
//   is treat-as-withdraw; the walk stops (the NLRI field is still found from the total length).
// - §3 g: MP_REACH_NLRI or MP_UNREACH_NLRI twice is Malformed Attribute List (session reset);
//   any other attribute repeated keeps the first and discards the rest.
// - §3 c: Optional/Transitive bits that disagree with the attribute's RFC are handled as that
//   attribute's malformation (treat-as-withdraw, or attribute-discard for ATOMIC_AGGREGATE,
//   AGGREGATOR and the AS4_* attributes per §3 f and RFC 6793 §6).
// - §7: each attribute's value check and disposition lives in its descriptor row.
// - An unrecognised attribute without the Optional bit is Unrecognized Well-known Attribute
//   (RFC 4271 §6.3, not relaxed by RFC 7606): session reset.
// Encoding follows RFC 7606 §5.1 (MP_REACH/MP_UNREACH first) unless a decoded layout says
// otherwise, and generates AS4_PATH/AS4_AGGREGATOR for 2-octet peers (RFC 6793 §4.2.2).

import { as4PathFor } from './as-path.js';
import { ATTRIBUTE_BY_CODE, ATTRIBUTES, Malformed, attributeName } from './attribute-table.js';
import { Writer } from './bytes.js';
import type { AttributeLayout, CodecContext, NotificationFields, PathAttributes, RawAttribute, UpdateIssue } from './types.js';
import { ATTR_CODE, ATTR_FLAG, BgpDecodeError, BgpEncodeError, ERROR_CODE, UPDATE_SUBCODE } from './types.js';

const OT = ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE;
const KEPT_BITS = ATTR_FLAG.PARTIAL | ATTR_FLAG.EXTENDED_LENGTH;

export interface DecodedAttributes {
  readonly attributes: PathAttributes;
  readonly issues: UpdateIssue[];
  readonly treatAsWithdraw: boolean;
}

const notification = (subcode: number, data: Uint8Array): NotificationFields => ({ code: ERROR_CODE.UPDATE_MESSAGE, subcode, data: data.slice() });
const NO_DATA = new Uint8Array(0);

/** Rank for canonical order: MP_REACH, MP_UNREACH, then by type code. */
const rank = (code: number): number => (code === ATTR_CODE.MP_REACH_NLRI ? -2 : code === ATTR_CODE.MP_UNREACH_NLRI ? -1 : code);

/** Walk buf[start, end). Throws BgpDecodeError for errors RFC 7606 does not let us survive. */
export function decodeAttributes(buf: Uint8Array, start: number, end: number, ctx: CodecContext): DecodedAttributes {
  const out: Record<string, unknown> = {};
  const unknown: RawAttribute[] = [];
  const issues: UpdateIssue[] = [];
  const seen = new Set<number>();
  const order: number[] = [];
  const odd = new Map<number, number>();
  let withdraw = false;
  const issue = (disposition: UpdateIssue['disposition'], code: number | undefined, n: NotificationFields, reason: string) => {
    if (disposition === 'treat-as-withdraw') withdraw = true;
    issues.push(code === undefined ? { disposition, notification: n, reason } : { disposition, attributeCode: code, notification: n, reason });
  };

  let p = start;
  while (p < end) {
    const left = end - p;
    const flags = buf[p]!;
    const ext = (flags & ATTR_FLAG.EXTENDED_LENGTH) !== 0;
    const hdr = ext ? 4 : 3;
    if (left < hdr) {
      issue('treat-as-withdraw', undefined, notification(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, NO_DATA), `${left} octets left at offset ${p - start}, too few for an attribute header (RFC 7606 §4)`);
      break;
    }
    const code = buf[p + 1]!;
    const len = ext ? (buf[p + 2]! << 8) | buf[p + 3]! : buf[p + 2]!;
    if (p + hdr + len > end) {
      issue('treat-as-withdraw', code, notification(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, NO_DATA), `${attributeName(code)} length ${len} at offset ${p - start} runs past the path attributes (${end - p - hdr} octets left; RFC 7606 §4)`);
      break;
    }
    const attribute = buf.subarray(p, p + hdr + len);
    const value = buf.subarray(p + hdr, p + hdr + len);
    p += hdr + len;
    const name = attributeName(code);

    if (seen.has(code)) {
      if (code === ATTR_CODE.MP_REACH_NLRI || code === ATTR_CODE.MP_UNREACH_NLRI) {
        throw new BgpDecodeError(notification(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, NO_DATA), 'session-reset', `UPDATE attribute ${name}`, 'appears more than once (RFC 7606 §3 g)');
      }
      issue('attribute-discard', code, notification(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, NO_DATA), `${name} repeated; the first is kept (RFC 7606 §3 g)`);
      continue;
    }
    seen.add(code);

    const d = ATTRIBUTE_BY_CODE.get(code);
    if (!d) {
      if ((flags & ATTR_FLAG.OPTIONAL) === 0) {
        throw new BgpDecodeError(notification(UPDATE_SUBCODE.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, attribute), 'session-reset', `UPDATE attribute ${code}`, 'is not a well-known attribute this speaker recognises');
      }
      unknown.push({ flags, code, value: value.slice() });
      order.push(code);
      continue;
    }
    const soft = d.malformed === 'attribute-discard' ? 'attribute-discard' : 'treat-as-withdraw';
    let decodeAnyway = false;
    if ((flags & OT) !== d.flags) {
      issue(soft, code, notification(UPDATE_SUBCODE.ATTRIBUTE_FLAGS_ERROR, attribute), `${name} flags 0x${flags.toString(16)} conflict with its type (optional/transitive must be 0x${d.flags.toString(16)}; RFC 7606 §3 c)`);
      // The MP attributes still tell which routes to withdraw.
      decodeAnyway = d.key === 'mpReach' || d.key === 'mpUnreach';
      if (!decodeAnyway) continue;
    }
    if (d.internalOnly && ctx.external) {
      issue('attribute-discard', code, notification(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, NO_DATA), `${name} from an external peer is discarded (RFC 7606 §7.5/7.9/7.10)`);
      continue;
    }
    if (d.oldSpeakerOnly && ctx.as4) {
      issue('attribute-discard', code, notification(UPDATE_SUBCODE.OPTIONAL_ATTRIBUTE_ERROR, attribute), `${name} from a 4-octet-AS speaker is discarded (RFC 6793 §4.2.3)`);
      continue;
    }
    try {
      out[d.key] = d.decode(value, ctx, attribute);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      issue(soft, code, notification(e.subcode, e.withData ? attribute : NO_DATA), `${name}: ${e.message}`);
      continue;
    }
    order.push(code);
    const bits = flags & KEPT_BITS;
    if (bits !== (len > 255 ? ATTR_FLAG.EXTENDED_LENGTH : 0)) odd.set(code, flags);
  }

  if (unknown.length > 0) out['unknown'] = unknown;
  const canonical = odd.size === 0 && order.every((c, i) => i === 0 || rank(order[i - 1]!) < rank(c));
  if (!canonical) out['layout'] = { order, flags: odd } satisfies AttributeLayout;
  return { attributes: out as PathAttributes, issues, treatAsWithdraw: withdraw };
}

export interface EncodeAttributesOptions {
  /** Type codes to leave out (packUpdates writes MP_REACH/MP_UNREACH itself). */
  readonly exclude?: ReadonlySet<number>;
}

interface Pending {
  readonly code: number;
  readonly flags: number;
  readonly value: Uint8Array;
}

/** What actually goes on the wire for this session: AS4_* added for 2-octet peers, dropped
 *  for 4-octet ones (RFC 6793 §4.1, §4.2.2). */
function forSession(attrs: PathAttributes, ctx: CodecContext): PathAttributes {
  if (ctx.as4) {
    if (attrs.as4Path === undefined && attrs.as4Aggregator === undefined) return attrs;
    const { as4Path: _p, as4Aggregator: _a, ...rest } = attrs;
    return rest;
  }
  let out = attrs;
  if (attrs.asPath && attrs.as4Path === undefined) {
    const as4Path = as4PathFor(attrs.asPath);
    if (as4Path) out = { ...out, as4Path };
  }
  if (attrs.aggregator && attrs.aggregator.asn > 0xffff && attrs.as4Aggregator === undefined) out = { ...out, as4Aggregator: attrs.aggregator };
  return out;
}

/** Encode PathAttributes into `w` (the Path Attributes field, without its length). */
export function encodeAttributes(input: PathAttributes, ctx: CodecContext, w: Writer, opts: EncodeAttributesOptions = {}): void {
  const attrs = forSession(input, ctx);
  const pending: Pending[] = [];
  const layoutFlags = attrs.layout?.flags;
  for (const d of ATTRIBUTES) {
    const v = attrs[d.key];
    if (v === undefined || v === false || opts.exclude?.has(d.code)) continue;
    const vw = new Writer(64);
    (d.encode as (value: unknown, ctx: CodecContext, w: Writer) => void)(v, ctx, vw);
    const value = vw.finish();
    pending.push({ code: d.code, flags: d.flags | ((layoutFlags?.get(d.code) ?? 0) & KEPT_BITS), value });
  }
  for (const u of attrs.unknown ?? []) {
    if (opts.exclude?.has(u.code)) continue;
    if (ATTRIBUTE_BY_CODE.has(u.code)) throw new BgpEncodeError('UPDATE', `attribute ${u.code} is known (${attributeName(u.code)}); set it by name, not as a raw attribute`);
    pending.push({ code: u.code, flags: u.flags, value: u.value });
  }
  const seen = new Set<number>();
  for (const a of pending) {
    if (seen.has(a.code)) throw new BgpEncodeError('UPDATE', `attribute ${a.code} given twice`);
    seen.add(a.code);
  }
  const position = new Map<number, number>();
  attrs.layout?.order.forEach((c, i) => position.set(c, i));
  pending.sort((a, b) => {
    const pa = position.get(a.code) ?? Infinity;
    const pb = position.get(b.code) ?? Infinity;
    return pa !== pb ? pa - pb : rank(a.code) - rank(b.code);
  });
  for (const a of pending) writeAttribute(w, a.flags, a.code, a.value);
}

export function writeAttribute(w: Writer, flags: number, code: number, value: Uint8Array): void {
  if (value.length > 0xffff) throw new BgpEncodeError('UPDATE', `${attributeName(code)} value is ${value.length} octets, more than 65535`);
  const ext = value.length > 255 || (flags & ATTR_FLAG.EXTENDED_LENGTH) !== 0;
  w.u8(ext ? flags | ATTR_FLAG.EXTENDED_LENGTH : flags & ~ATTR_FLAG.EXTENDED_LENGTH).u8(code);
  if (ext) w.u16(value.length);
  else w.u8(value.length);
  w.bytes(value);
}

export function attributesBytes(attrs: PathAttributes, ctx: CodecContext, opts: EncodeAttributesOptions = {}): Uint8Array {
  const w = new Writer(256);
  encodeAttributes(attrs, ctx, w, opts);
  return w.finish();
}

/**
 * RFC 4271 §5 for a route passed on to another peer: unrecognised optional transitive
 * attributes are kept with the Partial bit set, unrecognised non-transitive ones are dropped,
 * and the received wire layout no longer applies.
 */
export function prepareForForwarding(attrs: PathAttributes): PathAttributes {
  const { layout: _layout, unknown, ...rest } = attrs;
  const kept = (unknown ?? []).filter((u) => (u.flags & ATTR_FLAG.TRANSITIVE) !== 0).map((u) => ({ ...u, flags: (u.flags | ATTR_FLAG.PARTIAL) & ~ATTR_FLAG.EXTENDED_LENGTH }));
  return kept.length > 0 ? { ...rest, unknown: kept } : rest;
}
