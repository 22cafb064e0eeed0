// UPDATE (RFC 4271 §4.3): Withdrawn Routes, Path Attributes and NLRI fields, the checks of
// RFC 4271 §6.3 as revised by RFC 7606, and End-of-RIB (RFC 4724 §2).
//
// Fatal (session reset): field lengths that do not add up (RFC 7606 §3 a, Malformed Attribute
// List) and Withdrawn Routes or NLRI fields that do not parse (§5.3, Invalid Network Field).
// Survivable: whatever decodeAttributes reports, plus a missing well-known mandatory attribute
// when the UPDATE announces routes (§3 d, treat-as-withdraw, Missing Well-known Attribute with
// the missing type code as data).

import { decodeAttributes, encodeAttributes } from './attributes.js';
import { Writer } from './bytes.js';
import { checkFamily } from './mp-reach.js';
import { NlriSyntaxError, decodePrefixes, hasAddPath, writePrefixes } from './nlri.js';
import type { AfiSafi, CodecContext, Nlri, UpdateIssue, UpdateMessage } from './types.js';
import { AFI_IPV4, ATTR_CODE, BgpDecodeError, ERROR_CODE, SAFI_UNICAST, UPDATE_SUBCODE } from './types.js';

function fatal(subcode: number, where: string, reason: string): BgpDecodeError {
  return new BgpDecodeError({ code: ERROR_CODE.UPDATE_MESSAGE, subcode, data: new Uint8Array(0) }, 'session-reset', where, reason);
}

function prefixes(body: Uint8Array, start: number, end: number, addPath: boolean, field: string): Nlri[] {
  try {
    return decodePrefixes(body, start, end, 4, addPath);
  } catch (e) {
    if (e instanceof NlriSyntaxError) throw fatal(UPDATE_SUBCODE.INVALID_NETWORK_FIELD, `UPDATE ${field}`, e.message);
    throw e;
  }
}

/** Decode an UPDATE body (the message without its 19-octet header). */
export function decodeUpdateBody(body: Uint8Array, ctx: CodecContext): UpdateMessage {
  const size = body.length;
  if (size < 4) throw fatal(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, 'UPDATE', `body is ${size} octets, at least 4 needed`);
  const withdrawnLength = (body[0]! << 8) | body[1]!;
  if (2 + withdrawnLength + 2 > size) throw fatal(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, 'UPDATE', `Withdrawn Routes Length ${withdrawnLength} runs past the message (${size - 4} octets available)`);
  const attrStart = 4 + withdrawnLength;
  const attrLength = (body[attrStart - 2]! << 8) | body[attrStart - 1]!;
  if (attrStart + attrLength > size) {
    throw fatal(UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, 'UPDATE', `Total Path Attribute Length ${attrLength} runs past the message (${size - attrStart} octets available)`);
  }
  const addPath = hasAddPath(ctx, AFI_IPV4, SAFI_UNICAST);
  const withdrawn = prefixes(body, 2, 2 + withdrawnLength, addPath, 'Withdrawn Routes');
  const nlri = prefixes(body, attrStart + attrLength, size, addPath, 'NLRI');
  const decoded = decodeAttributes(body, attrStart, attrStart + attrLength, ctx);
  const { attributes } = decoded;
  const issues: UpdateIssue[] = decoded.issues;
  let treatAsWithdraw = decoded.treatAsWithdraw;

  if (nlri.length > 0 || attributes.mpReach !== undefined) {
    const missing: [number, string][] = [];
    if (attributes.origin === undefined) missing.push([ATTR_CODE.ORIGIN, 'ORIGIN']);
    if (attributes.asPath === undefined) missing.push([ATTR_CODE.AS_PATH, 'AS_PATH']);
    if (nlri.length > 0 && attributes.nextHop === undefined) missing.push([ATTR_CODE.NEXT_HOP, 'NEXT_HOP']);
    for (const [code, name] of missing) {
      // Only report what was absent, not what was present and already discarded as malformed.
      if (issues.some((i) => i.attributeCode === code && i.disposition === 'treat-as-withdraw')) continue;
      treatAsWithdraw = true;
      issues.push({
        disposition: 'treat-as-withdraw',
        attributeCode: code,
        notification: { code: ERROR_CODE.UPDATE_MESSAGE, subcode: UPDATE_SUBCODE.MISSING_WELL_KNOWN_ATTRIBUTE, data: new Uint8Array([code]) },
        reason: `well-known mandatory attribute ${name} is missing (RFC 7606 §3 d)`,
      });
    }
  }
  return {
    type: 'UPDATE',
    withdrawn,
    attributes,
    nlri,
    ...(treatAsWithdraw ? { treatAsWithdraw } : {}),
    ...(issues.length > 0 ? { issues } : {}),
  };
}

