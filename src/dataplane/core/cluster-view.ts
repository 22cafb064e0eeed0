// The route reconciler's view of the cluster: IP pools, Nodes (underlay addresses and VTEPs),
// IPAM blocks (affinity and who holds each address), the FelixConfiguration settings the
// dataplane uses, and routes learned elsewhere (BGP, later). Fed from datastore keys and their
// stored JSON (Calico's layout, calico-internals.md §1.3) by `applyKV`, one key at a time.
//
// Pure: no I/O, no clock. Invariants:
// - The view depends only on the latest value of each key, never on the order keys arrived in
//   (a later update replaces, a delete removes), so any order of events gives the same view.
// - A malformed value never throws: it is treated as absent and reported in `problems` (by key),
//   so one bad resource cannot stop routes to every other node.

import { type CIDR, type IPAddr, type IPFamily, cidr, cidrAddress, formatCIDR, formatIP, parseCIDRKeySegment, tryParseCIDR, tryParseIP } from '../../ip/index.js';

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';

export interface PoolView {
  readonly name: string;
  readonly cidr: CIDR;
  readonly vxlanMode: EncapMode;
  readonly natOutgoing: boolean;
  readonly disabled: boolean;
}

export interface Vtep {
  readonly address: IPAddr;
  /** `address` as text (normalised), kept so that each pass does not format it again. */
  readonly text: string;
  readonly mac: string;
}

/** A node's underlay address with its subnet, and the address as normalised text. */
export interface Underlay {
  readonly address: IPAddr;
  readonly subnet: CIDR;
  readonly text: string;
}

export interface NodeView {
  readonly name: string;
  /** The node's underlay address with its subnet (spec.bgp.ipv4Address, "198.18.0.11/24"). */
  readonly ipv4?: Underlay;
  readonly ipv6?: Underlay;
  readonly vtep4?: Vtep;
  readonly vtep6?: Vtep;
}

export interface BlockView {
  readonly cidr: CIDR;
  /** `cidr` as normalised text ("10.244.1.0/26"). */
  readonly dst: string;
  /** The node the block is affine to ("host:<node>"), if any. */
  readonly affinity?: string;
  /** Allocated addresses held by a node other than the block's affinity ("borrowed"), text → node. */
  readonly borrowed: ReadonlyMap<string, string>;
}

/** FelixConfiguration fields the route and NAT dataplane reads (already merged default ← node.<name>). */
export interface FelixSettings {
  readonly vxlanVNI?: number;
  readonly vxlanPort?: number;
  readonly vxlanMTU?: number;
  readonly vxlanMTUV6?: number;
  readonly natOutgoingAddress?: string;
  /** routeRefreshInterval in milliseconds (0 disables the periodic resync). */
  readonly routeRefreshMs?: number;
}

/** A route to a CIDR learned from elsewhere (BGP): goes via `gateway` on the underlay. */
export interface LearnedRoute {
  readonly dst: CIDR;
  readonly gateway: IPAddr;
}

