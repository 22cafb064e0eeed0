// Calico's IPAM annotations on pods and namespaces (calico-internals.md §4.4), parsed for the
// CNI path (the one parser: CNI and IPAM both read annotations through it):
//   cni.projectcalico.org/ipv4pools  '["pool-a", "10.1.0.0/16"]'   pools by name or CIDR
//   cni.projectcalico.org/ipv6pools  '["pool-v6"]'
//   cni.projectcalico.org/ipAddrs    '["10.1.0.7", "fd00::7"]'     fixed addresses, one per family
// Pool precedence: pod annotation > namespace annotation > CNI config ipv4_pools/ipv6_pools >
// automatic choice. An empty annotation value counts as absent. Errors name the annotation, its
// owner and what was expected.

import { type IPAddr, type IPFamily, formatIP, parseIP, tryParseCIDR } from '../ip/index.js';

export const ANNOTATION_IPV4_POOLS = 'cni.projectcalico.org/ipv4pools';
export const ANNOTATION_IPV6_POOLS = 'cni.projectcalico.org/ipv6pools';
export const ANNOTATION_IP_ADDRS = 'cni.projectcalico.org/ipAddrs';

export class AnnotationError extends Error {
  override readonly name = 'AnnotationError';
  readonly code = 'InvalidAnnotation';
  constructor(readonly annotation: string, readonly owner: string, reason: string) {
    super(`annotation ${annotation} on ${owner}: ${reason}`);
  }
}

function stringList(value: string, annotation: string, owner: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new AnnotationError(annotation, owner, `${JSON.stringify(value)} is not JSON; expected a list such as '["name-or-cidr"]'`);
  }
  if (!Array.isArray(parsed)) throw new AnnotationError(annotation, owner, `expected a JSON list of strings, got ${JSON.stringify(parsed)}`);
  return parsed.map((x, i) => {
    if (typeof x !== 'string' || x.trim() === '') throw new AnnotationError(annotation, owner, `entry ${i} (${JSON.stringify(x)}) is not a non-empty string`);
    return x.trim();
  });
}

/** Pool names or CIDRs of one family; a CIDR of the other family is an error. */
export function parsePoolsAnnotation(value: string, family: IPFamily, owner: string): string[] {
  const annotation = family === 4 ? ANNOTATION_IPV4_POOLS : ANNOTATION_IPV6_POOLS;
  const list = stringList(value, annotation, owner);
  for (const ref of list) {
    if (!ref.includes('/')) continue;
    const c = tryParseCIDR(ref);
    if (!c) throw new AnnotationError(annotation, owner, `"${ref}" is neither a pool name nor a valid CIDR`);
    if (c.family !== family) throw new AnnotationError(annotation, owner, `"${ref}" is an IPv${c.family} CIDR; this annotation takes IPv${family} pools`);
  }
  return list;
}

/** Fixed addresses: valid IPs, at most one per family. */
export function parseIpAddrsAnnotation(value: string, owner: string): IPAddr[] {
  const list = stringList(value, ANNOTATION_IP_ADDRS, owner);
  const out: IPAddr[] = [];
  for (const text of list) {
    let a: IPAddr;
    try {
      a = parseIP(text);
    } catch (e) {
      throw new AnnotationError(ANNOTATION_IP_ADDRS, owner, (e as Error).message);
    }
    const other = out.find((x) => x.family === a.family);
    if (other) throw new AnnotationError(ANNOTATION_IP_ADDRS, owner, `more than one IPv${a.family} address (${formatIP(other)}, ${text}); give at most one per family`);
    out.push(a);
  }
  if (out.length === 0) throw new AnnotationError(ANNOTATION_IP_ADDRS, owner, 'the list is empty');
  return out;
}

export interface IpamAnnotationRequest {
  readonly ipv4Pools?: string[];
  readonly ipv6Pools?: string[];
  readonly ipAddrs?: IPAddr[];
}

type Annotations = Readonly<Record<string, string>> | undefined;

/**
 * What a pod's IPAM request says, applying Calico's precedence for pools: the pod's annotation,
 * else its namespace's, else the CNI config's lists. Absent means "choose automatically".
 */
export function resolveIpamAnnotations(
  pod: Annotations,
  podOwner: string,
  namespace: Annotations,
  namespaceOwner: string,
  cniConfig: { ipv4Pools?: readonly string[]; ipv6Pools?: readonly string[] } = {},
): IpamAnnotationRequest {
  const pools = (family: IPFamily): string[] | undefined => {
    const key = family === 4 ? ANNOTATION_IPV4_POOLS : ANNOTATION_IPV6_POOLS;
    const podValue = pod?.[key];
    if (podValue !== undefined && podValue !== '') return parsePoolsAnnotation(podValue, family, podOwner);
    const nsValue = namespace?.[key];
    if (nsValue !== undefined && nsValue !== '') return parsePoolsAnnotation(nsValue, family, namespaceOwner);
    const conf = family === 4 ? cniConfig.ipv4Pools : cniConfig.ipv6Pools;
    return conf && conf.length > 0 ? [...conf] : undefined;
  };
  const v4 = pools(4);
  const v6 = pools(6);
  const addrs = pod?.[ANNOTATION_IP_ADDRS];
  return {
    ...(v4 ? { ipv4Pools: v4 } : {}),
    ...(v6 ? { ipv6Pools: v6 } : {}),
    ...(addrs !== undefined && addrs !== '' ? { ipAddrs: parseIpAddrsAnnotation(addrs, podOwner) } : {}),
  };
}
