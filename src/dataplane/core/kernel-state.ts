// What the kernel holds of ours, read from `ip -j` / `bridge -j` output, and the plan that turns
// it into the desired state: `ip -batch` and `bridge -batch` lines (devices first; in the `ip`
// batch, neighbours before the routes that use them and stale routes before stale devices; the
// FDB batch runs after a new device, else alongside the `ip` batch: see KernelDriver.apply).
//
// Ownership (BRIEF: route protocol 80): routes with protocol 80 in the main table; permanent
// neighbours and FDB entries on vxlan.calico / vxlan-v6.calico; those two devices. Nothing else
// is ever read as ours, so nothing else is ever changed or removed.
//
// Every line is idempotent: adds are `replace`, and a delete of something already gone leaves
// the kernel as wanted (the driver does not count it as failed; neighbours are removed by an
// exact flush, see planApply), so a plan made from a cache that missed a hand-made change still
// runs whole.
//
// Pure: parsing and planning only; the driver runs the lines.

import { type IPAddr, type IPFamily, formatCIDR, formatIP, tryParseCIDR, tryParseIP } from '../../ip/index.js';
import { type DesiredState, type FdbEntry, type HostFacts, type NeighEntry, type RouteEntry, VXLAN_DEVICE, type VxlanDevice } from './desired.js';

/** Tabby's route protocol number (rt_protos name "tabby"); the BGP daemon standalone uses 81. */
export const ROUTE_PROTOCOL = 80;
export const OWNED_DEVICES: readonly string[] = [VXLAN_DEVICE[4], VXLAN_DEVICE[6]];

export interface ActualDevice {
  readonly name: string;
  readonly vni?: number;
  readonly port?: number;
  readonly local?: string;
  readonly parent?: string;
  readonly mtu: number;
  readonly mac: string;
  readonly up: boolean;
  /** Global-scope addresses, "10.244.0.0/32". */
  readonly addresses: readonly string[];
}

export interface KernelState {
  readonly devices: readonly ActualDevice[];
  readonly routes: readonly RouteEntry[];
  readonly neighbours: readonly NeighEntry[];
  readonly fdb: readonly FdbEntry[];
}

export const EMPTY_KERNEL: KernelState = { devices: [], routes: [], neighbours: [], fdb: [] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const normIP = (t: unknown): string | undefined => {
  const a = typeof t === 'string' && t !== '' ? tryParseIP(t) : undefined;
  return a ? formatIP(a) : undefined;
};

/** `ip -j route show proto 80` (v4 or v6) → routes; a bare address is a host route. */
export function parseRoutes(json: unknown, family: IPFamily): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const r of list(json)) {
    const c = typeof r.dst === 'string' ? tryParseCIDR(r.dst, { lenient: true }) : undefined;
    if (!c || c.family !== family) continue;
    const flags = Array.isArray(r.flags) ? r.flags : [];
    const gateway = normIP(r.gateway);
    const kind = r.type === 'blackhole' ? 'blackhole' : typeof r.dev === 'string' && OWNED_DEVICES.includes(r.dev) ? 'vxlan' : 'direct';
    out.push({
      dst: formatCIDR(c),
      family,
      kind,
      ...(kind !== 'blackhole' && gateway ? { gateway } : {}),
      ...(kind !== 'blackhole' && typeof r.dev === 'string' ? { dev: r.dev } : {}),
      ...(flags.includes('onlink') ? { onlink: true } : {}),
    });
  }
  return out;
}

/** `ip -j neigh show nud permanent` → our neighbours (on our devices only). */
export function parseNeighbours(json: unknown): NeighEntry[] {
  return list(json).flatMap((n) => {
    const ip = normIP(n.dst);
    const dev = typeof n.dev === 'string' ? n.dev : '';
    return ip && OWNED_DEVICES.includes(dev) && typeof n.lladdr === 'string' ? [{ dev, ip, mac: n.lladdr.toLowerCase() }] : [];
  });
}

/** `bridge -j fdb show` → entries with a remote destination on our devices. */
export function parseFdb(json: unknown): FdbEntry[] {
  return list(json).flatMap((e) => {
    const dst = normIP(e.dst);
    const dev = typeof e.ifname === 'string' ? e.ifname : '';
    return dst && OWNED_DEVICES.includes(dev) && typeof e.mac === 'string' ? [{ dev, mac: e.mac.toLowerCase(), dst }] : [];
  });
}

