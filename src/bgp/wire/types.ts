// The BGP-4 wire model: every message, capability and path attribute as TypeScript data, the
// negotiated options the codec needs, and the decode error that carries its protocol meaning.
//
// This is the contract between the pure codec (this folder) and its users (FSM, RIBs, session
// shell). Invariants:
// - Addresses and prefixes use `src/ip` (IPAddr, CIDR); a prefix's host bits are always clear.
// - Router IDs (BGP Identifier, ORIGINATOR_ID, CLUSTER_LIST entries) are unsigned 32-bit numbers.
// - AS numbers are plain numbers (0 .. 2^32-1); the codec narrows to 2 octets (AS_TRANS) where
//   the context says the peer is an old speaker (RFC 6793).
// - A decoded message re-encodes to the same bytes: where the wire allows several spellings
//   (attribute order, extended-length flag, capabilities per optional parameter) the decoder
//   records what it saw in an optional `layout`; messages built by hand leave it out and get the
//   canonical spelling.
// - Decoding never throws anything but BgpDecodeError. An UPDATE whose errors RFC 7606 lets us
//   survive decodes normally and lists them in `issues`, with `treatAsWithdraw` set when its
//   announced routes must be handled as withdrawals.

import type { CIDR, IPAddr } from '../../ip/index.js';

// ---------------------------------------------------------------------------------------------
// Address families

/** Address Family Identifier (IANA): 1 IPv4, 2 IPv6; others are carried but not interpreted. */
export type Afi = number;
/** Subsequent AFI: 1 unicast; others are carried but not interpreted. */
export type Safi = number;
export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;

export interface AfiSafi {
  readonly afi: Afi;
  readonly safi: Safi;
}

/** "afi/safi", e.g. "1/1" for IPv4 unicast: a Map/Set key for per-family options. */
export type AfiSafiKey = `${number}/${number}`;

// ---------------------------------------------------------------------------------------------
// NLRI

/** One IPv4 or IPv6 unicast route key: a prefix, with its ADD-PATH path identifier (RFC 7911)
 *  when ADD-PATH is in use for the family in this direction. */
export interface Nlri {
  readonly prefix: CIDR;
  readonly pathId?: number;
}

// ---------------------------------------------------------------------------------------------
// Codec context: what the session negotiated

/**
 * Options negotiated in the OPEN exchange that change how bytes read. A session keeps one
 * context per direction (what we receive, what we send) because ADD-PATH is directional.
 */
export interface CodecContext {
  /** Both sides advertised the 4-octet AS capability (RFC 6793): AS_PATH/AGGREGATOR carry
   *  4-octet ASNs. When false, ASNs are 2 octets and AS4_PATH/AS4_AGGREGATOR carry the rest. */
  readonly as4: boolean;
  /** Families whose NLRI carry a 4-octet path identifier in this direction (RFC 7911). */
  readonly addPath: ReadonlySet<AfiSafiKey>;
  /** Both sides advertised extended messages (RFC 8654): UPDATE and ROUTE-REFRESH may be up to
   *  65535 octets; OPEN and KEEPALIVE stay within 4096. */
  readonly extendedMessage: boolean;
  /** The peer is in another AS (and not a member of our confederation). LOCAL_PREF,
   *  ORIGINATOR_ID and CLUSTER_LIST from it are discarded (RFC 7606 §7.5, §7.9, §7.10) and
   *  confederation segments in its AS_PATH make the path malformed (§7.2). Absent: internal. */
  readonly external?: boolean;
}

export const MAX_MESSAGE_SIZE = 4096;
export const MAX_EXTENDED_MESSAGE_SIZE = 65535;
export const HEADER_SIZE = 19;
/** The 2-octet placeholder for a 4-octet ASN sent to an old speaker (RFC 6793). */
export const AS_TRANS = 23456;

// ---------------------------------------------------------------------------------------------
// Messages

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

