// Tunnel addresses of nodes (calico-internals.md §4.1 handle conventions): one address per node
// per tunnel kind and family, recorded under a well-known handle so that it is found again
// (idempotent allocation) and so GC can tie it to the node's existence.

import type { IPFamily } from '../../ip/index.js';
import type { IpamPool } from './pools.js';

export type TunnelType = 'ipip' | 'vxlan' | 'wireguard';

export interface TunnelSpec {
  readonly handleId: string;
  /** The allocation's `type` attribute. */
  readonly attrType: string;
}

/** Calico's tunnel handles (`<prefix><node>`) and the allocation's `type` attribute, per kind and family. */
const TUNNELS: readonly { type: TunnelType; family: IPFamily; handlePrefix: string; attrType: string }[] = [
  { type: 'ipip', family: 4, handlePrefix: 'ipip-tunnel-addr-', attrType: 'ipipTunnelAddress' },
  { type: 'vxlan', family: 4, handlePrefix: 'vxlan-tunnel-addr-', attrType: 'vxlanTunnelAddress' },
  { type: 'vxlan', family: 6, handlePrefix: 'vxlan-v6-tunnel-addr-', attrType: 'vxlanV6TunnelAddress' },
  { type: 'wireguard', family: 4, handlePrefix: 'wireguard-tunnel-addr-', attrType: 'wireguardTunnelAddress' },
  { type: 'wireguard', family: 6, handlePrefix: 'wireguard-v6-tunnel-addr-', attrType: 'wireguardV6TunnelAddress' },
];

export function tunnelSpec(node: string, family: IPFamily, type: TunnelType): TunnelSpec {
  const t = TUNNELS.find((x) => x.type === type && x.family === family);
  if (!t) throw new RangeError('IPIP tunnels are IPv4 only');
  return { handleId: t.handlePrefix + node, attrType: t.attrType };
}

export const TUNNEL_ATTR_TYPES: ReadonlySet<string> = new Set(TUNNELS.map((t) => t.attrType));

/** The `type` attribute a tunnel handle goes with; undefined for any other handle. */
export function tunnelAttrTypeOf(handleId: string): string | undefined {
  return TUNNELS.find((t) => handleId.startsWith(t.handlePrefix))?.attrType;
}

/** Pools a tunnel of this kind may take its address from: IPIP/VXLAN need the mode enabled. */
export function poolServesTunnel(pool: IpamPool, type: TunnelType): boolean {
  if (type === 'ipip') return pool.ipipMode !== 'Never';
  if (type === 'vxlan') return pool.vxlanMode !== 'Never';
  return true;
}
