// OPEN (RFC 4271 §4.2) with its Capabilities optional parameters (RFC 5492), the RFC 9072
// extended optional-parameters length, and what two OPENs negotiate for the codec.
//
// Errors per RFC 4271 §6.2: version other than 4 → Unsupported Version Number with the version we
// support as data; hold time 1 or 2 → Unacceptable Hold Time; BGP Identifier 0 → Bad BGP
// Identifier (RFC 6286 §2.2); an optional parameter other than Capabilities → Unsupported
// Optional Parameter; a parameter block that does not add up → Bad Message Length. Checks that
// need configuration (peer AS, identifier equal to ours) belong to the FSM.

import { Reader, Writer, u16Bytes } from './bytes.js';
import { decodeCapabilities, encodeCapability } from './capabilities.js';
import { afiSafiKey } from './nlri.js';
import type { AfiSafiKey, Capability, CodecContext, OpenMessage } from './types.js';
import { AS_TRANS, BgpDecodeError, BgpEncodeError, ERROR_CODE, HEADER_SUBCODE, OPEN_SUBCODE } from './types.js';

const CAPABILITIES_PARAMETER = 2;
const EXTENDED_PARAMETERS = 255;

function openError(subcode: number, reason: string, data: Uint8Array = new Uint8Array(0)): BgpDecodeError {
  return new BgpDecodeError({ code: ERROR_CODE.OPEN_MESSAGE, subcode, data }, 'session-reset', 'OPEN', reason);
}

/** Decode an OPEN body (the message without its 19-octet header). */
export function decodeOpenBody(body: Uint8Array): OpenMessage {
  const r = new Reader(body);
  if (r.remaining < 10) throw lengthError(body.length, `body is ${body.length} octets, at least 10 needed`);
  const version = r.u8();
  if (version !== 4) throw openError(OPEN_SUBCODE.UNSUPPORTED_VERSION, `version ${version}, only 4 is supported`, u16Bytes(4));
  const myAs = r.u16();
  const holdTime = r.u16();
  if (holdTime === 1 || holdTime === 2) throw openError(OPEN_SUBCODE.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTime} s (must be 0 or at least 3)`);
  const bgpId = r.u32();
  if (bgpId === 0) throw openError(OPEN_SUBCODE.BAD_BGP_IDENTIFIER, 'BGP Identifier is 0.0.0.0');
  let paramsLength = r.u8();
  // RFC 9072: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces 2-octet lengths.
  const extended = paramsLength === EXTENDED_PARAMETERS && r.remaining >= 1 && body[r.pos] === EXTENDED_PARAMETERS;
  if (extended) {
    r.u8();
    if (r.remaining < 2) throw lengthError(body.length, 'extended optional parameters length is cut short');
    paramsLength = r.u16();
  }
  if (paramsLength !== r.remaining) {
    throw lengthError(body.length, `optional parameters length ${paramsLength} does not match the ${r.remaining} octets that follow`);
  }
  const capabilities: Capability[] = [];
  const perParameter: number[] = [];
  while (r.remaining > 0) {
    const headSize = extended ? 3 : 2;
    if (r.remaining < headSize) throw openError(0, `optional parameter header at offset ${r.pos} is cut short`);
    const type = r.u8();
    const len = extended ? r.u16() : r.u8();
    if (len > r.remaining) throw openError(0, `optional parameter ${type} length ${len} runs past the parameters (${r.remaining} left)`);
    const value = r.bytes(len);
    if (type !== CAPABILITIES_PARAMETER) throw openError(OPEN_SUBCODE.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type} is not supported (only Capabilities, 2)`);
    const caps = decodeCapabilities(value);
    capabilities.push(...caps);
    perParameter.push(caps.length);
  }
  // One parameter holding every capability (or none at all) is how we encode by default.
  const canonical = !extended && (perParameter.length === 0 || (perParameter.length === 1 && perParameter[0]! > 0));
  return {
    type: 'OPEN',
    version,
    myAs,
    holdTime,
    bgpId,
    capabilities,
    ...(canonical ? {} : { layout: { capabilitiesPerParameter: perParameter, extendedParameters: extended } }),
  };
}

function lengthError(bodyLength: number, reason: string): BgpDecodeError {
  return new BgpDecodeError(
    { code: ERROR_CODE.MESSAGE_HEADER, subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH, data: u16Bytes(bodyLength + 19) },
    'session-reset',
    'OPEN',
    reason,
  );
}

