// CNI results (reference/cni-spec.md §4): one internal shape (the 1.1.0 one) and conversions
// from and to the shape of each version Tabby speaks.
//
// - 0.3.0, 0.3.1, 0.4.0: ips[] carry "version": "4"|"6"; interfaces have name/mac/sandbox;
//   routes have dst/gw.
// - 1.0.0: no ips[].version; same interface and route fields.
// - 1.1.0: adds interfaces[].mtu/socketPath/pciID and routes[].mtu/advmss/priority/table/scope.
// Fields a version does not define are dropped when formatting, so a runtime never sees a key its
// version does not have. `dns` is always present, as libcni prints it.
// A prevResult may come in any of these shapes; parseResult accepts all of them (code 6 if not).

import { type IPAddr, type IPFamily, formatIP, tryParseIP } from '../ip/index.js';
import type { Json, JsonObject } from './config.js';
import { CniCode, CniError } from './errors.js';
import { type CniVersion, compareVersions } from './versions.js';

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly sandbox?: string;
  readonly socketPath?: string;
  readonly pciID?: string;
}

export interface CniIPConfig {
  /** Address with prefix, e.g. "10.244.0.5/32" (host bits may be set). */
  readonly address: string;
  readonly gateway?: string;
  /** Index into interfaces[]. */
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
  readonly mtu?: number;
  readonly advmss?: number;
  readonly priority?: number;
  readonly table?: number;
  readonly scope?: number;
}

export interface CniDns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

export interface CniResult {
  readonly interfaces?: readonly CniInterface[];
  readonly ips?: readonly CniIPConfig[];
  readonly routes?: readonly CniRoute[];
  readonly dns?: CniDns;
}

export interface AddressWithPrefix {
  readonly ip: IPAddr;
  readonly prefix: number;
}

/** "10.0.0.5/26" → address and prefix, keeping host bits (unlike a CIDR). */
export function parseAddressWithPrefix(text: string): AddressWithPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = tryParseIP(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return { ip, prefix };
}

export const formatAddressWithPrefix = (a: AddressWithPrefix): string => `${formatIP(a.ip)}/${a.prefix}`;