/** `ip -j -d addr show` → our VXLAN devices. */
export function parseDevices(json: unknown): ActualDevice[] {
  return list(json).flatMap((d) => (typeof d.ifname === 'string' && OWNED_DEVICES.includes(d.ifname) ? [parseDevice(d)] : []));
}

/** The interfaces holding these underlay addresses, with their MTUs, from `ip -j addr show`. */
export function hostFactsFrom(json: unknown, ipv4?: IPAddr, ipv6?: IPAddr): HostFacts {
  const links = list(json);
  const find = (a?: IPAddr) => {
    if (!a) return undefined;
    const want = formatIP(a);
    const l = links.find((x) => list(x.addr_info).some((i) => normIP(i.local) === want));
    return l && typeof l.ifname === 'string' && typeof l.mtu === 'number' ? { dev: l.ifname, mtu: l.mtu } : undefined;
  };
  const u4 = find(ipv4);
  const u6 = find(ipv6);
  return { ...(u4 ? { underlay4: u4 } : {}), ...(u6 ? { underlay6: u6 } : {}) };
}

/** One link of `ip -j -d addr show` → the device as we compare it. */
export function parseDevice(d: Obj): ActualDevice {
  const info = isObj(d.linkinfo) && isObj(d.linkinfo.info_data) ? d.linkinfo.info_data : {};
  const local = normIP(info.local ?? info.local6);
  const addresses = list(d.addr_info)
    .filter((a) => a.scope === 'global' && typeof a.local === 'string')
    .map((a) => {
      const c = tryParseCIDR(`${String(a.local)}/${String(a.prefixlen)}`, { lenient: true });
      return c ? formatCIDR(c) : '';
    })
    .filter((a) => a !== '');
  const flags = Array.isArray(d.flags) ? d.flags : [];
  return {
    name: String(d.ifname),
    ...(typeof info.id === 'number' ? { vni: info.id } : {}),
    ...(typeof info.port === 'number' ? { port: info.port } : {}),
    ...(local ? { local } : {}),
    ...(typeof info.link === 'string' ? { parent: info.link } : {}),
    mtu: typeof d.mtu === 'number' ? d.mtu : 0,
    mac: typeof d.address === 'string' ? d.address.toLowerCase() : '',
    up: flags.includes('UP'),
    addresses,
  };
}

export interface ApplyPlan {
  /** `ip -batch` lines creating or fixing devices: run first. */
  readonly deviceLines: readonly string[];
  /** `bridge -batch` lines (FDB). */
  readonly fdbLines: readonly string[];
  /** `ip -batch` lines: neighbour adds, route adds/replaces/deletes, neighbour deletes, device deletes. */
  readonly ipLines: readonly string[];
  /** Entries added, changed and removed (devices, routes, neighbours, FDB). */
  readonly changes: number;
}

const hostLen = (f: IPFamily): number => (f === 4 ? 32 : 128);

/** Entries wanted but missing or different (with what the kernel has), and entries only the kernel has. */
function diffKeyed<T>(want: readonly T[], have: readonly T[], key: (t: T) => string, same: (want: T, have: T) => boolean): { changed: { want: T; have?: T }[]; stale: T[] } {
  const byKey = new Map(have.map((h) => [key(h), h]));
  const changed: { want: T; have?: T }[] = [];
  for (const w of want) {
    const h = byKey.get(key(w));
    byKey.delete(key(w));
    if (!h) changed.push({ want: w });
    else if (!same(w, h)) changed.push({ want: w, have: h });
  }
  return { changed, stale: [...byKey.values()] };
}
const sameRoute = (a: RouteEntry, b: RouteEntry): boolean =>
  a.kind === b.kind && (a.gateway ?? '') === (b.gateway ?? '') && (a.kind === 'blackhole' || a.dev === undefined || a.dev === b.dev) && Boolean(a.onlink) === Boolean(b.onlink);

export function routeLine(r: RouteEntry): string {
  if (r.kind === 'blackhole') return `route replace blackhole ${r.dst} proto ${ROUTE_PROTOCOL}`;
  return `route replace ${r.dst} via ${r.gateway}${r.dev ? ` dev ${r.dev}` : ''}${r.onlink ? ' onlink' : ''} proto ${ROUTE_PROTOCOL}`;
}
export const neighLine = (n: NeighEntry): string => `neigh replace ${n.ip} lladdr ${n.mac} dev ${n.dev} nud permanent`;
export const fdbLine = (e: FdbEntry): string => `fdb replace ${e.mac} dev ${e.dev} dst ${e.dst} self permanent`;

