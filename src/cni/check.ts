// CHECK (reference/cni-spec.md §3): compare what prevResult says the container has with what
// the kernel shows, and say precisely what is missing. Pure: observations come in as data.
//
// Checked: the container interface exists, is up and has prevResult's MAC (when given); every
// address prevResult assigns to it is on it; every route in prevResult is in the container (by
// destination, and gateway when given — later plugins may add routes, so extras are fine); the
// host side exists, is up, has MAC ee:ee:ee:ee:ee:ee and a route to each address.

import { formatIP } from '../ip/index.js';
import { type CniResult, containerAddresses, parseAddressWithPrefix } from './result.js';
import { HOST_SIDE_MAC, type ObservedSide } from './veth.js';

function sameAddress(a: string, b: string): boolean {
  const pa = parseAddressWithPrefix(a);
  const pb = parseAddressWithPrefix(b);
  return !!pa && !!pb && pa.prefix === pb.prefix && pa.ip.family === pb.ip.family && pa.ip.value === pb.ip.value;
}

function canonicalDst(dst: string): string {
  const p = parseAddressWithPrefix(dst);
  return p ? `${formatIP(p.ip)}/${p.prefix}` : dst;
}

/** The list of discrepancies; empty means the workload matches prevResult. */
export function checkWorkload(opts: {
  prevResult: CniResult;
  ifname: string;
  hostIfname: string;
  container: ObservedSide;
  host: ObservedSide;
}): string[] {
  const problems: string[] = [];
  const { prevResult, ifname, hostIfname, container, host } = opts;
  const link = container.link;
  const expectedIf = (prevResult.interfaces ?? []).find((i) => i.name === ifname && i.sandbox);
  if (!link) {
    problems.push(`interface ${ifname} does not exist in the container`);
  } else {
    if (!link.up) problems.push(`interface ${ifname} in the container is down`);
    if (expectedIf?.mac && expectedIf.mac.toLowerCase() !== link.mac.toLowerCase()) {
      problems.push(`interface ${ifname} has MAC ${link.mac}, prevResult says ${expectedIf.mac}`);
    }
  }
  const addresses = containerAddresses(prevResult, ifname);
  for (const ip of addresses) {
    if (link && !link.addresses.some((a) => sameAddress(a, ip.address))) {
      problems.push(`address ${ip.address} is not on ${ifname} (it has ${link.addresses.join(', ') || 'none'})`);
    }
  }
  for (const r of prevResult.routes ?? []) {
    const want = canonicalDst(r.dst);
    const found = container.routes.filter((o) => canonicalDst(o.dst) === want);
    if (found.length === 0) problems.push(`route to ${r.dst} is missing in the container`);
    else if (r.gw && !found.some((o) => o.gateway === r.gw)) problems.push(`route to ${r.dst} does not go via ${r.gw} (it goes via ${found.map((o) => o.gateway ?? 'no gateway').join(', ')})`);
  }
  if (!host.link) {
    problems.push(`host interface ${hostIfname} does not exist`);
  } else {
    if (!host.link.up) problems.push(`host interface ${hostIfname} is down`);
    if (host.link.mac.toLowerCase() !== HOST_SIDE_MAC) problems.push(`host interface ${hostIfname} has MAC ${host.link.mac}, expected ${HOST_SIDE_MAC}`);
    for (const ip of addresses) {
      const p = parseAddressWithPrefix(ip.address);
      if (!p) continue;
      const hostRoute = `${formatIP(p.ip)}/${p.ip.family === 4 ? 32 : 128}`;
      if (!host.routes.some((r) => canonicalDst(r.dst) === hostRoute)) problems.push(`host route ${hostRoute} dev ${hostIfname} is missing`);
    }
  }
  return problems;
}
