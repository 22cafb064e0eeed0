// Names of everything the policy dataplane puts in table `inet tabby`, and the mark bits its
// chains talk through.
//
// Invariants:
// - Names are pure functions of Calico IDs (policy, profile, IP set) or interface names, so a
//   restarted agent computes the same names and finds its chains and sets in place.
// - Hashed names (policies, profiles, sets) use SHA-256 of the ID: stable across versions, short
//   enough for nft identifiers, never containing characters nft would need quoted.

import { createHash } from 'node:crypto';

export const TABLE = 'tabby';
export const FAMILY = 'inet';
export const TABLE_REF = `${FAMILY} ${TABLE}`;

/** Set by a policy or profile chain on Allow; the endpoint chain then returns (accepts). */
export const MARK_ACCEPT = 0x10000;
/** Set by a policy chain on Pass; the rest of the tier is skipped. */
export const MARK_PASS = 0x20000;
/**
 * Set when an untracked (raw) or preDNAT policy of the host endpoint the packet arrives on (or,
 * for untracked egress, leaves by) allowed it: that host endpoint's later stages are skipped
 * (the destination workload's own policy still runs). Never cleared by the endpoint chains.
 */
export const MARK_HEP_DONE = 0x40000;
export const MARK_CLEAR = (0xffffffff & ~(MARK_ACCEPT | MARK_PASS)) >>> 0;
export const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

function digest(text: string, n = 16): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, n);
}

export type Dir = 'i' | 'o';

/** The chain of one policy's ingress (i) or egress (o) rules, shared by every endpoint. */
export const policyChain = (id: string, dir: Dir): string => `p${dir}_${digest(id)}`;
/** The chain of one profile's rules. */
export const profileChain = (id: string, dir: Dir): string => `r${dir}_${digest(id)}`;
/** Per workload interface: `to_` polices traffic to the pod (its ingress), `from_` from it (egress). */
export const workloadChain = (iface: string, dir: Dir): string => `${dir === 'i' ? 'to' : 'from'}_${iface}`;
/**
 * The all-interfaces host endpoint (`interfaceName: "*"`) has its chains under the stage's
 * prefix followed by `all` with no underscore (`hinall`, `hfiall`, …): no interface-derived name
 * (always `<prefix>_<iface>`) can take it.
 */
export const ALL_IFACES = '*';
const hostName = (prefix: string, iface: string): string => (iface === ALL_IFACES ? `${prefix}all` : `${prefix}_${iface}`);
/** Per host endpoint interface: `hin_` traffic arriving on it (ingress), `hout_` leaving (egress). */
export const hostChain = (iface: string, dir: Dir): string => hostName(dir === 'i' ? 'hin' : 'hout', iface);
/** Host endpoint traffic forwarded through the host: `hfi_` arriving on it, `hfo_` leaving by it (applyOnForward). */
export const hostForwardChain = (iface: string, dir: Dir): string => hostName(dir === 'i' ? 'hfi' : 'hfo', iface);
/** Host endpoint preDNAT policy (prerouting, before DNAT; ingress only). */
export const hostPreDnatChain = (iface: string): string => hostName('hpre', iface);
/** Host endpoint untracked (doNotTrack) policy in the raw hooks: `hri_` prerouting, `hro_` output. */
export const hostRawChain = (iface: string, dir: Dir): string => hostName(dir === 'i' ? 'hri' : 'hro', iface);
/** The nft sets of one graph IP set (selector or named-port set), per family. */
export const setName = (id: string, family: 4 | 6): string => `${id.startsWith('n:') ? 'n' : 's'}${family}_${digest(id, 20)}`;

/** A short hash of a rule's text, put in its comment so a drifted rule is recognised. */
export const ruleHash = (text: string): string => digest(text, 8);

/** Verdict maps from interface name to the endpoint chain. */
export const MAP_TO_WL = 'to_wl';
export const MAP_FROM_WL = 'from_wl';
export const MAP_HOST_IN = 'host_in';
export const MAP_HOST_OUT = 'host_out';
export const MAP_HOST_FWD_IN = 'host_fwd_in';
export const MAP_HOST_FWD_OUT = 'host_fwd_out';
export const MAP_HOST_PRE = 'host_pre';
export const MAP_HOST_RAW_IN = 'host_raw_in';
export const MAP_HOST_RAW_OUT = 'host_raw_out';

/**
 * The other Calico nodes' underlay addresses, per family (Felix's `all-vxlan-net`): VXLAN from
 * them (to a local address) and to them (from one) is accepted ahead of host endpoint policy.
 */
export const overlayPeersSet = (family: 4 | 6): string => `vxlan_peers${family}`;

/** NFLOG group the denied-flow and Log-action rules send to (renderer option `logGroup`). */
export const DEFAULT_LOG_GROUP = 20;
/** Per-rule rate limit of those log statements (renderer option `logRate`). */
export const DEFAULT_LOG_RATE = '10/second burst 20 packets';
/** Every log prefix the renderer writes starts with this; the rest is a digest it maps back. */
export const LOG_PREFIX_HEAD = 'tby:';
export const logPrefix = (kind: 'D' | 'L', key: string): string => `${LOG_PREFIX_HEAD}${kind}:${digest(key, 12)}`;
