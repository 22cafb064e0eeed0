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

export function tunnelSpec(node: string, family: IPFamily, type: TunnelType): TunnelSpec {
  switch (type) {
    case 'ipip':
      if (family !== 4) throw new RangeError('IPIP tunnels are IPv4 only');
      return { handleId: `ipip-tunnel-addr-${node}`, attrType: 'ipipTunnelAddress' };
    case 'vxlan':
      return family === 4
        ? { handleId: `vxlan-tunnel-addr-${node}`, attrType: 'vxlanTunnelAddress' }
        : { handleId: `vxlan-v6-tunnel-addr-${node}`, attrType: 'vxlanV6TunnelAddress' };
    case 'wireguard':
      return family === 4
        ? { handleId: `wireguard-tunnel-addr-${node}`, attrType: 'wireguardTunnelAddress' }
        : { handleId: `wireguard-v6-tunnel-addr-${node}`, attrType: 'wireguardV6TunnelAddress' };
  }
}

export const TUNNEL_ATTR_TYPES = new Set([
  'ipipTunnelAddress',
  'vxlanTunnelAddress',
  'vxlanV6TunnelAddress',
  'wireguardTunnelAddress',
  'wireguardV6TunnelAddress',
]);

/** Pools a tunnel of this kind may take its address from: IPIP/VXLAN need the mode enabled. */
export function poolServesTunnel(pool: IpamPool, type: TunnelType): boolean {
  if (type === 'ipip') return pool.ipipMode !== 'Never';
  if (type === 'vxlan') return pool.vxlanMode !== 'Never';
  return true;
}
