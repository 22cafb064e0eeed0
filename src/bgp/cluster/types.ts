// What the cluster renderer takes and gives: typed cluster state in, this node's speaker
// configuration out (Calico's confd → bird.cfg, calico-internals.md §7). Pure data.

import type { CIDR, IPAddr } from '../../ip/index.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, IPPool, Node, StoredBlock, StoredBlockAffinity } from '../../model/index.js';
import type { FilterRule, PrefixFilter } from '../rib/index.js';
import type { LargeCommunity } from '../wire/index.js';

/** The annotation that turns BFD on: on a BGPPeer for its peers, on BGPConfiguration `default` for the mesh. */
export const BFD_ANNOTATION = 'tabby.dev/bfd';
export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_LISTEN_PORT = 179;
/** BIRD's graceful-restart time when neither maxRestartTime nor nodeMeshMaxRestartTime is set. */
export const DEFAULT_RESTART_TIME = 120;

export interface ClusterBgpState {
  /** This node's name. */
  readonly nodename: string;
  /** Every BGPConfiguration (`default` and `node.<name>` are read; others are ignored as Calico does). */
  readonly configurations: readonly BGPConfiguration[];
  readonly peers: readonly BGPPeer[];
  readonly filters: readonly BGPFilter[];
  readonly nodes: readonly Node[];
  readonly pools: readonly IPPool[];
  readonly blocks: readonly StoredBlock[];
  readonly affinities: readonly StoredBlockAffinity[];
}

/** calicoctl's words for where a peering comes from. */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

export interface ClusterPeer {
  /** BIRD's protocol name as Calico writes it: Mesh_10_0_0_1, Global_..., Node_... (+ _port_N). */
  readonly name: string;
  readonly peerType: PeerType;
  /** The BGPPeer this came from (absent for the mesh). */
  readonly source?: string;
  /** The peer's Calico node, when it is one. */
  readonly node?: string;
  readonly address: IPAddr;
  readonly port: number;
  readonly asNumber: number;
  /** Our address on the session (sourceAddress UseNodeIP), if any. */
  readonly localAddress?: IPAddr;
  /** Calico's mesh rule: only the side with the greater address connects. */
  readonly passive: boolean;
  readonly routeReflectorClient: boolean;
  readonly nextHopMode: 'Auto' | 'Self' | 'Keep';
  /** Graceful-restart time we ask the peer to keep our routes for (seconds). */
  readonly maxRestartTime: number;
  /** Seconds, 0 = the speaker's default. */
  readonly keepaliveTime: number;
  readonly importFilter: PrefixFilter;
  readonly exportFilter: PrefixFilter;
  readonly filters: readonly string[];
  readonly bfd: boolean;
  /** TCP-MD5 (RFC 2385): the secret holding the password (BGPPeer password, or the mesh's
   *  nodeMeshPassword). The renderer is pure: the agent reads it (cluster-speaker.ts). */
  readonly password?: SecretRef;
  /** GTSM (RFC 5082): the peer's distance in hops (BGPPeer ttlSecurity). */
  readonly ttlSecurity?: number;
}

/** A key of a Kubernetes secret (Calico's password.secretKeyRef). */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

/** A peering Calico would configure that this speaker cannot run, with the reason. */
export interface RefusedPeer {
  readonly name: string;
  readonly peerType: PeerType;
  readonly source?: string;
  readonly address: IPAddr;
  readonly reason: string;
}

export interface OriginatedPrefix {
  readonly prefix: CIDR;
  /** Why: an affine block, a borrowed address, a service range. */
  readonly why: 'block' | 'borrowed' | 'service';
  /** RFC 1997 communities as 32-bit numbers (prefixAdvertisements). */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

export interface NodeBgpConfig {
  /** False when this node has no Node resource or no BGP address: Calico runs no peerings then. */
  readonly enabled: boolean;
  readonly asNumber: number;
  /** Dotted quad. */
  readonly routerID: string;
  readonly listenPort: number;
  /** bindMode NodeIP: listen on the node's address only. */
  readonly listenAddress?: string;
  /** routeReflectorClusterID when this node is a route reflector. */
  readonly routeReflectorClusterID?: string;
  readonly logSeverityScreen: string;
  readonly ipv4Address?: IPAddr;
  readonly ipv6Address?: IPAddr;
  readonly peers: readonly ClusterPeer[];
  readonly refused: readonly RefusedPeer[];
  readonly originate: readonly OriginatedPrefix[];
  /** Everything ignored or refused, each naming the resource and field. */
  readonly problems: readonly string[];
}

export type { FilterRule };