export function encodeUpdateBody(msg: UpdateMessage, ctx: CodecContext, w: Writer): void {
  const addPath = hasAddPath(ctx, AFI_IPV4, SAFI_UNICAST);
  checkFamily(msg.withdrawn, AFI_IPV4, SAFI_UNICAST, 'UPDATE Withdrawn Routes');
  checkFamily(msg.nlri, AFI_IPV4, SAFI_UNICAST, 'UPDATE NLRI');
  let at = w.slot(2);
  let from = w.length;
  writePrefixes(w, msg.withdrawn, addPath);
  w.patch(at, 2, from);
  at = w.slot(2);
  from = w.length;
  encodeAttributes(msg.attributes, ctx, w);
  w.patch(at, 2, from);
  writePrefixes(w, msg.nlri, addPath);
}

export interface FamilyRoutes extends AfiSafi {
  readonly nlri: readonly Nlri[];
}

/**
 * The routes an UPDATE announces and withdraws, per family, with RFC 7606 treat-as-withdraw
 * applied (announcements become withdrawals). Families kept raw are left out.
 */
export function updateRoutes(msg: UpdateMessage): { announce: FamilyRoutes[]; withdraw: FamilyRoutes[] } {
  const announce: FamilyRoutes[] = [];
  const withdraw: FamilyRoutes[] = [];
  const ipv4 = { afi: AFI_IPV4, safi: SAFI_UNICAST };
  if (msg.withdrawn.length > 0) withdraw.push({ ...ipv4, nlri: msg.withdrawn });
  const un = msg.attributes.mpUnreach;
  if (un && un.withdrawn.length > 0) withdraw.push({ afi: un.afi, safi: un.safi, nlri: un.withdrawn });
  const reach: FamilyRoutes[] = [];
  if (msg.nlri.length > 0) reach.push({ ...ipv4, nlri: msg.nlri });
  const mp = msg.attributes.mpReach;
  if (mp && mp.nlri.length > 0) reach.push({ afi: mp.afi, safi: mp.safi, nlri: mp.nlri });
  (msg.treatAsWithdraw ? withdraw : announce).push(...reach);
  return { announce, withdraw };
}

/** The family an UPDATE marks End-of-RIB for (RFC 4724 §2), or undefined. */
export function endOfRib(msg: UpdateMessage): AfiSafi | undefined {
  const keys = Object.keys(msg.attributes).filter((k) => k !== 'layout');
  if (msg.withdrawn.length > 0 || msg.nlri.length > 0) return undefined;
  if (keys.length === 0) return { afi: AFI_IPV4, safi: SAFI_UNICAST };
  const un = msg.attributes.mpUnreach;
  if (keys.length === 1 && un && un.withdrawn.length === 0 && (un.rawWithdrawn?.length ?? 0) === 0) return { afi: un.afi, safi: un.safi };
  return undefined;
}

/** The End-of-RIB marker for a family. */
export function endOfRibMessage(family: AfiSafi): UpdateMessage {
  if (family.afi === AFI_IPV4 && family.safi === SAFI_UNICAST) return { type: 'UPDATE', withdrawn: [], attributes: {}, nlri: [] };
  return { type: 'UPDATE', withdrawn: [], attributes: { mpUnreach: { afi: family.afi, safi: family.safi, withdrawn: [] } }, nlri: [] };
}
