// Desired dataplane state from the cluster view (Felix's L3 route resolver, VXLAN resolver and
// route/VXLAN managers, calico-internals.md §6.5): for this node,
//   - a blackhole route for each block affine to it (an address not yet handed out is dropped
//     here, never sent back into the network);
//   - per block affine to another node: with the pool's vxlanMode Always (or CrossSubnet to a node
//     outside this node's underlay subnet) a route via that node's VTEP address on
//     vxlan.calico / vxlan-v6.calico, onlink; with CrossSubnet inside the subnet a direct route
//     via the node's underlay address; with Never nothing (BGP's job; learned routes come in as
//     `view.learned`);
//   - per borrowed address (held by a node other than its block's affinity) the same kind of route
//     for the single address, to the holder;
//   - per remote node with a VTEP of a family in VXLAN use: a permanent neighbour (VTEP IP → MAC)
//     and an FDB entry (MAC → the node's underlay address) on the VXLAN device;
//   - the VXLAN devices, with VNI, port and MTU from FelixConfiguration (MTU default: the host
//     interface's MTU minus 50 for IPv4, 70 for IPv6) and the MTU workloads get;
//   - the natOutgoing configuration.
//
// Pure and deterministic: every list is sorted, so equal views give equal states.

import { type CIDR, type IPAddr, type IPFamily, cidrContains, cidrContainsIP, formatCIDR, formatIP } from '../../ip/index.js';
import type { ClusterView, EncapMode, NodeView, PoolView } from './cluster-view.js';

export const VXLAN_DEVICE = { 4: 'vxlan.calico', 6: 'vxlan-v6.calico' } as const;
export const DEFAULT_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;
/** Bytes VXLAN adds to a packet: outer IPv4 (20) or IPv6 (40) + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;

export type RouteKind = 'blackhole' | 'vxlan' | 'direct';

export interface RouteEntry {
  /** Normalised CIDR text: "10.244.1.0/26", "10.244.1.7/32". */
  readonly dst: string;
  readonly family: IPFamily;
  readonly kind: RouteKind;
  readonly gateway?: string;
  readonly dev?: string;
  readonly onlink?: boolean;
}

export interface NeighEntry {
  readonly dev: string;
  readonly ip: string;
  readonly mac: string;
}

export interface FdbEntry {
  readonly dev: string;
  readonly mac: string;
  /** Underlay address of the remote VTEP. */
  readonly dst: string;
}

export interface VxlanDevice {
  readonly name: string;
  readonly family: IPFamily;
  readonly vni: number;
  readonly port: number;
  readonly mtu: number;
  readonly mac: string;
  /** This node's tunnel address, assigned to the device (/32 or /128). */
  readonly address: string;
  /** This node's underlay address (the VXLAN source) and the interface holding it. */
  readonly local: string;
  readonly parent: string;
}

export interface NatConfig {
  /** Every pool's CIDR, per family: traffic to them is never masqueraded. */
  readonly pools4: readonly string[];
  readonly pools6: readonly string[];
  /** CIDRs of pools with natOutgoing. */
  readonly natPools4: readonly string[];
  readonly natPools6: readonly string[];
  /** FelixConfiguration natOutgoingAddress (IPv4): SNAT to it instead of masquerading. */
  readonly outgoingAddress4?: string;
}

export interface DesiredState {
  readonly devices: readonly VxlanDevice[];
  readonly routes: readonly RouteEntry[];
  readonly neighbours: readonly NeighEntry[];
  readonly fdb: readonly FdbEntry[];
  readonly nat: NatConfig;
  /** The MTU workload interfaces should get (the smallest VXLAN MTU in use, else the host's). */
  readonly workloadMtu: number;
}

/** What the host says about itself: the interfaces carrying this node's underlay addresses. */
export interface HostFacts {
  readonly underlay4?: { readonly dev: string; readonly mtu: number };
  readonly underlay6?: { readonly dev: string; readonly mtu: number };
}

