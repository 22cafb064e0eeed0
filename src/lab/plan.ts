// The lab's layout, computed from its name and size: namespaces, links, underlay addresses, paths.
//
// Pure. Everything the lab creates on the host is named from here, with a `tabby-<lab>-` prefix
// for network namespaces, so a lab's objects can be found (and removed) from its name alone.
// Lab names are short lower-case alphanumerics without "-", so one lab's prefix never matches
// another lab's names. Addresses come only from the benchmarking ranges 198.18.0.0/15 and
// 2001:2::/48 (RFC 2544, RFC 5180): never from the host's own networks.
//
// Underlay: a switch namespace holds one bridge per subnet and routes between them.
//   subnet 0: 198.18.0.0/24, 2001:2::/64      switch .1/::1, etcd .2/::2, nodes .(10+i)
//   subnet 1: 198.19.0.0/24, 2001:2:0:1::/64  switch .1/::1, nodes .(10+i) (with --subnets 2)
// Node i (1-based) sits on subnet (i-1) mod subnets, so with two subnets nodes alternate.
// The external host (.3 on subnet 0) stands for the world outside the cluster: nodes reach it, it
// has no route to any pod CIDR (its default route leads to the switch, which has none either), so
// a pod reaches it only when natOutgoing rewrites the pod's address to its node's.
//
// Encapsulation (the words of Calico's operator Installation): VXLAN → the default pools'
// vxlanMode Always, VXLANCrossSubnet → CrossSubnet, None → Never (routes between nodes then come
// from BGP: every node runs the BGP daemon, full mesh, or route reflectors with --route-reflectors;
// --tor adds a router namespace `tor` (.4 on subnet 0, AS 65010) peered with every node).

import { LabError } from './errors.js';

export const STATE_ROOT = '/run/tabby/lab';
export const DEFAULT_LAB = 'lab';
export const MAX_NODES = 50;
export const ETCD_CLIENT_PORT = 2379;
/** etcd's unix socket, relative to the state dir: etcd names it `<host>:<port>` of its unix URL. */
export const ETCD_SOCKET = 'etcd.sock:2379';

/** The directories a node sees as its own: host path inside the node → name of its per-node source. */
export const NODE_DIRS: readonly { readonly target: string; readonly source: string }[] = [
  { target: '/etc/cni/net.d', source: 'etc-cni-net.d' },
  { target: '/opt/cni/bin', source: 'opt-cni-bin' },
  { target: '/var/lib/tabby', source: 'var-lib-tabby' },
  { target: '/var/log/tabby', source: 'var-log-tabby' },
  // Last: it hides the lab's state dir (under /run/tabby/lab) inside the node, sources included.
  { target: '/run/tabby', source: 'run-tabby' },
];