export function addressFamily(address: string): IPFamily | undefined {
  return parseAddressWithPrefix(address)?.ip.family;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(where: string, what: string): CniError {
  return new CniError(CniCode.DecodingFailure, `prevResult ${where} ${what}`);
}

function str(o: JsonObject, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`${where}.${key}`, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function num(o: JsonObject, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`${where}.${key}`, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function list(o: JsonObject, key: string, where: string): JsonObject[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every(isObject)) throw bad(`${where}.${key}`, 'must be a list of objects');
  return v as JsonObject[];
}

function strList(o: JsonObject, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`${where}.${key}`, 'must be a list of strings');
  return v as string[];
}

/** Omits undefined values so optional fields stay absent (exactOptionalPropertyTypes). */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Reads a result of any supported version's shape. */
export function parseResult(value: Json, where = 'prevResult'): CniResult {
  if (!isObject(value)) throw bad('', `must be an object, got ${JSON.stringify(value)}`);
  const interfaces = list(value, 'interfaces', where).map((i, n) => {
    const w = `${where}.interfaces[${n}]`;
    const name = str(i, 'name', w);
    if (name === undefined) throw bad(w, 'has no name');
    return compact<CniInterface>({
      name,
      mac: str(i, 'mac', w),
      mtu: num(i, 'mtu', w),
      sandbox: str(i, 'sandbox', w),
      socketPath: str(i, 'socketPath', w),
      pciID: str(i, 'pciID', w),
    } as CniInterface);
  });
  const ips = list(value, 'ips', where).map((i, n) => {
    const w = `${where}.ips[${n}]`;
    const address = str(i, 'address', w);
    if (address === undefined || !parseAddressWithPrefix(address)) throw bad(`${w}.address`, `must be an address with prefix like "10.0.0.5/32", got ${JSON.stringify(i.address)}`);
    const ifIndex = num(i, 'interface', w);
    if (ifIndex !== undefined && ifIndex >= interfaces.length) throw bad(`${w}.interface`, `is ${ifIndex} but there are only ${interfaces.length} interfaces`);
    return compact<CniIPConfig>({ address, gateway: str(i, 'gateway', w), interface: ifIndex } as CniIPConfig);
  });
  const routes = list(value, 'routes', where).map((r, n) => {
    const w = `${where}.routes[${n}]`;
    const dst = str(r, 'dst', w);
    if (dst === undefined) throw bad(w, 'has no dst');
    return compact<CniRoute>({
      dst,
      gw: str(r, 'gw', w),
      mtu: num(r, 'mtu', w),
      advmss: num(r, 'advmss', w),
      priority: num(r, 'priority', w),
      table: num(r, 'table', w),
      scope: num(r, 'scope', w),
    } as CniRoute);
  });
  const dnsRaw = value.dns;
  let dns: CniDns | undefined;
  if (isObject(dnsRaw)) {
    dns = compact<CniDns>({
      nameservers: strList(dnsRaw, 'nameservers', `${where}.dns`),
      domain: str(dnsRaw, 'domain', `${where}.dns`),
      search: strList(dnsRaw, 'search', `${where}.dns`),
      options: strList(dnsRaw, 'options', `${where}.dns`),
    } as CniDns);
  }
  return compact<CniResult>({
    interfaces: interfaces.length ? interfaces : undefined,
    ips: ips.length ? ips : undefined,
    routes: routes.length ? routes : undefined,
    dns,
  } as CniResult);
}

/** The result in the JSON shape of `version`. */
export function formatResult(result: CniResult, version: CniVersion): JsonObject {
  const legacy = compareVersions(version, '1.0.0') < 0;
  const v11 = compareVersions(version, '1.1.0') >= 0;
  const out: JsonObject = { cniVersion: version };
  if (result.interfaces?.length) {
    out.interfaces = result.interfaces.map((i) => {
      const o: JsonObject = { name: i.name };
      if (i.mac) o.mac = i.mac;
      if (v11 && i.mtu) o.mtu = i.mtu;
      if (i.sandbox) o.sandbox = i.sandbox;
      if (v11 && i.socketPath) o.socketPath = i.socketPath;
      if (v11 && i.pciID) o.pciID = i.pciID;
      return o;
    });
  }
  if (result.ips?.length) {
    out.ips = result.ips.map((ip) => {
      const o: JsonObject = {};
      if (legacy) o.version = addressFamily(ip.address) === 6 ? '6' : '4';
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway) o.gateway = ip.gateway;
      return o;
    });
  }
  if (result.routes?.length) {
    out.routes = result.routes.map((r) => {
      const o: JsonObject = { dst: r.dst };
      if (r.gw) o.gw = r.gw;
      if (v11) {
        for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
          const v = r[k];
          if (v !== undefined && (v !== 0 || k === 'table' || k === 'scope')) o[k] = v;
        }
      }
      return o;
    });
  }
  const dns: JsonObject = {};
  if (result.dns?.nameservers?.length) dns.nameservers = [...result.dns.nameservers];
  if (result.dns?.domain) dns.domain = result.dns.domain;
  if (result.dns?.search?.length) dns.search = [...result.dns.search];
  if (result.dns?.options?.length) dns.options = [...result.dns.options];
  out.dns = dns;
  return out;
}

/** The container-side addresses a result assigns to the interface called `ifname` in `sandbox`. */
export function containerAddresses(result: CniResult, ifname: string): CniIPConfig[] {
  const ifaces = result.interfaces ?? [];
  return (result.ips ?? []).filter((ip) => {
    if (ip.interface === undefined) return true;
    const i = ifaces[ip.interface];
    return i !== undefined && i.name === ifname && i.sandbox !== undefined && i.sandbox !== '';
  });
}