const RES = '/calico/resources/v3/projectcalico.org/';
export const WATCH_PREFIXES = [`${RES}ippools/`, `${RES}nodes/`, `${RES}felixconfigurations/`, '/calico/ipam/v2/assignment/'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function decodePool(name: string, value: unknown): PoolView | string {
  const spec = isObj(value) && isObj(value.spec) ? value.spec : undefined;
  if (!spec) return 'has no spec';
  const cidr = tryParseCIDR(String(spec.cidr ?? ''));
  if (!cidr) return `spec.cidr ${JSON.stringify(spec.cidr)} is not a CIDR`;
  const mode = spec.vxlanMode ?? 'Never';
  if (mode !== 'Always' && mode !== 'CrossSubnet' && mode !== 'Never') return `spec.vxlanMode ${JSON.stringify(mode)} is not Always, CrossSubnet or Never`;
  return { name, cidr, vxlanMode: mode, natOutgoing: spec.natOutgoing === true, disabled: spec.disabled === true };
}

function underlay(text: unknown, family: IPFamily): Underlay | undefined {
  const t = str(text);
  if (!t) return undefined;
  const slash = t.indexOf('/');
  const a = slash === -1 ? t : t.slice(0, slash);
  const address = tryParseIP(a);
  if (!address || address.family !== family) return undefined;
  // The address is parsed once; the subnet is the same address with its prefix, masked.
  const bits = family === 4 ? 32 : 128;
  const p = slash === -1 ? String(bits) : t.slice(slash + 1);
  const prefix = /^(0|[1-9][0-9]{0,2})$/.test(p) ? Number(p) : -1;
  if (prefix < 0 || prefix > bits) return undefined;
  return { address, subnet: cidr(family, address.value, prefix), text: formatIP(address) };
}

function vtep(addr: unknown, mac: unknown, family: IPFamily): Vtep | undefined {
  const text = str(addr);
  // Absent fields are common (a node without an IPv6 VTEP): no parse, no exception to build.
  const address = text === undefined ? undefined : tryParseIP(text);
  const m = str(mac)?.toLowerCase();
  return address && address.family === family && m && MAC.test(m) ? { address, text: formatIP(address), mac: m } : undefined;
}

function decodeNode(name: string, value: unknown): NodeView | string {
  const spec = isObj(value) && isObj(value.spec) ? value.spec : undefined;
  if (!spec) return 'has no spec';
  const bgp = isObj(spec.bgp) ? spec.bgp : {};
  const ipv4 = underlay(bgp.ipv4Address, 4);
  const ipv6 = underlay(bgp.ipv6Address, 6);
  const vtep4 = vtep(spec.ipv4VXLANTunnelAddr, spec.vxlanTunnelMACAddr, 4);
  const vtep6 = vtep(spec.ipv6VXLANTunnelAddr, spec.vxlanTunnelMACAddrV6, 6);
  // Built field by field (object spreads cost a temporary object each, per node, per delivery).
  const out: { -readonly [K in keyof NodeView]: NodeView[K] } = { name };
  if (ipv4) out.ipv4 = ipv4;
  if (ipv6) out.ipv6 = ipv6;
  if (vtep4) out.vtep4 = vtep4;
  if (vtep6) out.vtep6 = vtep6;
  return out;
}

function decodeBlock(segment: string, value: unknown): BlockView | string {
  let cidr: CIDR;
  try {
    cidr = parseCIDRKeySegment(segment);
  } catch {
    return `key segment ${segment} is not a block CIDR`;
  }
  if (!isObj(value)) return 'is not an object';
  const dst = formatCIDR(cidr);
  if (value.deleted === true) return { cidr, dst, borrowed: NO_BORROWED };
  const aff = str(value.affinity);
  const affinity = aff?.startsWith('host:') ? aff.slice(5) : undefined;
  let borrowed: Map<string, string> | undefined;
  const allocations = Array.isArray(value.allocations) ? value.allocations : [];
  const attributes = Array.isArray(value.attributes) ? value.attributes : [];
  // An address can only be borrowed when some allocation has attributes naming its holder.
  const size = attributes.length === 0 ? 0 : Math.min(allocations.length, 2 ** Math.min(64, (cidr.family === 4 ? 32 : 128) - cidr.prefix));
  for (let ordinal = 0; ordinal < size; ordinal++) {
    const a: unknown = allocations[ordinal];
    if (typeof a !== 'number') continue;
    const attr: unknown = attributes[a];
    const holder = isObj(attr) && isObj(attr.secondary) ? str(attr.secondary.node) : undefined;
    if (holder === undefined || holder === affinity) continue;
    (borrowed ??= new Map()).set(formatIP(cidrAddress(cidr, BigInt(ordinal))), holder);
  }
  const out: { -readonly [K in keyof BlockView]: BlockView[K] } = { cidr, dst, borrowed: borrowed ?? NO_BORROWED };
  if (affinity) out.affinity = affinity;
  return out;
}

/** Shared by every block that lends no address (most of them): one map, not one per block. */
// layer: frozen — never written: decodeBlock makes a map of its own for a block that lends
const NO_BORROWED: ReadonlyMap<string, string> = new Map();

/** Go duration text ("90s", "1m30s", "250ms") → milliseconds, or undefined. */
export function parseDurationMs(text: string): number | undefined {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? Math.round(total) : undefined;
}

function decodeFelix(value: unknown): FelixSettings | string {
  const spec = isObj(value) && isObj(value.spec) ? value.spec : undefined;
  if (!spec) return 'has no spec';
  const out: { -readonly [K in keyof FelixSettings]: FelixSettings[K] } = {};
  for (const k of ['vxlanVNI', 'vxlanPort', 'vxlanMTU', 'vxlanMTUV6'] as const) {
    const v = spec[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return `spec.${k} ${JSON.stringify(v)} is not a whole number`;
    if (v > 0) out[k] = v;
  }
  const nat = str(spec.natOutgoingAddress);
  if (nat) out.natOutgoingAddress = nat;
  if (spec.routeRefreshInterval !== undefined) {
    const ms = parseDurationMs(String(spec.routeRefreshInterval));
    if (ms === undefined) return `spec.routeRefreshInterval ${JSON.stringify(spec.routeRefreshInterval)} is not a duration like "90s"`;
    out.routeRefreshMs = ms;
  }
  return out;
}

/** The cluster as the route reconciler sees it; update with applyKV, read with the getters. */
export class ClusterView {
  readonly pools = new Map<string, PoolView>();
  readonly nodes = new Map<string, NodeView>();
  readonly blocks = new Map<string, BlockView>();
  readonly learned = new Map<string, LearnedRoute>();
  private readonly felix = new Map<string, FelixSettings>();
  /** Keys whose value could not be used, with why. */
  readonly problems = new Map<string, string>();

  constructor(readonly nodename: string) {}

  /** Applies one datastore key's latest value (undefined = deleted). Returns whether the key is one the view uses. */
  applyKV(key: string, value: unknown): boolean {
    const route = classify(key);
    if (!route) return false;
    const { kind, id } = route;
    const maps = { pool: this.pools, node: this.nodes, block: this.blocks, felix: this.felix } as const;
    const map = maps[kind] as Map<string, unknown>;
    this.problems.delete(key);
    if (value === undefined) {
      map.delete(id);
      return true;
    }
    const decoded = kind === 'pool' ? decodePool(id, value) : kind === 'node' ? decodeNode(id, value) : kind === 'block' ? decodeBlock(id, value) : decodeFelix(value);
    if (typeof decoded === 'string') {
      map.delete(id);
      this.problems.set(key, decoded);
    } else {
      map.set(id, decoded);
    }
    return true;
  }

  /** Routes learned from elsewhere (BGP) replace the previous set of one source. */
  setLearned(routes: readonly LearnedRoute[]): void {
    this.learned.clear();
    for (const r of routes) this.learned.set(`${r.dst.family}/${r.dst.base}/${r.dst.prefix}`, r);
  }

  /** FelixConfiguration `default` overlaid with `node.<this node>` (Calico's precedence). */
  settings(): FelixSettings {
    return { ...(this.felix.get('default') ?? {}), ...(this.felix.get(`node.${this.nodename}`) ?? {}) };
  }
}

const KEY_KINDS: readonly (readonly [string, 'pool' | 'node' | 'block' | 'felix'])[] = [
  [`${RES}ippools/`, 'pool'],
  [`${RES}nodes/`, 'node'],
  [`${RES}felixconfigurations/`, 'felix'],
  ['/calico/ipam/v2/assignment/ipv4/block/', 'block'],
  ['/calico/ipam/v2/assignment/ipv6/block/', 'block'],
];

function classify(key: string): { kind: 'pool' | 'node' | 'block' | 'felix'; id: string } | undefined {
  for (const [prefix, kind] of KEY_KINDS) {
    if (key.length > prefix.length && key.startsWith(prefix) && key.indexOf('/', prefix.length) === -1) return { kind, id: key.slice(prefix.length) };
  }
  return undefined;
}
