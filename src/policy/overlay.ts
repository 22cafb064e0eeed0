// The VXLAN overlay that is let through ahead of host endpoint policy (Felix's static
// INPUT/OUTPUT rules and its `all-vxlan-net` set), from the cluster's Nodes, IP pools and
// FelixConfiguration. Pure. The graph emits it (`overlay-updated`) for the dataplane and the
// evaluator reads it (`overlayHit`), so `policy explain` and the kernel agree.
//
// Felix's rules, followed here:
// - VXLAN is in use for IPv4 when FelixConfiguration vxlanEnabled says so, or (unset) when some
//   IPv4 pool has vxlanMode other than Never (disabled pools count: Felix's encapsulation
//   calculator does not look at `disabled`); for IPv6 when some IPv6 pool has (Felix has no
//   IPv6 switch).
// - The port is FelixConfiguration vxlanPort (default 4789); node.<name> over default, as the
//   route dataplane reads it.
// - Pods' own VXLAN (UDP to the port) is dropped before their egress policy, unless
//   FelixConfiguration allowVXLANPacketsFromWorkloads (default false). Felix drops it whether or
//   not VXLAN is in use; here only while some family has it in use (no overlay, no rules at all).
// - The peers are the other nodes' underlay addresses (spec.bgp.ipv4Address/ipv6Address, the
//   VXLAN devices' `local`). Felix adds a node once it has a VTEP; here every other node with an
//   address of the family is a peer (a node without a VTEP sends no VXLAN, so the difference
//   only widens what may arrive, never cuts what does).

import { formatIP, tryParseIP } from '../ip/index.js';
import type { FelixConfiguration, IPPool, Node } from '../model/index.js';

/** Felix's vxlanPort default (the route dataplane's too). */
export const DEFAULT_VXLAN_PORT = 4789;

/** VXLAN between nodes, accepted ahead of host endpoint policy. */
export interface OverlayAllow {
  /** UDP port of the overlay (FelixConfiguration vxlanPort, default 4789). */
  readonly port: number;
  /** Families with VXLAN in use: only these have the rules. */
  readonly families: readonly (4 | 6)[];
  /** The other nodes' underlay addresses (normalised address text, either family, sorted). */
  readonly peers: readonly string[];
  /**
   * Pods' UDP to the VXLAN port is dropped ahead of their egress policy (Felix, unless
   * FelixConfiguration allowVXLANPacketsFromWorkloads: encapsulation would bypass policy).
   */
  readonly workloadDrop: boolean;
}

export interface OverlayInputs {
  /** This node (never its own peer); undefined: every node is a peer. */
  readonly nodename: string | undefined;
  readonly nodes: ReadonlyMap<string, Node>;
  readonly pools: ReadonlyMap<string, IPPool>;
  /** FelixConfiguration by name (`default`, `node.<name>`). */
  readonly felix: ReadonlyMap<string, FelixConfiguration>;
}

/** The overlay allowance for the renderer; undefined when no family has VXLAN in use. */
export function overlayAllowOf(inputs: OverlayInputs): OverlayAllow | undefined {
  const setting = <K extends 'vxlanEnabled' | 'vxlanPort' | 'allowVXLANPacketsFromWorkloads'>(k: K): FelixConfiguration['spec'][K] | undefined => {
    for (const name of [...(inputs.nodename === undefined ? [] : [`node.${inputs.nodename}`]), 'default']) {
      const v = inputs.felix.get(name)?.spec?.[k];
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const vxlanPools = new Set<4 | 6>();
  for (const p of inputs.pools.values()) {
    const mode = p.spec?.vxlanMode ?? 'Never';
    if (mode === 'Never') continue;
    vxlanPools.add(String(p.spec.cidr).includes(':') ? 6 : 4);
  }
  const enabled4 = setting('vxlanEnabled');
  const families: (4 | 6)[] = [];
  if (enabled4 ?? vxlanPools.has(4)) families.push(4);
  if (vxlanPools.has(6)) families.push(6);
  if (families.length === 0) return undefined;
  const workloadDrop = setting('allowVXLANPacketsFromWorkloads') !== true;
  const peers: string[] = [];
  for (const [name, n] of inputs.nodes) {
    if (name === inputs.nodename) continue;
    for (const a of nodeAddresses(n)) if (families.includes(a.family)) peers.push(a.text);
  }
  peers.sort();
  return { port: setting('vxlanPort') ?? DEFAULT_VXLAN_PORT, families, peers, workloadDrop };
}

/** Whether two allowances render the same (the agent applies only a change). */
export function sameOverlay(a: OverlayAllow | undefined, b: OverlayAllow | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A node's underlay addresses (spec.bgp.ipv4Address, ipv6Address; the prefix length dropped). */
export function nodeAddresses(n: Node): { family: 4 | 6; text: string }[] {
  const out: { family: 4 | 6; text: string }[] = [];
  for (const [f, text] of [[4, n.spec?.bgp?.ipv4Address], [6, n.spec?.bgp?.ipv6Address]] as const) {
    if (typeof text !== 'string') continue;
    const a = tryParseIP(text.split('/')[0]!);
    if (a !== undefined && a.family === f) out.push({ family: f, text: formatIP(a) });
  }
  return out;
}