export const MESSAGE_TYPE = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, 'ROUTE-REFRESH': 5 } as const;
export type MessageTypeName = keyof typeof MESSAGE_TYPE;

export interface OpenMessage {
  readonly type: 'OPEN';
  /** Always 4 when we build it; a decoded OPEN with another version is an error. */
  readonly version: number;
  /** The 2-octet My Autonomous System field: the real ASN, or AS_TRANS when it needs 4 octets
   *  (the real one is then in the four-octet-as capability). */
  readonly myAs: number;
  /** Seconds; 0 or at least 3 (RFC 4271 §4.2). */
  readonly holdTime: number;
  /** BGP Identifier as an unsigned 32-bit number. */
  readonly bgpId: number;
  /** Every capability from every Capabilities optional parameter, in wire order. (Any other
   *  optional parameter type is an Unsupported Optional Parameter error, RFC 4271 §6.2.) */
  readonly capabilities: readonly Capability[];
  readonly layout?: OpenLayout;
}

/** How the optional parameters were spelled on the wire. */
export interface OpenLayout {
  /** Capabilities per Capabilities parameter, in order (one parameter holding all is canonical). */
  readonly capabilitiesPerParameter: readonly number[];
  /** RFC 9072 extended optional-parameters length was used. */
  readonly extendedParameters: boolean;
}

export interface UpdateMessage {
  readonly type: 'UPDATE';
  /** IPv4 unicast withdrawals from the Withdrawn Routes field. */
  readonly withdrawn: readonly Nlri[];
  readonly attributes: PathAttributes;
  /** IPv4 unicast announcements from the NLRI field. */
  readonly nlri: readonly Nlri[];
  /** RFC 7606: every announced route (here and in MP_REACH_NLRI) must be handled as withdrawn. */
  readonly treatAsWithdraw?: boolean;
  /** Errors survived while decoding (treat-as-withdraw, attribute-discard), for logs and counters. */
  readonly issues?: readonly UpdateIssue[];
}

export interface KeepaliveMessage {
  readonly type: 'KEEPALIVE';
}

export interface NotificationMessage {
  readonly type: 'NOTIFICATION';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  /** RFC 8203/9003 shutdown communication (Cease / Administrative Shutdown or Reset). Decoded
   *  from `data` when it holds one; when set on a message we build, it is what gets encoded. */
  readonly shutdownCommunication?: string;
}

/** RFC 2918 ROUTE-REFRESH, with the RFC 7313 message subtype (0 normal, 1 BoRR, 2 EoRR). */
export interface RouteRefreshMessage {
  readonly type: 'ROUTE-REFRESH';
  readonly afi: Afi;
  readonly safi: Safi;
  readonly subtype: RouteRefreshSubtype;
  /** Anything after AFI/reserved/SAFI (e.g. RFC 5291 ORF entries), kept raw. */
  readonly data?: Uint8Array;
}

export type RouteRefreshSubtype = number;
export const ROUTE_REFRESH_NORMAL = 0;
export const ROUTE_REFRESH_BORR = 1;
export const ROUTE_REFRESH_EORR = 2;

// ---------------------------------------------------------------------------------------------
// Capabilities (RFC 5492 and the RFCs named per kind)

export type Capability =
  | MultiprotocolCapability
  | SimpleCapability
  | GracefulRestartCapability
  | FourOctetAsCapability
  | AddPathCapability
  | UnknownCapability;

/** RFC 4760: the speaker can carry this family. */
export interface MultiprotocolCapability {
  readonly kind: 'multiprotocol';
  readonly afi: Afi;
  readonly safi: Safi;
}

/** Capabilities that are only a code: route refresh (2, RFC 2918), the pre-standard Cisco route
 *  refresh (128), enhanced route refresh (70, RFC 7313), extended messages (6, RFC 8654). */
export interface SimpleCapability {
  readonly kind: 'route-refresh' | 'route-refresh-cisco' | 'enhanced-route-refresh' | 'extended-message';
  /** Octets a sender put in the value anyway (ignored, kept so the OPEN re-encodes as received). */
  readonly extra?: Uint8Array;
}

