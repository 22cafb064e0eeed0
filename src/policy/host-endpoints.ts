// Which host endpoint governs which host interface, Felix's way (endpoint_mgr.go
// resolveHostEndpoints). Pure: the interfaces and their addresses are passed in.
//
// Rules:
// - Only the node's non-workload interfaces count (a `cali*` interface is a workload's).
// - For each interface the candidates are the host endpoints naming it (`interfaceName`) and
//   those with no interfaceName holding one of its addresses in `expectedIPs`; a host endpoint
//   naming another interface never matches by address. Among the candidates the alphabetically
//   earliest name wins (Felix compares endpoint IDs; there is no preference of name over
//   address), so one interface has at most one host endpoint.
// - `interfaceName: "*"` (all interfaces) never competes for an interface: the earliest-named
//   such endpoint becomes the default for every interface no other host endpoint holds (Felix's
//   "default interface" of the dispatch chains). doNotTrack policy does not apply to it.
// - Without interface information (`interfaces` undefined) a host endpoint naming an interface
//   holds it as if the interface existed; address-only endpoints hold nothing.

import type { EndpointIR } from './ir.js';

/** A host endpoint's `interfaceName` meaning "every interface of the host". */
export const ALL_INTERFACES = '*';
/** Interfaces with this prefix belong to workloads (Felix's InterfacePrefix default). */
export const WORKLOAD_INTERFACE_PREFIX = 'cali';

export interface HostInterfaceResolution {
  /** Interface → host endpoint ID holding it (specific endpoints only). */
  readonly byInterface: ReadonlyMap<string, string>;
  /** The all-interfaces endpoint in force (default for every interface not in byInterface). */
  readonly allInterfaces?: string;
}

/** Address text without a prefix length ("10.0.0.1/32" → "10.0.0.1"). */
const bare = (net: string): string => (net.includes('/') ? net.slice(0, net.indexOf('/')) : net);

export function isAllInterfaces(ep: Pick<EndpointIR, 'kind' | 'interfaceName'>): boolean {
  return ep.kind === 'host' && ep.interfaceName === ALL_INTERFACES;
}

/**
 * Resolves this node's host endpoints onto its interfaces. `interfaces`: interface name →
 * addresses (plain address text, any family), as the kernel reports them.
 */
export function resolveHostInterfaces(heps: Iterable<EndpointIR>, interfaces?: ReadonlyMap<string, readonly string[]>): HostInterfaceResolution {
  const byInterface = new Map<string, string>();
  let all: string | undefined;
  const better = (cur: string | undefined, id: string): boolean => cur === undefined || id < cur;
  const list = [...heps].filter((e) => e.kind === 'host');
  for (const ep of list) if (isAllInterfaces(ep) && better(all, ep.id)) all = ep.id;
  const specific = list.filter((e) => !isAllInterfaces(e));
  if (interfaces === undefined) {
    for (const ep of specific) {
      const name = ep.interfaceName;
      if (name === undefined || name === '') continue;
      if (better(byInterface.get(name), ep.id)) byInterface.set(name, ep.id);
    }
  } else {
    // A named endpoint holds its interface even before the kernel reports it (it is inactive
    // until then: its dispatch key matches no packet), so a new interface is covered at once.
    for (const ep of specific) {
      const name = ep.interfaceName;
      if (name !== undefined && name !== '' && !interfaces.has(name) && better(byInterface.get(name), ep.id)) byInterface.set(name, ep.id);
    }
    for (const [name, addrs] of interfaces) {
      if (name.startsWith(WORKLOAD_INTERFACE_PREFIX)) continue;
      const have = new Set(addrs.map(bare));
      let best: string | undefined;
      for (const ep of specific) {
        const named = ep.interfaceName !== undefined && ep.interfaceName !== '';
        const matches = named ? ep.interfaceName === name : ep.nets.some((n) => have.has(bare(n)));
        if (matches && better(best, ep.id)) best = ep.id;
      }
      if (best !== undefined) byInterface.set(name, best);
    }
  }
  return { byInterface, ...(all === undefined ? {} : { allInterfaces: all }) };
}