function deviceLines(want: VxlanDevice, have: ActualDevice | undefined): { lines: string[]; recreated: boolean } {
  const lines: string[] = [];
  const identityDiffers = have && (have.vni !== want.vni || have.port !== want.port || have.local !== want.local || have.parent !== want.parent);
  if (identityDiffers) lines.push(`link del ${want.name}`);
  if (!have || identityDiffers) {
    lines.push(`link add ${want.name} type vxlan id ${want.vni} dstport ${want.port} local ${want.local} dev ${want.parent} nolearning`);
  }
  const fresh = !have || identityDiffers;
  if (fresh || have.mtu !== want.mtu || have.mac !== want.mac || !have.up) lines.push(`link set ${want.name} mtu ${want.mtu} address ${want.mac} up`);
  const addr = `${want.address}/${hostLen(want.family)}`;
  for (const a of fresh ? [] : have.addresses) if (a !== addr) lines.push(`addr del ${a} dev ${want.name}`);
  if (fresh || !have.addresses.includes(addr)) lines.push(`addr replace ${addr} dev ${want.name}${want.family === 6 ? ' nodad' : ''}`);
  return { lines, recreated: Boolean(fresh) };
}

/** The lines that turn `actual` into `desired`, touching only entries that differ. */
export function planApply(desired: DesiredState, actual: KernelState): ApplyPlan {
  const devLines: string[] = [];
  const gone = new Set<string>();
  for (const d of desired.devices) {
    const r = deviceLines(d, actual.devices.find((a) => a.name === d.name));
    devLines.push(...r.lines);
    if (r.recreated) gone.add(d.name);
  }
  const removedDevices = actual.devices.filter((a) => !desired.devices.some((d) => d.name === a.name)).map((a) => a.name);
  for (const n of removedDevices) gone.add(n);
  // Entries on a device that is (re)created or removed vanish with it.
  const live = <T extends { dev?: string }>(xs: readonly T[]) => xs.filter((x) => x.dev === undefined || !gone.has(x.dev));

  const fdb = diffKeyed(desired.fdb, live(actual.fdb), (e) => `${e.dev} ${e.mac}`, (a, b) => a.dst === b.dst);
  const fdbLines = [...fdb.changed.map((c) => fdbLine(c.want)), ...fdb.stale.map((e) => `fdb del ${e.mac} dev ${e.dev} dst ${e.dst} self`)];

  const neigh = diffKeyed(desired.neighbours, live(actual.neighbours), (n) => `${n.dev} ${n.ip}`, (a, b) => a.mac === b.mac);
  const neighAdd = neigh.changed.map((c) => neighLine(c.want));
  // `ip neigh del` of an entry already gone (deleted by hand since the last read) makes `ip`
  // exit, dropping the rest of the batch even with -force; a flush of exactly that entry removes
  // it just the same and succeeds when there is nothing to remove.
  const neighDel = neigh.stale.map((n) => `neigh flush to ${n.ip} dev ${n.dev} nud permanent`);

  const routes = diffKeyed(desired.routes, live(actual.routes), (r) => r.dst, sameRoute);
  const routeLines: string[] = [];
  for (const { want, have } of routes.changed) {
    // Linux refuses to replace an IPv6 route by one with an onlink gateway ("Nexthop has invalid
    // gateway"): delete it first, in the same batch.
    if (have && want.family === 6) routeLines.push(`route del ${want.dst} proto ${ROUTE_PROTOCOL}`);
    routeLines.push(routeLine(want));
  }
  for (const r of routes.stale) routeLines.push(`route del ${r.dst} proto ${ROUTE_PROTOCOL}`);

  const ipLines = [...neighAdd, ...routeLines, ...neighDel, ...removedDevices.map((n) => `link del ${n}`)];
  const changes = devLines.filter((l) => l.startsWith('link add') || l.startsWith('link set') || l.startsWith('addr')).length + removedDevices.length + fdbLines.length + neighAdd.length + neighDel.length + routeLines.length;
  return { deviceLines: devLines, fdbLines, ipLines, changes };
}

/** The kernel state after a plan succeeded: what the desired state says (used between resyncs). */
export function kernelAfter(desired: DesiredState): KernelState {
  return {
    devices: desired.devices.map((d) => ({ name: d.name, vni: d.vni, port: d.port, local: d.local, parent: d.parent, mtu: d.mtu, mac: d.mac, up: true, addresses: [`${d.address}/${hostLen(d.family)}`] })),
    routes: desired.routes,
    neighbours: desired.neighbours,
    fdb: desired.fdb,
  };
}
