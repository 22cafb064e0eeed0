// Node IP autodetection, the way calico/node does it (calico-internals.md §1.4;
// node/pkg/lifecycle/startup/autodetection): the first global-unicast address of the chosen
// family on the interfaces a method selects, returned with its prefix ("192.168.1.5/24").
//
// Methods (IP_AUTODETECTION_METHOD / IP6_AUTODETECTION_METHOD):
//   first-found (default)      every interface except Calico's exclusion list
//   interface=REGEX[,REGEX]    interfaces whose name matches one of the regexes
//   skip-interface=REGEX[,..]  the exclusion list plus these
//   cidr=CIDR[,CIDR]           any interface, address inside one of the CIDRs
//   can-reach=DEST             the source address the kernel picks towards DEST (no packet sent)
// Like Calico, interfaces are tried from the highest interface index down, and regexes are
// unanchored searches (the defaults carry their own "^").
// Pure except `readHostInterfaces` and `sourceAddressTowards` (injectable into detectAddress).

import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { type IPFamily, cidrContainsIP, parseCIDR, parseIP, tryParseIP } from '../ip/index.js';

export const DEFAULT_INTERFACES_TO_EXCLUDE = [
  '^docker.*', '^cbr.*', '^dummy.*', '^podman.*', '^virbr.*', '^lxcbr.*', '^veth.*', '^lo',
  '^br-.*', '^cali.*', '^tunl.*', '^flannel.*', '^kube-ipvs.*', '^cni.*', '^vxlan\\.calico.*',
  '^wireguard\\.cali.*', '^nodelocaldns.*',
];

export interface HostInterface {
  readonly name: string;
  readonly index: number;
  /** Addresses with their prefix, e.g. "10.0.0.5/24", "fd00::5/64". */
  readonly cidrs: readonly string[];
}

export interface DetectedAddress {
  readonly interface: string;
  readonly cidr: string;
}

export class AutodetectError extends Error {
  override readonly name = 'AutodetectError';
  readonly code = 'Autodetect';
}

/** Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast. */
export function isGlobalUnicast(text: string): boolean {
  const a = tryParseIP(text);
  if (!a) return false;
  const inNet = (cidr: string) => cidrContainsIP(parseCIDR(cidr), a);
  if (a.family === 4) {
    return !(a.value === 0n || a.value === 0xffffffffn || inNet('127.0.0.0/8') || inNet('169.254.0.0/16') || inNet('224.0.0.0/4'));
  }
  return !(a.value === 0n || a.value === 1n || inNet('fe80::/10') || inNet('ff00::/8'));
}

const familyOf = (cidr: string): IPFamily | undefined => tryParseIP(cidr.split('/')[0] ?? '')?.family;

function compileRegexes(list: readonly string[], what: string): RegExp | undefined {
  if (list.length === 0) return undefined;
  try {
    return new RegExp(list.map((r) => `(${r})`).join('|'));
  } catch (err) {
    throw new AutodetectError(`${what} regexes ${JSON.stringify(list)} are not valid: ${(err as Error).message}`);
  }
}

/** Calico's FilteredEnumeration over an interface list. */
export function firstAddress(
  interfaces: readonly HostInterface[],
  family: IPFamily,
  opts: { include?: readonly string[]; exclude?: readonly string[]; cidrs?: readonly string[] } = {},
): DetectedAddress | undefined {
  const incl = compileRegexes(opts.include ?? [], 'interface');
  const excl = compileRegexes(opts.exclude ?? [], 'skip-interface');
  const nets = (opts.cidrs ?? []).map((c) => parseCIDR(c, { lenient: true }));
  const ordered = [...interfaces].sort((x, y) => y.index - x.index);
  for (const i of ordered) {
    if (incl && !incl.test(i.name)) continue;
    if (excl && excl.test(i.name)) continue;
    for (const c of i.cidrs) {
      const addr = c.split('/')[0]!;
      if (familyOf(c) !== family || !isGlobalUnicast(addr)) continue;
      if (nets.length > 0 && !nets.some((n) => n.family === family && cidrContainsIP(n, parseIP(addr)))) continue;
      return { interface: i.name, cidr: c };
    }
  }
  return undefined;
}

const splitList = (s: string): string[] => s.split(/\s*,\s*/).filter((x) => x !== '');

/**
 * Runs one autodetection method. `reach` resolves the can-reach method's source address; it is
 * injected so the pure part stays testable.
 */
export async function detectAddress(
  method: string,
  family: IPFamily,
  interfaces: readonly HostInterface[],
  reach: (dest: string, family: IPFamily) => Promise<string | undefined> = sourceAddressTowards,
): Promise<DetectedAddress | undefined> {
  const m = method.trim();
  if (m === '' || m === 'first-found') return firstAddress(interfaces, family, { exclude: DEFAULT_INTERFACES_TO_EXCLUDE });
  if (m.startsWith('interface=')) return firstAddress(interfaces, family, { include: splitList(m.slice('interface='.length)) });
  if (m.startsWith('skip-interface=')) {
    return firstAddress(interfaces, family, { exclude: [...DEFAULT_INTERFACES_TO_EXCLUDE, ...splitList(m.slice('skip-interface='.length))] });
  }
  if (m.startsWith('cidr=')) {
    const cidrs = splitList(m.slice('cidr='.length));
    for (const c of cidrs) {
      try {
        parseCIDR(c, { lenient: true });
      } catch {
        throw new AutodetectError(`invalid CIDR "${c}" in IP autodetection method "${method}"; expected e.g. cidr=10.0.0.0/8`);
      }
    }
    return firstAddress(interfaces, family, { cidrs });
  }
  if (m.startsWith('can-reach=')) {
    const src = await reach(m.slice('can-reach='.length), family);
    if (src === undefined) return undefined;
    return localCidr(src, interfaces) ?? { interface: '', cidr: `${src}/${family === 4 ? 32 : 128}` };
  }
  if (m === 'kubernetes-internal-ip') throw new AutodetectError('IP autodetection method "kubernetes-internal-ip" needs a Kubernetes API server, which Tabby does not use yet; choose first-found, interface=, skip-interface=, cidr= or can-reach=');
  throw new AutodetectError(`invalid IP autodetection method "${method}"; expected first-found, interface=REGEX, skip-interface=REGEX, cidr=CIDR or can-reach=DEST`);
}

/** The interface address (with its prefix) equal to `ip`, like Calico's GetLocalCIDR. */
export function localCidr(ip: string, interfaces: readonly HostInterface[]): DetectedAddress | undefined {
  const want = tryParseIP(ip);
  if (!want) return undefined;
  for (const i of interfaces) {
    for (const c of i.cidrs) {
      const a = tryParseIP(c.split('/')[0]!);
      if (a && a.family === want.family && a.value === want.value) return { interface: i.name, cidr: c };
    }
  }
  return undefined;
}

/** This network namespace's interfaces and addresses, from `ip -j addr show`. */
export function readHostInterfaces(): HostInterface[] {
  const out = execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' });
  const links = JSON.parse(out) as { ifindex: number; ifname: string; addr_info?: { local?: string; prefixlen?: number }[] }[];
  return links.map((l) => ({
    name: l.ifname,
    index: l.ifindex,
    cidrs: (l.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

/** The source address the kernel would use towards `dest` (a UDP connect sends nothing). */
export async function sourceAddressTowards(dest: string, family: IPFamily): Promise<string | undefined> {
  const host = dest.replace(/^\[|\]$/g, '');
  const sock = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(53, host, () => resolve());
    });
    return sock.address().address;
  } catch {
    return undefined;
  } finally {
    sock.close();
  }
}