export const DEFAULT_POOLS = [
  { name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', blockSize: 26, natOutgoing: true },
  { name: 'default-ipv6-ippool', cidr: 'fd00:10:244::/48', blockSize: 122, natOutgoing: false },
] as const;

export const ENCAPSULATIONS = ['VXLAN', 'VXLANCrossSubnet', 'None'] as const;
export type Encapsulation = (typeof ENCAPSULATIONS)[number];
export const DEFAULT_ENCAPSULATION: Encapsulation = 'None';

/** The default pools' vxlanMode for an encapsulation. */
export function vxlanModeOf(e: Encapsulation): 'Always' | 'CrossSubnet' | 'Never' {
  return e === 'VXLAN' ? 'Always' : e === 'VXLANCrossSubnet' ? 'CrossSubnet' : 'Never';
}

export function parseEncapsulation(text: string): Encapsulation {
  const e = ENCAPSULATIONS.find((x) => x.toLowerCase() === text.toLowerCase());
  if (!e) throw new LabError('InvalidArgument', `--encapsulation ${text} is not supported: use ${ENCAPSULATIONS.join(', ')}`);
  return e;
}

export interface SubnetPlan {
  readonly index: number;
  readonly cidr4: string;
  readonly cidr6: string;
  readonly gateway4: string;
  readonly gateway6: string;
  /** Bridge in the switch namespace. */
  readonly bridge: string;
}

export interface AttachmentPlan {
  readonly netns: string;
  readonly subnet: number;
  readonly address4: string;
  readonly address6: string;
  /** The veth end left in the switch namespace, enslaved to the subnet's bridge. */
  readonly switchPort: string;
}

export interface NodePlan extends AttachmentPlan {
  readonly name: string;
  readonly dir: string;
  readonly mountNs: string;
  readonly utsNs: string;
}

export interface LabPlan {
  readonly name: string;
  readonly stateDir: string;
  /** Directory of persistent namespace files; a private mount so they do not propagate. */
  readonly nsDir: string;
  readonly switchNetns: string;
  readonly subnets: readonly SubnetPlan[];
  readonly etcd: AttachmentPlan & { readonly dataDir: string; readonly endpoint: string; readonly socket: string };
  /** The external host: reachable from the nodes, no route to pods. */
  readonly external: AttachmentPlan;
  readonly encapsulation: Encapsulation;
  readonly nodes: readonly NodePlan[];
  /** --route-reflectors N: the first N nodes reflect routes and the mesh is off (Calico's docs). */
  readonly routeReflectors?: number;
  /** --tor: a top-of-rack router namespace peered with every node over eBGP. */
  readonly tor?: TorPlan;
}

export const TOR_FLAVOURS = ['bird', 'gobgp', 'frr'] as const;
export type TorFlavour = (typeof TOR_FLAVOURS)[number];
/** The ToR's AS (eBGP to the nodes' 64512) and the route reflectors' cluster ID. */
export const TOR_AS_NUMBER = 65010;
export const RR_CLUSTER_ID = '244.0.0.1';

export interface TorPlan extends NodePlan {
  readonly flavour: TorFlavour;
  readonly asNumber: number;
}

export function parseTorFlavour(text: string): TorFlavour {
  const f = TOR_FLAVOURS.find((x) => x === text.toLowerCase());
  if (!f) throw new LabError('InvalidArgument', `--tor ${text} is not supported: use ${TOR_FLAVOURS.join(', ')}`);
  return f;
}

export function checkLabName(name: string): string {
  if (!/^[a-z][a-z0-9]{0,11}$/.test(name)) {
    throw new LabError('InvalidArgument', `lab name ${JSON.stringify(name)} is not valid: use 1-12 lower-case letters and digits, starting with a letter (e.g. "lab", "demo2")`);
  }
  return name;
}

export const netnsPrefix = (lab: string): string => `tabby-${lab}-`;
export const stateDirOf = (lab: string): string => `${STATE_ROOT}/${lab}`;

function subnetPlan(index: number): SubnetPlan {
  return {
    index,
    cidr4: `198.${18 + index}.0.0/24`,
    cidr6: index === 0 ? '2001:2::/64' : `2001:2:0:${index}::/64`,
    gateway4: `198.${18 + index}.0.1`,
    gateway6: index === 0 ? '2001:2::1' : `2001:2:0:${index}::1`,
    bridge: `tabby-br${index}`,
  };
}

/** Host part `host` (written in decimal, read the same in both families) on subnet `s`. */
function hostAddresses(s: number, host: number): { address4: string; address6: string } {
  return { address4: `198.${18 + s}.0.${host}`, address6: s === 0 ? `2001:2::${host}` : `2001:2:0:${s}::${host}` };
}

export function planLab(name: string, nodeCount: number, subnetCount = 1, encapsulation: Encapsulation = DEFAULT_ENCAPSULATION, bgp: { routeReflectors?: number; tor?: TorFlavour } = {}): LabPlan {
  checkLabName(name);
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new LabError('InvalidArgument', `--nodes ${nodeCount} is out of range: a lab has 1 to ${MAX_NODES} nodes`);
  }
  if (subnetCount !== 1 && subnetCount !== 2) {
    throw new LabError('InvalidArgument', `--subnets ${subnetCount} is not supported: use 1 (one L2 underlay) or 2 (two subnets routed by the switch)`);
  }
  const stateDir = stateDirOf(name);
  const nsDir = `${stateDir}/ns`;
  const prefix = netnsPrefix(name);
  const nodes: NodePlan[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const nodeName = `node-${i}`;
    const subnet = (i - 1) % subnetCount;
    nodes.push({
      name: nodeName,
      netns: `${prefix}${nodeName}`,
      subnet,
      ...hostAddresses(subnet, 10 + i),
      switchPort: `tabby-${nodeName}`,
      dir: `${stateDir}/nodes/${nodeName}`,
      mountNs: `${nsDir}/${nodeName}.mnt`,
      utsNs: `${nsDir}/${nodeName}.uts`,
    });
  }
  const rr = bgp.routeReflectors ?? 0;
  if (!Number.isInteger(rr) || rr < 0 || rr > nodeCount) throw new LabError('InvalidArgument', `--route-reflectors ${rr} is out of range: 0 to the number of nodes (${nodeCount})`);
  if ((rr > 0 || bgp.tor) && encapsulation !== 'None') throw new LabError('InvalidArgument', `--route-reflectors and --tor need BGP: use them with --encapsulation None`);
  const tor: TorPlan | undefined = bgp.tor
    ? { name: 'tor', netns: `${prefix}tor`, subnet: 0, ...hostAddresses(0, 4), switchPort: 'tabby-tor', dir: `${stateDir}/tor`, mountNs: `${nsDir}/tor.mnt`, utsNs: `${nsDir}/tor.uts`, flavour: bgp.tor, asNumber: TOR_AS_NUMBER }
    : undefined;
  const etcdAddr = hostAddresses(0, 2);
  return {
    name,
    stateDir,
    nsDir,
    switchNetns: `${prefix}switch`,
    subnets: Array.from({ length: subnetCount }, (_, i) => subnetPlan(i)),
    etcd: {
      netns: `${prefix}etcd`,
      subnet: 0,
      ...etcdAddr,
      switchPort: 'tabby-etcd',
      dataDir: `${stateDir}/etcd`,
      endpoint: `http://${etcdAddr.address4}:${ETCD_CLIENT_PORT}`,
      socket: `${stateDir}/${ETCD_SOCKET}`,
    },
    external: { netns: `${prefix}external`, subnet: 0, ...hostAddresses(0, 3), switchPort: 'tabby-external' },
    encapsulation,
    nodes,
    ...(rr > 0 ? { routeReflectors: rr } : {}),
    ...(tor ? { tor } : {}),
  };
}

/**
 * The network namespace of a pod: `tabby-<lab>-<namespace>.<pod>`. Kubernetes namespaces are
 * DNS labels (no "."), so the first "." after the prefix separates the two unambiguously.
 */
export function podNetnsName(lab: string, namespace: string, pod: string): string {
  const name = `${netnsPrefix(lab)}${namespace}.${pod}`;
  if (name.length > 255) {
    throw new LabError('InvalidResource', `Pod ${namespace}/${pod}: namespace and name are too long together for a network namespace name (${name.length} > 255 characters)`);
  }
  return name;
}
