// What the policy dataplane lets through ahead of host endpoint policy for the VXLAN overlay
// (Felix's static INPUT/OUTPUT rules and its `all-vxlan-net` set), from the cluster's Nodes, IP
// pools and FelixConfiguration. Pure: the renderer's `setOverlay` takes the result.
//
// Felix's rules, followed here:
// - VXLAN is in use for IPv4 when FelixConfiguration vxlanEnabled says so, or (unset) when some
//   IPv4 pool has vxlanMode other than Never (disabled pools count: Felix's encapsulation
//   calculator does not look at `disabled`); for IPv6 when some IPv6 pool has (Felix has no
//   IPv6 switch).
// - The port is FelixConfiguration vxlanPort (default 4789); node.<name> over default, as the
//   route dataplane reads it.
// - The peers are the other nodes' underlay addresses (spec.bgp.ipv4Address/ipv6Address, the
//   VXLAN devices' `local`). Felix adds a node once it has a VTEP; here every other node with an
//   address of the family is a peer (a node without a VTEP sends no VXLAN, so the difference
//   only widens what may arrive, never cuts what does).

import { formatIP, tryParseIP } from '../../ip/index.js';
import type { FelixConfiguration, IPPool, Node } from '../../model/index.js';
import { DEFAULT_VXLAN_PORT } from '../core/desired.js';
import type { OverlayAllow } from './renderer.js';

export interface OverlayInputs {
  /** This node (never its own peer). */
  readonly nodename: string;
  readonly nodes: ReadonlyMap<string, Node>;
  readonly pools: ReadonlyMap<string, IPPool>;
  /** FelixConfiguration by name (`default`, `node.<name>`). */
  readonly felix: ReadonlyMap<string, FelixConfiguration>;
}

/** The overlay allowance for the renderer; undefined when no family has VXLAN in use. */
export function overlayAllowOf(inputs: OverlayInputs): OverlayAllow | undefined {
  const setting = <K extends 'vxlanEnabled' | 'vxlanPort'>(k: K): FelixConfiguration['spec'][K] | undefined => {
    for (const name of [`node.${inputs.nodename}`, 'default']) {
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
  const peers: string[] = [];
  for (const [name, n] of inputs.nodes) {
    if (name === inputs.nodename) continue;
    for (const [f, text] of [[4, n.spec?.bgp?.ipv4Address], [6, n.spec?.bgp?.ipv6Address]] as const) {
      if (typeof text !== 'string' || !families.includes(f)) continue;
      const a = tryParseIP(text.split('/')[0]!);
      if (a !== undefined && a.family === f) peers.push(formatIP(a));
    }
  }
  peers.sort();
  return { port: setting('vxlanPort') ?? DEFAULT_VXLAN_PORT, families, peers };
}

/** Whether two allowances render the same (the agent applies only a change). */
export function sameOverlay(a: OverlayAllow | undefined, b: OverlayAllow | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