/** RFC 4724 (with RFC 8538's N bit). */
export interface GracefulRestartCapability {
  readonly kind: 'graceful-restart';
  /** R bit: the sender has restarted and is in its restart period. */
  readonly restarting: boolean;
  /** N bit (RFC 8538): the sender supports graceful restart after a NOTIFICATION. */
  readonly notification: boolean;
  /** Seconds, 12 bits. */
  readonly restartTime: number;
  readonly families: readonly GracefulRestartFamily[];
  /** Restart-flag bits not defined yet (low two of the four), as received. */
  readonly otherFlags?: number;
}

export interface GracefulRestartFamily extends AfiSafi {
  /** F bit: forwarding state for this family was preserved across the restart. */
  readonly forwardingPreserved: boolean;
  /** Per-family flag bits other than F, as received. */
  readonly otherFlags?: number;
}

/** RFC 6793: the speaker's real, possibly 4-octet, AS number. */
export interface FourOctetAsCapability {
  readonly kind: 'four-octet-as';
  readonly asn: number;
}

/** RFC 7911. */
export interface AddPathCapability {
  readonly kind: 'add-path';
  readonly families: readonly AddPathFamily[];
}

export interface AddPathFamily extends AfiSafi {
  readonly send: boolean;
  readonly receive: boolean;
}

/** Any other capability (ORF, long-lived GR, FQDN, software version, …): kept as received. */
export interface UnknownCapability {
  readonly kind: 'unknown';
  readonly code: number;
  readonly value: Uint8Array;
}

export const CAPABILITY_CODE = {
  multiprotocol: 1,
  'route-refresh': 2,
  'extended-message': 6,
  'graceful-restart': 64,
  'four-octet-as': 65,
  'add-path': 69,
  'enhanced-route-refresh': 70,
  'route-refresh-cisco': 128,
} as const;

// ---------------------------------------------------------------------------------------------
// Path attributes (RFC 4271 §4.3, §5 and the RFCs named per attribute)

export type Origin = 'igp' | 'egp' | 'incomplete';

export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';

/** AS_SET = 1, AS_SEQUENCE = 2 (RFC 4271); AS_CONFED_SEQUENCE = 3, AS_CONFED_SET = 4 (RFC 5065). */
export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

export type AsPath = readonly AsPathSegment[];

export interface Aggregator {
  readonly asn: number;
  readonly address: IPAddr;
}

/** RFC 8092: Global Administrator : Local Data 1 : Local Data 2, each 32 bits. */
export interface LargeCommunity {
  readonly global: number;
  readonly local1: number;
  readonly local2: number;
}

/** Next hop of MP_REACH_NLRI. */
export type MpNextHop =
  /** 4 octets (IPv4 next hop; RFC 4760). */
  | { readonly kind: 'ipv4'; readonly address: IPAddr }
  /** 16 or 32 octets (RFC 2545): global, plus link-local when 32. Also used for IPv4 NLRI with
   *  an IPv6 next hop (RFC 8950). */
  | { readonly kind: 'ipv6'; readonly global: IPAddr; readonly linkLocal?: IPAddr }
  /** Any other length or family (VPN route distinguishers, …): kept as received. */
  | { readonly kind: 'raw'; readonly bytes: Uint8Array };

/** RFC 4760 MP_REACH_NLRI. For IPv4/IPv6 unicast the NLRI are decoded into `nlri`; for other
 *  families `nlri` is empty and `rawNlri` holds them as received. */
export interface MpReach extends AfiSafi {
  readonly nextHop: MpNextHop;
  readonly nlri: readonly Nlri[];
  readonly rawNlri?: Uint8Array;
}

/** RFC 4760 MP_UNREACH_NLRI; an empty one for a family is that family's End-of-RIB (RFC 4724). */
export interface MpUnreach extends AfiSafi {
  readonly withdrawn: readonly Nlri[];
  readonly rawWithdrawn?: Uint8Array;
}