/** `xs` sorted by a text key computed once per element (not twice per comparison). */
function sortedBy<T>(xs: readonly T[], key: (t: T) => string): T[] {
  const keyed = xs.map((x) => ({ k: key(x), x }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((e) => e.x);
}

/** The pool holding `c` (the most specific one when pools nest). */
function poolOf(pools: readonly PoolView[], c: CIDR): PoolView | undefined {
  let best: PoolView | undefined;
  for (const p of pools) if (p.cidr.family === c.family && cidrContains(p.cidr, c) && (!best || p.cidr.prefix > best.cidr.prefix)) best = p;
  return best;
}

const underlayOf = (n: NodeView | undefined, f: IPFamily) => (f === 4 ? n?.ipv4 : n?.ipv6);
const vtepOf = (n: NodeView | undefined, f: IPFamily) => (f === 4 ? n?.vtep4 : n?.vtep6);

export function computeDesired(view: ClusterView, host: HostFacts): DesiredState {
  const me = view.nodes.get(view.nodename);
  const settings = view.settings();
  const pools = [...view.pools.values()];
  const vxlanFamilies = new Set(pools.filter((p) => p.vxlanMode !== 'Never').map((p) => p.cidr.family));

  const devices: VxlanDevice[] = [];
  for (const family of [4, 6] as const) {
    const mine = vtepOf(me, family);
    const under = underlayOf(me, family);
    const hostDev = family === 4 ? host.underlay4 : host.underlay6;
    if (!vxlanFamilies.has(family) || !mine || !under || !hostDev) continue;
    const configured = family === 4 ? settings.vxlanMTU : settings.vxlanMTUV6;
    devices.push({
      name: VXLAN_DEVICE[family],
      family,
      vni: settings.vxlanVNI ?? DEFAULT_VNI,
      port: settings.vxlanPort ?? DEFAULT_VXLAN_PORT,
      mtu: configured ?? hostDev.mtu - VXLAN_OVERHEAD[family],
      mac: mine.mac,
      address: mine.text,
      local: under.text,
      parent: hostDev.dev,
    });
  }
  const deviceOf = new Map(devices.map((d) => [d.family, d]));

  // The route to `dst` at `node`, in a pool with `mode`; undefined = no route from us.
  const routeTo = (dst: string, node: NodeView | undefined, family: IPFamily, mode: EncapMode): RouteEntry | undefined => {
    if (!node || mode === 'Never') return undefined;
    const mineUnder = underlayOf(me, family);
    const theirs = underlayOf(node, family);
    const hostDev = family === 4 ? host.underlay4 : host.underlay6;
    if (mode === 'CrossSubnet' && mineUnder && theirs && hostDev && cidrContainsIP(mineUnder.subnet, theirs.address)) {
      return { dst, family, kind: 'direct', gateway: theirs.text, dev: hostDev.dev };
    }
    const dev = deviceOf.get(family);
    const vtep = vtepOf(node, family);
    if (!dev || !vtep) return undefined;
    return { dst, family, kind: 'vxlan', gateway: vtep.text, dev: dev.name, onlink: true };
  };

  const routes = new Map<string, RouteEntry>();
  for (const block of view.blocks.values()) {
    const pool = poolOf(pools, block.cidr);
    const family = block.cidr.family;
    const dst = block.dst;
    if (block.affinity === view.nodename) {
      routes.set(dst, { dst, family, kind: 'blackhole' });
    } else if (pool && block.affinity !== undefined) {
      const route = routeTo(dst, view.nodes.get(block.affinity), family, pool.vxlanMode);
      if (route) routes.set(dst, route);
    }
    if (!pool) continue;
    for (const [ip, holder] of block.borrowed) {
      // Our own borrowed addresses are reached through the CNI's /32 route on the cali* device.
      if (holder === view.nodename) continue;
      const host = `${ip}/${family === 4 ? 32 : 128}`;
      const route = routeTo(host, view.nodes.get(holder), family, pool.vxlanMode);
      if (route) routes.set(host, route);
    }
  }
  for (const r of view.learned.values()) {
    const dst = formatCIDR(r.dst);
    // What this node computed from IPAM wins over what a peer said about the same prefix.
    if (!routes.has(dst)) routes.set(dst, { dst, family: r.dst.family, kind: 'direct', gateway: formatIP(r.gateway) });
  }

  const neighbours: NeighEntry[] = [];
  const fdb: FdbEntry[] = [];
  for (const node of view.nodes.values()) {
    if (node.name === view.nodename) continue;
    for (const dev of devices) {
      const vtep = vtepOf(node, dev.family);
      const under = underlayOf(node, dev.family);
      if (!vtep || !under) continue;
      neighbours.push({ dev: dev.name, ip: vtep.text, mac: vtep.mac });
      fdb.push({ dev: dev.name, mac: vtep.mac, dst: under.text });
    }
  }

  const cidrs = (f: IPFamily, pred: (p: PoolView) => boolean) => [...new Set(pools.filter((p) => p.cidr.family === f && pred(p)).map((p) => formatCIDR(p.cidr)))].sort();
  const nat: NatConfig = {
    pools4: cidrs(4, () => true),
    pools6: cidrs(6, () => true),
    natPools4: cidrs(4, (p) => p.natOutgoing && !p.disabled),
    natPools6: cidrs(6, (p) => p.natOutgoing && !p.disabled),
    ...(settings.natOutgoingAddress ? { outgoingAddress4: settings.natOutgoingAddress } : {}),
  };
  // Workloads get the VXLAN MTU as soon as a pool of the family uses VXLAN, even before this
  // node's VTEP exists, so that no pod is created with an MTU its traffic cannot keep.
  const mtus = [host.underlay4?.mtu, host.underlay6?.mtu].filter((m): m is number => m !== undefined);
  for (const family of vxlanFamilies) {
    const hostDev = family === 4 ? host.underlay4 : host.underlay6;
    const configured = family === 4 ? settings.vxlanMTU : settings.vxlanMTUV6;
    if (configured !== undefined) mtus.push(configured);
    else if (hostDev) mtus.push(hostDev.mtu - VXLAN_OVERHEAD[family]);
  }
  const workloadMtu = mtus.length > 0 ? Math.min(...mtus) : 1500;
  return {
    devices,
    routes: sortedBy([...routes.values()], (r) => r.dst),
    neighbours: sortedBy(neighbours, (n) => `${n.dev} ${n.ip}`),
    fdb: sortedBy(fdb, (e) => `${e.dev} ${e.mac}`),
    nat,
    workloadMtu,
  };
}
