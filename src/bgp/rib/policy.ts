// The iBGP/eBGP and route-reflection rules: what we accept from a peer (loop detection) and
// what a best path looks like when sent to a given peer. Pure and cached by the caller.
//
// Import (RFC 4271 §9.1.2, RFC 4456 §8): an eBGP path whose AS_PATH holds our AS is a loop; an
// iBGP path carrying our router ID as ORIGINATOR_ID or our cluster ID in CLUSTER_LIST is a loop.
// Export (RFC 4271 §5.1, §9.2; RFC 4456 §6, §8):
// - never back to the peer it came from;
// - iBGP-learned to iBGP only when reflecting: from a client to everyone, from a non-client to
//   clients only; reflection sets ORIGINATOR_ID (if absent) and prepends our cluster ID;
// - to eBGP: our AS prepended, next hop ourselves (unless `nextHopKeep`), LOCAL_PREF,
//   ORIGINATOR_ID and CLUSTER_LIST removed, MED removed when it came from another AS;
// - to iBGP: LOCAL_PREF always present, next hop unchanged unless `nextHopSelf` or the route is ours.
// Unknown non-transitive attributes are not passed on; unknown transitive ones are (the encoder
// sets their Partial bit).

import type { IPAddr } from '../../ip/index.js';
import type { AsPath, MpNextHop, PathAttributes } from '../wire/index.js';
import { AFI_IPV6, ATTR_FLAG, SAFI_UNICAST } from '../wire/index.js';
import { type AttrSet, type OutAttrs, type RouteSource, DEFAULT_LOCAL_PREF, attrsKey } from './attrs.js';

export interface LocalSpeaker {
  readonly localAs: number;
  readonly routerId: number;
  readonly clusterId: number;
}

/** A receiving peer, as export needs it. `sessionKey` is unique per session incarnation. */
export interface ExportTarget {
  readonly slot: number;
  readonly sessionKey: number;
  readonly kind: 'ibgp' | 'ebgp';
  readonly asn: number;
  readonly rrClient: boolean;
  readonly nextHopSelf: boolean;
  readonly nextHopKeep: boolean;
  /** Our address on this session, and our IPv6 addresses for IPv6 routes. */
  readonly localV4?: IPAddr;
  readonly localV6?: IPAddr;
  readonly linkLocalV6?: IPAddr;
}

/** Why a path from `source` must not be used, or undefined. */
export function importLoop(attrs: PathAttributes, source: RouteSource, local: LocalSpeaker): string | undefined {
  if (source.kind === 'ebgp') {
    for (const seg of attrs.asPath ?? []) if (seg.asns.includes(local.localAs)) return `AS_PATH contains our AS ${local.localAs}`;
  } else if (source.kind === 'ibgp') {
    if (attrs.originatorId !== undefined && attrs.originatorId >>> 0 === local.routerId >>> 0) return 'ORIGINATOR_ID is our router ID';
    if (attrs.clusterList?.some((c) => c >>> 0 === local.clusterId >>> 0)) return 'CLUSTER_LIST contains our cluster ID';
  }
  return undefined;
}

/** The attributes we keep from a peer's UPDATE (next hop and MP attributes are held apart). */
export function importAttrs(attrs: PathAttributes, source: RouteSource): PathAttributes {
  const { mpReach: _r, mpUnreach: _u, layout: _l, as4Path: _p, as4Aggregator: _a, nextHop: _n, ...rest } = attrs;
  if (source.kind !== 'ebgp') return rest;
  // LOCAL_PREF has no meaning across ASes (RFC 4271 §5.1.5); ours is the default.
  const { localPref: _lp, originatorId: _o, clusterList: _c, ...ext } = rest;
  return ext;
}

function prependAs(path: AsPath | undefined, asn: number): AsPath {
  const segs = path ?? [];
  const first = segs[0];
  if (first && first.type === 'sequence' && first.asns.length < 255) return [{ type: 'sequence', asns: [asn, ...first.asns] }, ...segs.slice(1)];
  return [{ type: 'sequence', asns: [asn] }, ...segs];
}

/** May `set` (the best path) be sent to `target` at all? */
export function exportAllowed(set: AttrSet, target: ExportTarget): boolean {
  const src = set.source;
  if (src.kind !== 'local' && src.slot === target.slot) return false;
  if (src.kind === 'ibgp' && target.kind === 'ibgp') return src.rrClient || target.rrClient;
  return true;
}

/** The attributes `set` carries to `target`, or null when it is not exported there. */
export function exportAttrs(set: AttrSet, target: ExportTarget, local: LocalSpeaker): OutAttrs | null {
  if (!exportAllowed(set, target)) return null;
  const src = set.source;
  const a = set.attrs;
  const ebgp = target.kind === 'ebgp';
  const out: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  out.origin = a.origin ?? 'igp';
  out.asPath = ebgp ? prependAs(a.asPath, local.localAs) : (a.asPath ?? []);
  if (a.med !== undefined && !(ebgp && src.kind === 'ebgp')) out.med = a.med;
  if (!ebgp) out.localPref = a.localPref ?? DEFAULT_LOCAL_PREF;
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator) out.aggregator = a.aggregator;
  if (a.communities) out.communities = a.communities;
  if (a.extendedCommunities) out.extendedCommunities = a.extendedCommunities;
  if (a.largeCommunities) out.largeCommunities = a.largeCommunities;
  if (!ebgp && src.kind === 'ibgp') {
    // Reflection (exportAllowed let it through, so one side is a client).
    out.originatorId = a.originatorId ?? src.routerId;
    out.clusterList = [local.clusterId >>> 0, ...(a.clusterList ?? [])];
  }
  const transitive = a.unknown?.filter((u) => (u.flags & ATTR_FLAG.TRANSITIVE) !== 0);
  if (transitive && transitive.length > 0) out.unknown = transitive;

  const self = set.nextHop.self === true || (ebgp ? !target.nextHopKeep : target.nextHopSelf);
  if (set.family === 4) {
    const nh = self ? target.localV4 : set.nextHop.address;
    if (!nh || nh.family !== 4) return null; // no usable IPv4 next hop towards this peer
    out.nextHop = nh;
  } else {
    let nextHop: MpNextHop | undefined;
    if (self) {
      if (target.localV6) nextHop = target.linkLocalV6 ? { kind: 'ipv6', global: target.localV6, linkLocal: target.linkLocalV6 } : { kind: 'ipv6', global: target.localV6 };
    } else if (set.nextHop.address) {
      // Link-local next hops mean nothing beyond the link they were learned on.
      nextHop = { kind: 'ipv6', global: set.nextHop.address };
    }
    if (!nextHop) return null;
    out.mpReach = { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHop, nlri: [] };
  }
  return { attrs: out, key: attrsKey(out, null) };
}
