// Checks a peer's OPEN against the peer's configuration (RFC 4271 §6.2, RFC 6793 §4) and
// resolves connection collisions (RFC 4271 §6.8). Pure: the session shell turns a failed check
// into the BGPOpenMsgErr event carrying the NOTIFICATION returned here.

import type { NotificationSpec } from './types.js';

/** What the checks need from a decoded OPEN; the shell fills it from the codec's message. */
export interface PeerOpen {
  readonly version: number;
  /** The peer's AS: the 4-octet capability's value when present, else the 2-octet field. */
  readonly asn: number;
  readonly holdTime: number;
  /** BGP Identifier as an unsigned 32-bit number. */
  readonly bgpId: number;
}

export interface OpenExpectations {
  readonly peerAs: number;
  readonly localId: number;
  /** eBGP peers may share our identifier (RFC 6286 §2.1); iBGP peers may not. */
  readonly internal: boolean;
}

const OPEN_ERROR = 2;

/** undefined when acceptable; otherwise the NOTIFICATION to send. */
export function checkOpen(open: PeerOpen, want: OpenExpectations): NotificationSpec | undefined {
  if (open.version !== 4) {
    // Data: the largest version we support, as two octets (§6.2).
    return { code: OPEN_ERROR, subcode: 1, data: Uint8Array.of(0, 4), reason: `peer speaks BGP version ${open.version}, we speak 4` };
  }
  if (open.asn !== want.peerAs) return { code: OPEN_ERROR, subcode: 2, reason: `peer says AS ${open.asn}, configured AS ${want.peerAs}` };
  if (open.holdTime === 1 || open.holdTime === 2) return { code: OPEN_ERROR, subcode: 6, reason: `hold time ${open.holdTime} s is below 3 s` };
  if (open.bgpId === 0 || (want.internal && open.bgpId === want.localId)) {
    return { code: OPEN_ERROR, subcode: 3, reason: open.bgpId === 0 ? 'BGP identifier 0.0.0.0' : 'BGP identifier equals ours on an internal session' };
  }
  return undefined;
}

/**
 * RFC 4271 §6.8: of two connections with one peer, the one initiated by the speaker with the
 * higher BGP Identifier survives. Returns which of our two connections to close.
 */
export function collisionLoser(localId: number, remoteId: number): 'outgoing' | 'incoming' {
  return localId >>> 0 < remoteId >>> 0 ? 'outgoing' : 'incoming';
}
