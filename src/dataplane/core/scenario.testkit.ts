// Datastore states for the route reconciler's scenario tests and benchmark: IPPools, Nodes and
// IPAM blocks as their keys and stored JSON (Calico's layout), built from short descriptions.
// Pure (test support, not shipped logic).

const RES = '/calico/resources/v3/projectcalico.org/';

export interface KV {
  readonly key: string;
  readonly value: unknown;
}

export function pool(name: string, cidr: string, vxlanMode: string, natOutgoing = false, blockSize?: number): KV {
  return {
    key: `${RES}ippools/${name}`,
    value: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, vxlanMode, ipipMode: 'Never', natOutgoing, blockSize: blockSize ?? (cidr.includes(':') ? 122 : 26) } },
  };
}

export interface NodeDesc {
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly vtep4?: [string, string];
  readonly vtep6?: [string, string];
}

export function node(name: string, d: NodeDesc): KV {
  return {
    key: `${RES}nodes/${name}`,
    value: {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name },
      spec: {
        bgp: { ...(d.ipv4 ? { ipv4Address: d.ipv4 } : {}), ...(d.ipv6 ? { ipv6Address: d.ipv6 } : {}) },
        ...(d.vtep4 ? { ipv4VXLANTunnelAddr: d.vtep4[0], vxlanTunnelMACAddr: d.vtep4[1] } : {}),
        ...(d.vtep6 ? { ipv6VXLANTunnelAddr: d.vtep6[0], vxlanTunnelMACAddrV6: d.vtep6[1] } : {}),
      },
    },
  };
}

/** A block affine to `affinity` (or none) with allocations: ordinal → holding node. */
export function block(cidr: string, affinity: string | undefined, holders: Readonly<Record<number, string>> = {}): KV {
  const family = cidr.includes(':') ? 'ipv6' : 'ipv4';
  const size = 2 ** ((cidr.includes(':') ? 128 : 32) - Number(cidr.split('/')[1]));
  const allocations: (number | null)[] = Array.from({ length: size }, () => null);
  const attributes: unknown[] = [];
  for (const [ord, holder] of Object.entries(holders)) {
    allocations[Number(ord)] = attributes.length;
    attributes.push({ handle_id: `h-${ord}`, secondary: { node: holder, pod: `p${ord}`, namespace: 'default' } });
  }
  return {
    key: `/calico/ipam/v2/assignment/${family}/block/${cidr.replace('/', '-')}`,
    value: { cidr, affinity: affinity === undefined ? null : `host:${affinity}`, allocations, unallocated: [], attributes, deleted: false, sequenceNumber: 1 },
  };
}

export function felix(name: string, spec: Record<string, unknown>): KV {
  return { key: `${RES}felixconfigurations/${name}`, value: { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec } };
}

export const deleted = (kv: KV): KV => ({ key: kv.key, value: undefined });

/** A deterministic permutation of `xs` from `seed` (Park-Miller). */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed % 2147483647 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 16807) % 2147483647;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
