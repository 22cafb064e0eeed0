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
import { type Datastore, type JsonValue, isDatastoreError } from '../datastore/datastore.js';
import { type IPFamily, tryParseIP } from '../ip/index.js';
import { type HostInterface, detectAddress, localCidr, sourceAddressTowards } from './autodetect.js';

export const NODE_PREFIX = '/calico/resources/v3/projectcalico.org/nodes/';
export const nodeKey = (name: string): string => `${NODE_PREFIX}${name}`;

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

type Obj = { [key: string]: JsonValue };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The addresses an existing Node resource announces. */
export function addressesOf(node: JsonValue | undefined): NodeAddresses {
  const spec = isObj(node) && isObj(node.spec) ? node.spec : {};
  const bgp = isObj(spec.bgp) ? spec.bgp : {};
  return {
    ...(typeof bgp.ipv4Address === 'string' && bgp.ipv4Address !== '' ? { ipv4: bgp.ipv4Address } : {}),
    ...(typeof bgp.ipv6Address === 'string' && bgp.ipv6Address !== '' ? { ipv6: bgp.ipv6Address } : {}),
  };
}

/** The Node object after merging our addresses and labels into what is stored (pure). */
export function mergeNode(existing: JsonValue | undefined, name: string, addrs: NodeAddresses, labels: Readonly<Record<string, string>>, now: Date): Obj {
  const old = isObj(existing) ? existing : {};
  const meta = isObj(old.metadata) ? old.metadata : {};
  const spec = isObj(old.spec) ? old.spec : {};
  const bgp: Obj = { ...(isObj(spec.bgp) ? spec.bgp : {}) };
  delete bgp.ipv4Address;
  delete bgp.ipv6Address;
  if (addrs.ipv4) bgp.ipv4Address = addrs.ipv4;
  if (addrs.ipv6) bgp.ipv6Address = addrs.ipv6;
  const otherAddresses = (Array.isArray(spec.addresses) ? spec.addresses : []).filter((a) => !(isObj(a) && a.type === 'CalicoNodeIP'));
  const ours = [addrs.ipv4, addrs.ipv6].filter((a): a is string => a !== undefined).map((address) => ({ address, type: 'CalicoNodeIP' }));
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: {
      ...meta,
      name,
      labels: { ...(isObj(meta.labels) ? meta.labels : {}), ...labels },
      uid: typeof meta.uid === 'string' ? meta.uid : randomUUID(),
      creationTimestamp: typeof meta.creationTimestamp === 'string' ? meta.creationTimestamp : now.toISOString().replace(/\.\d+Z$/, 'Z'),
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
    const kv = await ds.get(key);
    const addrs = await chooseNodeAddresses(opts.settings, addressesOf(kv?.value), opts.interfaces);
    const value = mergeNode(kv?.value, opts.name, addrs, opts.labels, new Date());
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