/** An attribute this codec does not interpret, passed on as received (flags included, so a
 *  transitive one gets its Partial bit set by the encoder when we forward it). */
export interface RawAttribute {
  readonly flags: number;
  readonly code: number;
  readonly value: Uint8Array;
}

/**
 * The path attributes of an UPDATE, by name. Absent means the attribute was not present (or was
 * discarded under RFC 7606, see UpdateMessage.issues).
 */
export interface PathAttributes {
  /** 1, well-known mandatory. */
  readonly origin?: Origin;
  /** 2, well-known mandatory, exactly as on the wire. From an old (2-octet) peer it may hold
   *  AS_TRANS: call `reconcileAs4(attrs)` (RFC 6793 §4.2.3) before using it for decisions. */
  readonly asPath?: AsPath;
  /** 3, well-known mandatory for IPv4 NLRI in the NLRI field. */
  readonly nextHop?: IPAddr;
  /** 4, optional non-transitive MULTI_EXIT_DISC. */
  readonly med?: number;
  /** 5, well-known, internal peers only. */
  readonly localPref?: number;
  /** 6, well-known discretionary; true when present. */
  readonly atomicAggregate?: boolean;
  /** 7, optional transitive. */
  readonly aggregator?: Aggregator;
  /** 8, optional transitive (RFC 1997): each community as an unsigned 32-bit number. */
  readonly communities?: readonly number[];
  /** 9, optional non-transitive (RFC 4456). */
  readonly originatorId?: number;
  /** 10, optional non-transitive (RFC 4456): cluster IDs, nearest first. */
  readonly clusterList?: readonly number[];
  /** 14, optional non-transitive. */
  readonly mpReach?: MpReach;
  /** 15, optional non-transitive. */
  readonly mpUnreach?: MpUnreach;
  /** 16, optional transitive (RFC 4360): each extended community as its 8 octets, big-endian. */
  readonly extendedCommunities?: readonly bigint[];
  /** 17, optional transitive (RFC 6793), as on the wire; `reconcileAs4` merges it into asPath.
   *  When encoding for an old peer it is generated from `asPath` if absent. */
  readonly as4Path?: AsPath;
  /** 18, optional transitive (RFC 6793). */
  readonly as4Aggregator?: Aggregator;
  /** 32, optional transitive (RFC 8092). */
  readonly largeCommunities?: readonly LargeCommunity[];
  /** Every other attribute, in wire order. */
  readonly unknown?: readonly RawAttribute[];
  readonly layout?: AttributeLayout;
}

/** How the attributes appeared on the wire, so a decoded UPDATE re-encodes byte for byte. The
 *  encoder writes the listed codes in this order with these flags, then any others in canonical
 *  order (MP_REACH/MP_UNREACH first as RFC 7606 §5.1 asks, then ascending type code). */
export interface AttributeLayout {
  readonly order: readonly number[];
  readonly flags: ReadonlyMap<number, number>;
}

export const ATTR_FLAG = { OPTIONAL: 0x80, TRANSITIVE: 0x40, PARTIAL: 0x20, EXTENDED_LENGTH: 0x10 } as const;

export const ATTR_CODE = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  EXTENDED_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const;

// ---------------------------------------------------------------------------------------------
// Errors (RFC 4271 §6, RFC 7606)

/** What the receiver must do about a malformed message (RFC 7606 §2). */
export type ErrorDisposition =
  /** Send the NOTIFICATION and close the session (RFC 4271 §6). */
  | 'session-reset'
  /** Stop using one AFI/SAFI on the session (RFC 4760 §7); the shell may reset instead. */
  | 'afi-safi-disable'
  /** Handle every route the UPDATE announces as withdrawn. */
  | 'treat-as-withdraw'
  /** Drop the offending attribute, use the rest of the UPDATE. */
  | 'attribute-discard';

