// The workload's veth pair, programmed the way Calico's CNI plugin does it
// (calico-internals.md §5.2 step 6-7):
// - host side `cali…` with MAC ee:ee:ee:ee:ee:ee, proxy_arp=1, neigh proxy_delay=0,
//   forwarding=1, route_localnet=1 (IPv6: proxy_ndp=1, accept_ra=0, accept_dad=0, forwarding=1),
//   and a `<ip>/32` (and /128) route `dev cali… scope link`;
// - container side CNI_IFNAME with the address as /32 and /128, a link-scope route to
//   169.254.1.1 then the IPv4 default route via it (answered by proxy-ARP on the host side), and
//   the IPv6 default route via the host side's link-local fe80::ecee:eeff:feee:eeee (the EUI-64
//   of ee:ee:ee:ee:ee:ee, so it is known without waiting for it).
//
// Kernel programming goes through `ip -batch -` on the host and `ip -n NAME -batch -` (netns
// under /run/netns) or `nsenter --net=PATH ip -batch -` in the container: two processes per
// ADD. Host sysctls are written to /proc/sys by this process, which lives in the host netns.
// The container MAC is chosen here (random, locally administered) so it is known without asking
// the kernel. Planning is pure (planSetUp); applying it is the only I/O.

import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { CommandError, mustRun, runCommand } from './exec.js';

export const HOST_SIDE_MAC = 'ee:ee:ee:ee:ee:ee';
export const IPV4_GATEWAY = '169.254.1.1';
export const IPV6_GATEWAY = 'fe80::ecee:eeff:feee:eeee';

export interface WorkloadInterface {
  readonly hostIfname: string;
  readonly containerIfname: string;
  /** Path of the container's network namespace (CNI_NETNS). */
  readonly netns: string;
  readonly mtu: number;
  readonly containerMac: string;
  /** Bare addresses; the container gets them as /32 and /128. */
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** container_settings.allow_ip_forwarding: ip_forward=1 inside the container. */
  readonly allowIpForwarding: boolean;
}

export interface SetUpPlan {
  readonly hostBatch: string;
  readonly hostSysctls: readonly (readonly [string, string])[];
  readonly containerBatch: string;
  /** Paths relative to /proc/sys inside the container netns. */
  readonly containerSysctls: readonly (readonly [string, string])[];
}

export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The commands and sysctl writes that give `w` its interfaces. */
export function planSetUp(w: WorkloadInterface): SetUpPlan {
  const h = w.hostIfname;
  const c = w.containerIfname;
  const host: string[] = [];
  host.push(`link add ${h} mtu ${w.mtu} address ${HOST_SIDE_MAC} type veth peer name ${c} mtu ${w.mtu} address ${w.containerMac} netns ${w.netns}`);
  host.push(`link set ${h} up`);
  if (w.ipv4) host.push(`route add ${w.ipv4}/32 dev ${h} scope link`);
  if (w.ipv6) host.push(`route add ${w.ipv6}/128 dev ${h} scope link`);

  const sysctls: [string, string][] = [
    [`/proc/sys/net/ipv4/conf/${h}/proxy_arp`, '1'],
    [`/proc/sys/net/ipv4/neigh/${h}/proxy_delay`, '0'],
    [`/proc/sys/net/ipv4/conf/${h}/forwarding`, '1'],
    [`/proc/sys/net/ipv4/conf/${h}/route_localnet`, '1'],
  ];
  if (w.ipv6) {
    sysctls.push(
      [`/proc/sys/net/ipv6/conf/${h}/disable_ipv6`, '0'],
      [`/proc/sys/net/ipv6/conf/${h}/accept_dad`, '0'],
      [`/proc/sys/net/ipv6/conf/${h}/accept_ra`, '0'],
      [`/proc/sys/net/ipv6/conf/${h}/proxy_ndp`, '1'],
      [`/proc/sys/net/ipv6/conf/${h}/forwarding`, '1'],
    );
  }

  const container: string[] = [`link set ${c} up`];
  if (w.ipv4) {
    container.push(`addr add ${w.ipv4}/32 dev ${c}`, `route add ${IPV4_GATEWAY}/32 dev ${c} scope link`, `route add default via ${IPV4_GATEWAY} dev ${c}`);
  }
  if (w.ipv6) container.push(`addr add ${w.ipv6}/128 dev ${c} nodad`, `route add ::/0 via ${IPV6_GATEWAY} dev ${c}`);
  const containerSysctls: [string, string][] = [];
  if (w.ipv6) containerSysctls.push([`net/ipv6/conf/${c}/disable_ipv6`, '0'], [`net/ipv6/conf/${c}/accept_dad`, '0']);
  if (w.allowIpForwarding) containerSysctls.push(['net/ipv4/ip_forward', '1']);
  return { hostBatch: host.join('\n') + '\n', hostSysctls: sysctls, containerBatch: container.join('\n') + '\n', containerSysctls };
}

/** `ip` running inside the container's netns: `ip -n NAME` when the runtime used /run/netns. */
export function containerIp(netns: string): string[] {
  const m = /^\/(?:var\/)?run\/netns\/([^/]+)$/.exec(netns);
  return m ? ['ip', '-n', m[1]!] : ['nsenter', `--net=${netns}`, 'ip'];
}

/** Whether a link of this name exists in this process's network namespace. */
export function hostLinkExists(name: string): boolean {
  return existsSync(`/proc/sys/net/ipv4/conf/${name}`);
}

export class DataplaneError extends Error {
  override readonly name = 'DataplaneError';
  readonly code = 'Dataplane';
}

