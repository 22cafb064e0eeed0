// This node's Node resource: which addresses it announces (calico/node's IP / IP6 rules) and
// the create-or-update that records them (`spec.bgp.ipv4Address` / `ipv6Address` as CIDRs,
// `spec.addresses`, labels).
//
// Address rules, as calico/node's configureIPsAndSubnets:
//   IP unset        → autodetect IPv4 unless the Node already has one (then keep it)
//   IP=autodetect   → autodetect IPv4 (IP_AUTODETECTION_METHOD)
//   IP=none         → no IPv4 change (keep any existing one)
//   IP=<ip>[/<len>] → that address; a bare IP takes its prefix from the interface that has it
//   IP6 likewise, except that IPv6 is autodetected only when IP6=autodetect.
// Everything else in an existing Node (asNumber, routeReflectorClusterID, labels others set…)
// is kept; the update is a compare-and-swap retried on conflict.

import { randomUUID } from 'node:crypto';
import { type Datastore, type JsonValue, isDatastoreError } from '../datastore/index.js';
import { type IPFamily, tryParseIP } from '../ip/index.js';
import { getStored } from '../client/index.js';
import { type Node, STORED, nodeKey } from '../model/index.js';
import { type HostInterface, detectAddress, localCidr, sourceAddressTowards } from './autodetect.js';

export { nodeKey };

export class NodeAddressError extends Error {
  override readonly name = 'NodeAddressError';
  readonly code = 'NodeAddress';
}

export interface AddressSettings {
  /** The IP environment value (or --ip): "", "autodetect", "none", an IP or a CIDR. */
  readonly ip?: string;
  readonly ip6?: string;
  readonly ipMethod?: string;
  readonly ip6Method?: string;
}

export interface NodeAddresses {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

function explicitAddress(value: string, family: IPFamily, envName: string, interfaces: readonly HostInterface[]): string {
  const [addr, prefix, extra] = value.split('/');
  const a = tryParseIP(addr ?? '');
  const bits = family === 4 ? 32 : 128;
  if (!a || a.family !== family || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
    throw new NodeAddressError(`${envName}=${value} is not a valid IPv${family} address; give an address like ${family === 4 ? '10.0.0.5 or 10.0.0.5/24' : 'fd00::5 or fd00::5/64'}, "autodetect" or "none"`);
  }
  if (prefix !== undefined) return value;
  return localCidr(addr!, interfaces)?.cidr ?? `${addr}/${bits}`;
}

async function one(
  family: IPFamily,
  value: string,
  method: string,
  existing: string | undefined,
  interfaces: readonly HostInterface[],
  reach: (dest: string, family: IPFamily) => Promise<string | undefined>,
): Promise<string | undefined> {
  const envName = family === 4 ? 'IP' : 'IP6';
  const autodetect = value === 'autodetect' || (family === 4 && value === '' && existing === undefined);
  if (autodetect) {
    const found = await detectAddress(method, family, interfaces, reach);
    if (found) return found.cidr;
    if (existing !== undefined) return existing;
    throw new NodeAddressError(
      `could not autodetect an IPv${family} address with method "${method || 'first-found'}"; set ${envName} to this node's address or choose another ${family === 4 ? 'IP_AUTODETECTION_METHOD' : 'IP6_AUTODETECTION_METHOD'}`,
    );
  }
  if (value === '' || value === 'none') return existing;
  return explicitAddress(value, family, envName, interfaces);
}

export async function chooseNodeAddresses(
  settings: AddressSettings,
  existing: NodeAddresses,
  interfaces: readonly HostInterface[],
  reach: (dest: string, family: IPFamily) => Promise<string | undefined> = sourceAddressTowards,
): Promise<NodeAddresses> {
  const ipv4 = await one(4, settings.ip ?? '', settings.ipMethod ?? '', existing.ipv4, interfaces, reach);
  const ipv6 = await one(6, settings.ip6 ?? '', settings.ip6Method ?? '', existing.ipv6, interfaces, reach);
  if (ipv4 === undefined && ipv6 === undefined) {
    throw new NodeAddressError('no IPv4 or IPv6 address configured or detected for this node; set IP (or IP6=autodetect)');
  }
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

/** The addresses an existing Node resource announces. */
export function addressesOf(node: Node | undefined): NodeAddresses {
  const bgp = node?.spec?.bgp;
  return {
    ...(bgp?.ipv4Address ? { ipv4: bgp.ipv4Address } : {}),
    ...(bgp?.ipv6Address ? { ipv6: bgp.ipv6Address } : {}),
  };
}

/** The Node object after merging our addresses and labels into what is stored (pure). */
export function mergeNode(existing: Node | undefined, name: string, addrs: NodeAddresses, labels: Readonly<Record<string, string>>, now: Date): Node {
  const meta = existing?.metadata ?? {};
  const spec = existing?.spec ?? {};
  const { ipv4Address: _v4, ipv6Address: _v6, ...otherBgp } = spec.bgp ?? {};
  const bgp: NonNullable<Node['spec']>['bgp'] = { ...otherBgp, ...(addrs.ipv4 ? { ipv4Address: addrs.ipv4 } : {}), ...(addrs.ipv6 ? { ipv6Address: addrs.ipv6 } : {}) };
  const otherAddresses = (spec.addresses ?? []).filter((a) => a.type !== 'CalicoNodeIP');
  const ours = [addrs.ipv4, addrs.ipv6].filter((a): a is string => a !== undefined).map((address) => ({ address, type: 'CalicoNodeIP' as const }));
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: {
      ...meta,
      name,
      labels: { ...(meta.labels ?? {}), ...labels },
      uid: meta.uid ?? randomUUID(),
      creationTimestamp: meta.creationTimestamp ?? now.toISOString().replace(/\.\d+Z$/, 'Z'),
    },
    spec: { ...spec, bgp, addresses: [...ours, ...otherAddresses] },
  };
}

/** Creates or updates the Node resource; returns the addresses it now announces. */
export async function registerNode(
  ds: Datastore,
  opts: { name: string; settings: AddressSettings; labels: Readonly<Record<string, string>>; interfaces: readonly HostInterface[] },
): Promise<NodeAddresses> {
  const key = nodeKey(opts.name);
  for (let attempt = 1; ; attempt++) {
    const found = await getStored(ds, STORED.Node, opts.name);
    const kv = found?.kv;
    const existing = found?.value;
    const addrs = await chooseNodeAddresses(opts.settings, addressesOf(existing), opts.interfaces);
    const value = mergeNode(existing, opts.name, addrs, opts.labels, new Date()) as unknown as JsonValue;
    try {
      if (kv) await ds.update(key, value, kv.revision);
      else await ds.create(key, value);
      return addrs;
    } catch (err) {
      if (attempt < 10 && (isDatastoreError(err, 'Conflict') || isDatastoreError(err, 'AlreadyExists') || isDatastoreError(err, 'NotFound'))) continue;
      throw err;
    }
  }
}