/** The NOTIFICATION a fatal error sends (or would have sent, for survived UPDATE errors). */
export interface NotificationFields {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export const ERROR_CODE = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH_MESSAGE: 7,
} as const;

export const HEADER_SUBCODE = { CONNECTION_NOT_SYNCHRONIZED: 1, BAD_MESSAGE_LENGTH: 2, BAD_MESSAGE_TYPE: 3 } as const;
export const OPEN_SUBCODE = {
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;
export const UPDATE_SUBCODE = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN: 6,
  INVALID_NEXT_HOP: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;
export const CEASE_SUBCODE = {
  MAX_PREFIXES: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
} as const;

/** An UPDATE error RFC 7606 lets the session survive. */
export interface UpdateIssue {
  readonly disposition: 'treat-as-withdraw' | 'attribute-discard';
  /** The attribute type code at fault, when one is. */
  readonly attributeCode?: number;
  /** What RFC 4271 would have sent for it, for logs. */
  readonly notification: NotificationFields;
  readonly reason: string;
}

/**
 * A message that cannot be used: the shell sends `notification` (for 'session-reset') and
 * closes, or disables `afiSafi`. The only exception the decoder throws.
 */
export class BgpDecodeError extends Error {
  override readonly name = 'BgpDecodeError';
  /** Stable error code for callers (STYLE §7); the NOTIFICATION code is notification.code. */
  readonly code = 'BgpDecodeError';
  constructor(
    readonly notification: NotificationFields,
    readonly disposition: 'session-reset' | 'afi-safi-disable',
    /** Where in the message: e.g. "UPDATE attribute AS_PATH", "OPEN capability 65". */
    readonly where: string,
    readonly reason: string,
    readonly afiSafi?: AfiSafi,
  ) {
    super(`BGP ${where}: ${reason} (NOTIFICATION ${notification.code}/${notification.subcode}, ${disposition})`);
  }
}

/** A message we were asked to send that cannot be encoded (too large, value out of range). */
export class BgpEncodeError extends Error {
  override readonly name = 'BgpEncodeError';
  readonly code = 'BgpEncodeError';
  constructor(readonly where: string, readonly reason: string) {
    super(`BGP encode ${where}: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Codec function shapes (implemented in this folder's other files, exported from index.ts)

/** Decode one complete message (header included). Throws only BgpDecodeError. */
export type DecodeMessage = (bytes: Uint8Array, ctx: CodecContext) => BgpMessage;
/** Encode one message (header included). Throws BgpEncodeError when it cannot be sent as is. */
export type EncodeMessage = (msg: BgpMessage, ctx: CodecContext) => Uint8Array;
/** Fill UPDATE messages up to the size limit with as many prefixes as fit, all sharing one set
 *  of attributes: IPv4 unicast in the NLRI field, others in MP_REACH_NLRI. */
export type PackUpdates = (attrs: PathAttributes, prefixes: readonly Nlri[], ctx: CodecContext) => Uint8Array[];
/** Same for withdrawals (Withdrawn Routes field or MP_UNREACH_NLRI). */
export type PackWithdrawals = (prefixes: readonly Nlri[], ctx: CodecContext) => Uint8Array[];

/** RFC 6793 §4.2.3: the AS path and aggregator a NEW speaker uses for a route from an OLD one
 *  (AS_PATH merged with AS4_PATH, AGGREGATOR replaced by AS4_AGGREGATOR where valid); the AS4_*
 *  attributes are removed from the result. */
export type ReconcileAs4 = (attrs: PathAttributes) => PathAttributes;

/** Splits a TCP byte stream into whole messages; header errors (marker, length, type) throw
 *  BgpDecodeError with the RFC 4271 §6.1 NOTIFICATION. */
export interface Framer {
  /** Feed bytes as they arrive; returns the complete messages now available (possibly none). */
  push(chunk: Uint8Array): Uint8Array[];
  /** Bytes held back waiting for the rest of a message. */
  readonly pending: number;
}