export function encodeOpenBody(msg: OpenMessage, w: Writer): void {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new BgpEncodeError('OPEN', what);
  };
  check(Number.isInteger(msg.myAs) && msg.myAs >= 0 && msg.myAs <= 0xffff, `My Autonomous System ${msg.myAs} does not fit 2 octets (send AS_TRANS and the four-octet-as capability)`);
  check(Number.isInteger(msg.holdTime) && msg.holdTime >= 0 && msg.holdTime <= 0xffff && msg.holdTime !== 1 && msg.holdTime !== 2, `hold time ${msg.holdTime} must be 0 or 3-65535`);
  check(Number.isInteger(msg.bgpId) && msg.bgpId > 0 && msg.bgpId <= 0xffffffff, `BGP Identifier ${msg.bgpId} must be a non-zero 32-bit number`);
  w.u8(msg.version).u16(msg.myAs).u16(msg.holdTime).u32(msg.bgpId);
  // Group capabilities per parameter as received, else all in one parameter.
  const groups: Capability[][] = [];
  const per = msg.layout?.capabilitiesPerParameter;
  if (per && per.reduce((a, b) => a + b, 0) === msg.capabilities.length) {
    let i = 0;
    for (const n of per) {
      groups.push(msg.capabilities.slice(i, i + n));
      i += n;
    }
  } else if (msg.capabilities.length > 0) {
    groups.push([...msg.capabilities]);
  }
  const params = new Writer();
  const encoded = groups.map((g) => {
    const v = new Writer();
    for (const c of g) encodeCapability(c, v);
    return v.finish();
  });
  const needExtended = msg.layout?.extendedParameters === true || encoded.some((v) => v.length > 255) || encoded.reduce((n, v) => n + 2 + v.length, 0) > 255;
  for (const v of encoded) {
    params.u8(CAPABILITIES_PARAMETER);
    if (needExtended) params.u16(v.length);
    else params.u8(v.length);
    params.bytes(v);
  }
  const block = params.finish();
  if (needExtended) {
    check(block.length <= 0xffff, `optional parameters are ${block.length} octets, more than 65535`);
    w.u8(EXTENDED_PARAMETERS).u8(EXTENDED_PARAMETERS).u16(block.length);
  } else {
    w.u8(block.length);
  }
  w.bytes(block);
}

/** The speaker's real AS: the four-octet-as capability's, else My Autonomous System. */
export function openAsn(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

/** My Autonomous System for an OPEN: the ASN itself, or AS_TRANS when it needs 4 octets. */
export const twoOctetAs = (asn: number): number => (asn > 0xffff ? AS_TRANS : asn);

export const hasCapability = (open: OpenMessage, kind: Capability['kind']): boolean => open.capabilities.some((c) => c.kind === kind);

/** Families both sides advertised with the multiprotocol capability (RFC 4760 §8); IPv4
 *  unicast when neither advertised any (RFC 4760 §8 default). */
export function commonFamilies(local: OpenMessage, remote: OpenMessage): AfiSafiKey[] {
  const fams = (o: OpenMessage) => o.capabilities.flatMap((c) => (c.kind === 'multiprotocol' ? [afiSafiKey(c.afi, c.safi)] : []));
  const a = fams(local);
  const b = new Set(fams(remote));
  if (a.length === 0 && b.size === 0) return [afiSafiKey(1, 1)];
  return a.filter((k) => b.has(k));
}

/**
 * What the OPEN exchange negotiated, as codec contexts for each direction. ADD-PATH is
 * per direction (RFC 7911 §5): we receive path IDs for a family when we said receive and the
 * peer said send, and we send them when we said send and the peer said receive.
 */
export function negotiate(local: OpenMessage, remote: OpenMessage, opts: { external?: boolean } = {}): { rx: CodecContext; tx: CodecContext } {
  const as4 = hasCapability(local, 'four-octet-as') && hasCapability(remote, 'four-octet-as');
  const extendedMessage = hasCapability(local, 'extended-message') && hasCapability(remote, 'extended-message');
  const addPathOf = (o: OpenMessage) => {
    const m = new Map<AfiSafiKey, { send: boolean; receive: boolean }>();
    for (const c of o.capabilities) if (c.kind === 'add-path') for (const f of c.families) m.set(afiSafiKey(f.afi, f.safi), f);
    return m;
  };
  const mine = addPathOf(local);
  const theirs = addPathOf(remote);
  const rx = new Set<AfiSafiKey>();
  const tx = new Set<AfiSafiKey>();
  for (const [k, m] of mine) {
    const t = theirs.get(k);
    if (!t) continue;
    if (m.receive && t.send) rx.add(k);
    if (m.send && t.receive) tx.add(k);
  }
  const external = opts.external === true ? { external: true } : {};
  return { rx: { as4, extendedMessage, addPath: rx, ...external }, tx: { as4, extendedMessage, addPath: tx, ...external } };
}