export async function setUpWorkloadInterface(w: WorkloadInterface): Promise<void> {
  if (hostLinkExists(w.hostIfname)) {
    // A stale host link of this workload (an earlier sandbox). It may be vanishing on its own as
    // the kernel destroys that sandbox's netns, so "already gone" is fine here.
    const r = await runCommand(['ip', 'link', 'del', w.hostIfname]);
    if (r.code !== 0 && !MISSING_LINK.test(r.stderr)) throw new DataplaneError(`deleting stale host link ${w.hostIfname} failed: ${r.stderr.trim()}`);
  }
  const plan = planSetUp(w);
  try {
    await mustRun(['ip', '-batch', '-'], plan.hostBatch);
  } catch (err) {
    if (err instanceof CommandError && /File exists/.test(err.result.stderr)) {
      throw new DataplaneError(
        `programming host side ${w.hostIfname} failed: a route or link for this workload already exists on another interface (${err.result.stderr.trim()})`,
        { cause: err },
      );
    }
    throw new DataplaneError(`programming host side ${w.hostIfname} failed: ${(err as Error).message}`, { cause: err });
  }
  for (const [path, value] of plan.hostSysctls) writeFileSync(path, value);
  try {
    if (plan.containerSysctls.length === 0) {
      await mustRun([...containerIp(w.netns), '-batch', '-'], plan.containerBatch);
    } else {
      // Sysctls inside the container need a process in its netns; one shell does them and then
      // becomes `ip`. Paths and values are ours (interface names are validated), passed as args.
      const script = 'while [ $# -gt 0 ]; do echo "$2" > "/proc/sys/$1" || exit 1; shift 2; done; exec ip -batch -';
      await mustRun(['nsenter', `--net=${w.netns}`, 'sh', '-c', script, 'sh', ...plan.containerSysctls.flat()], plan.containerBatch);
    }
  } catch (err) {
    throw new DataplaneError(`programming ${w.containerIfname} in ${w.netns} failed: ${(err as Error).message}`, { cause: err });
  }
}

const MISSING_LINK = /Cannot find device|does not exist|No such device/;

/**
 * Removes the workload's interfaces. Deleting the container side removes the pair; the host side
 * is deleted only when `hostIfname` is given (the caller knows the link is this workload's, not
 * a newer sandbox's of the same pod). Anything already gone is success.
 */
export async function tearDownWorkloadInterface(opts: { containerIfname: string; netns?: string; hostIfname?: string }): Promise<void> {
  if (opts.netns && existsSync(opts.netns)) {
    const r = await runCommand([...containerIp(opts.netns), 'link', 'del', opts.containerIfname]);
    if (r.code !== 0 && !MISSING_LINK.test(r.stderr)) {
      throw new DataplaneError(`deleting ${opts.containerIfname} in ${opts.netns} failed: ${r.stderr.trim()}`);
    }
  }
  if (opts.hostIfname && hostLinkExists(opts.hostIfname)) {
    const r = await runCommand(['ip', 'link', 'del', opts.hostIfname]);
    if (r.code !== 0 && !MISSING_LINK.test(r.stderr)) throw new DataplaneError(`deleting host link ${opts.hostIfname} failed: ${r.stderr.trim()}`);
  }
}

export interface ObservedLink {
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** "10.0.0.5/32", "fd00::5/128" (link-local addresses left out). */
  readonly addresses: string[];
}

export interface ObservedRoute {
  /** Always with a prefix: "0.0.0.0/0", "10.0.0.5/32". */
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
}

export interface ObservedSide {
  readonly link?: ObservedLink;
  readonly routes: ObservedRoute[];
}

interface IpJsonLink {
  ifname?: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}
interface IpJsonRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
}

function normalizeDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

/** Parses the three JSON lines printed by the inspection script (link, IPv4 routes, IPv6 routes). */
export function parseObservation(stdout: string): ObservedSide {
  const [linkLine, r4Line, r6Line] = stdout.split('\n');
  const links = JSON.parse(linkLine || 'null') as IpJsonLink[] | null;
  const l = links?.[0];
  const link: ObservedLink | undefined = l?.ifname
    ? {
        name: l.ifname,
        mac: l.address ?? '',
        mtu: l.mtu ?? 0,
        up: (l.flags ?? []).includes('UP'),
        addresses: (l.addr_info ?? [])
          .filter((a) => a.local && a.scope !== 'link')
          .map((a) => `${a.local}/${a.prefixlen}`),
      }
    : undefined;
  const routes: ObservedRoute[] = [];
  for (const [line, family] of [[r4Line, 4], [r6Line, 6]] as const) {
    for (const r of (JSON.parse(line || 'null') as IpJsonRoute[] | null) ?? []) {
      if (!r.dst) continue;
      routes.push({ dst: normalizeDst(r.dst, family), ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.dev ? { dev: r.dev } : {}) });
    }
  }
  return { ...(link ? { link } : {}), routes };
}

const INSPECT = 'ip -j addr show dev "$1" 2>/dev/null || echo null; ip -j route show $2 2>/dev/null || echo null; ip -6 -j route show $2 2>/dev/null || echo null';

/** The host side (link and the routes through it) and the container side (link and all routes). */
export async function observeWorkload(opts: { hostIfname: string; containerIfname: string; netns: string }): Promise<{ host: ObservedSide; container: ObservedSide }> {
  const host = await mustRun(['sh', '-c', INSPECT, 'sh', opts.hostIfname, `dev ${opts.hostIfname}`]);
  const container = existsSync(opts.netns)
    ? await mustRun(['nsenter', `--net=${opts.netns}`, 'sh', '-c', INSPECT, 'sh', opts.containerIfname, ''])
    : { stdout: 'null\nnull\nnull\n' };
  return { host: parseObservation(host.stdout), container: parseObservation(container.stdout) };
}
