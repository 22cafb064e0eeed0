// The cluster renderer: Calico's BGP resources → this node's speaker configuration, the way
// Calico's confd renders bird.cfg / bird6.cfg (calico-internals.md §7). Pure and deterministic:
// the same state gives the same configuration, peers sorted by name.
//
// Rules (Calico's, as documented in docs networking/configuring/bgp.mdx and confd's templates):
// - local AS: Node spec.bgp.asNumber, else BGPConfiguration default asNumber, else 64512; router
//   ID: the node's IPv4 address (a hash of the node name when it has none); listen port and
//   bindMode: node.<name> BGPConfiguration over default;
// - mesh: when nodeToNodeMeshEnabled (default true) and this node is no route reflector, one peer
//   per other node with an address of the family, route reflectors excluded; the peer with the
//   greater address (compared as text, as confd's template does) connects, the other is passive;
//   password from nodeMeshPassword, restart time from nodeMeshMaxRestartTime;
// - BGPPeers: global when neither node nor nodeSelector is set; peerIP gives one peer,
//   peerSelector one per selected node (each with its own AS); reverse peerings unless
//   reversePeering Manual; globals first, a later peering to the same address is skipped;
// - route reflection: a node with routeReflectorClusterID is a reflector; an iBGP peer whose
//   cluster ID differs (or is empty) is its client;
// - next hop: nextHopMode Self/Keep; the legacy keepOriginalNextHop means Keep on eBGP only;
// - originated: the node's confirmed affine blocks (/32 and /128 blocks skipped), addresses it
//   holds in other nodes' blocks as /32 or /128, service ranges from serviceClusterIPs /
//   serviceExternalIPs / serviceLoadBalancerIPs (unless the node carries
//   node.kubernetes.io/exclude-from-external-load-balancers=true); prefixes of disabled or
//   disableBGPExport pools are never exported; prefixAdvertisements add communities to every
//   originated prefix inside their cidr.
// - ignoredInterfaces: in Calico the interfaces BIRD's direct protocol skips when it reads device
//   routes. This speaker reads no device or kernel routes: all it announces comes from the
//   datastore (blocks, borrowed addresses, service ranges), so the field has nothing to exclude
//   from; it is accepted and named as having no effect, and changes nothing in the configuration.
// - password (password.secretKeyRef / nodeMeshPassword) names the secret key to read; ttlSecurity
//   passes on as the peer's hop count (both done through tabby-sockopt by the speaker).
// What this speaker cannot do is said, never faked: a password whose secretKeyRef names no secret
// is refused with the reason; BGPFilter rules matching on fields the speaker's filters lack are
// listed as problems.

import { type CIDR, type IPAddr, cidr, cidrContains, cidrContainsIP, formatCIDR, formatIP, tryParseCIDR, tryParseIP } from '../../ip/index.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, IPPool, Node } from '../../model/index.js';
import { parseSelector } from '../../selector/index.js';
import { parseDuration } from '../../util/index.js';
import type { FilterRule, PrefixFilter } from '../rib/index.js';
import type { LargeCommunity } from '../wire/index.js';
import {
  BFD_ANNOTATION, type ClusterBgpState, type ClusterPeer, DEFAULT_AS_NUMBER, DEFAULT_LISTEN_PORT, DEFAULT_RESTART_TIME, type NodeBgpConfig,
  type OriginatedPrefix, type PeerType, type RefusedPeer,
} from './types.js';

type Spec<T extends { spec?: unknown }> = NonNullable<T['spec']>;
type ConfigSpec = Spec<BGPConfiguration>;

const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
const TYPE_PREFIX: Record<PeerType, string> = { 'node-to-node mesh': 'Mesh', global: 'Global', 'node specific': 'Node' };

interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ipv4?: IPAddr;
  readonly ipv6?: IPAddr;
  readonly asNumber?: number;
  readonly clusterID?: string;
}

const stripPrefix = (s: string | undefined): IPAddr | undefined => (s ? tryParseIP(s.replace(/\/\d+$/, '')) : undefined);
const asn = (v: number | string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const t = String(v);
  const m = /^(\d+)\.(\d+)$/.exec(t);
  const n = m ? Number(m[1]) * 65536 + Number(m[2]) : Number(t);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

function nodeFacts(n: Node): NodeFacts {
  const b = n.spec?.bgp;
  const ipv4 = stripPrefix(b?.ipv4Address);
  const ipv6 = stripPrefix(b?.ipv6Address);
  const as = asn(b?.asNumber);
  return {
    name: n.metadata.name ?? '',
    labels: n.metadata.labels ?? {},
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    ...(as !== undefined ? { asNumber: as } : {}),
    ...(b?.routeReflectorClusterID ? { clusterID: b.routeReflectorClusterID } : {}),
  };
}

/** FNV-1a of the node name as a router ID (Calico's CALICO_ROUTER_ID=hash, for IPv6-only nodes). */
export function hashRouterID(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(name)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return [24, 16, 8, 0].map((s) => (h >>> s) & 255).join('.');
}

function seconds(text: string | undefined, where: string, problems: string[]): number | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return Math.ceil(parseDuration(text, where) / 1000);
  } catch (e) {
    problems.push((e as Error).message);
    return undefined;
  }
}

/** Community text ("aa:nn" or "aa:nn:mm") → standard number or large community. */
function communityValue(text: string): number | LargeCommunity | undefined {
  const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  if (m[3] !== undefined) return { global: Number(m[1]), local1: Number(m[2]), local2: Number(m[3]) };
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

function filterRules(f: BGPFilter, field: 'importV4' | 'exportV4' | 'importV6' | 'exportV6', problems: string[]): FilterRule[] {
  const out: FilterRule[] = [];
  (f.spec?.[field] ?? []).forEach((r, i) => {
    const where = `BGPFilter ${f.metadata.name} spec.${field}[${i}]`;
    const unsupported = (['source', 'interface', 'peerType', 'communities', 'asPathPrefix', 'priority', 'operations'] as const).filter((k) => r[k] !== undefined);
    if (unsupported.length > 0) {
      problems.push(`${where}: ${unsupported.join(', ')} ${unsupported.length > 1 ? 'are' : 'is'} not supported by Tabby's speaker (it filters on cidr, matchOperator and prefixLength); the rule is ignored`);
      return;
    }
    const rule: { -readonly [K in keyof FilterRule]: FilterRule[K] } = { action: r.action };
    if (r.cidr) {
      const c = tryParseCIDR(r.cidr, { lenient: true });
      if (!c) {
        problems.push(`${where}.cidr: "${r.cidr}" is not a CIDR; the rule is ignored`);
        return;
      }
      rule.cidr = c;
    }
    if (r.matchOperator) rule.matchOperator = r.matchOperator;
    if (r.prefixLength) rule.prefixLength = { ...(r.prefixLength.min !== undefined ? { min: r.prefixLength.min } : {}), ...(r.prefixLength.max !== undefined ? { max: r.prefixLength.max } : {}) };
    out.push(rule);
  });
  return out;
}

/** Merges the default BGPConfiguration with node.<name>'s (fields set there win). */
function mergedConfig(state: ClusterBgpState): { spec: ConfigSpec; def?: BGPConfiguration } {
  const def = state.configurations.find((c) => c.metadata.name === 'default');
  const mine = state.configurations.find((c) => c.metadata.name === `node.${state.nodename}`);
  const spec: Record<string, unknown> = { ...(def?.spec ?? {}) };
  for (const [k, v] of Object.entries(mine?.spec ?? {})) if (v !== undefined) spec[k] = v;
  return { spec: spec as ConfigSpec, ...(def ? { def } : {}) };
}

export function renderNodeBgp(state: ClusterBgpState): NodeBgpConfig {
  const problems: string[] = [];
  const { spec: cfg, def } = mergedConfig(state);
  const facts = state.nodes.map(nodeFacts).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const me = facts.find((n) => n.name === state.nodename);
  const globalAs = asn(cfg.asNumber) ?? DEFAULT_AS_NUMBER;
  const localAs = me?.asNumber ?? globalAs;
  const listenPortOf = (node: string): number => {
    const own = state.configurations.find((c) => c.metadata.name === `node.${node}`)?.spec?.listenPort;
    return own ?? def?.spec?.listenPort ?? DEFAULT_LISTEN_PORT;
  };
  const base = {
    asNumber: localAs,
    routerID: me?.ipv4 ? formatIP(me.ipv4) : hashRouterID(state.nodename),
    listenPort: listenPortOf(state.nodename),
    logSeverityScreen: cfg.logSeverityScreen ?? 'Info',
    ...(me?.clusterID ? { routeReflectorClusterID: me.clusterID } : {}),
    ...(me?.ipv4 ? { ipv4Address: me.ipv4 } : {}),
    ...(me?.ipv6 ? { ipv6Address: me.ipv6 } : {}),
  };
  if (!me || (!me.ipv4 && !me.ipv6)) {
    problems.push(me ? `Node ${state.nodename} has no spec.bgp.ipv4Address or ipv6Address: no BGP peerings` : `no Node resource named ${state.nodename}: no BGP peerings`);
    return { enabled: false, ...base, peers: [], refused: [], originate: [], problems };
  }
  if (cfg.ignoredInterfaces?.length) {
    const from = state.configurations.some((c) => c.metadata.name === `node.${state.nodename}` && c.spec?.ignoredInterfaces) ? `node.${state.nodename}` : 'default';
    problems.push(`BGPConfiguration ${from} spec.ignoredInterfaces (${cfg.ignoredInterfaces.join(', ')}) has no effect: Tabby's speaker reads no device or kernel routes (what it announces comes from IPAM blocks and service ranges in the datastore), so there is no interface scan to exclude them from`);
  }
  if (cfg.bindMode === 'NodeIP') Object.assign(base, { listenAddress: formatIP(me.ipv4 ?? me.ipv6!) });

  const filtersByName = new Map(state.filters.map((f) => [f.metadata.name, f]));
  const peers: ClusterPeer[] = [];
  const refused: RefusedPeer[] = [];
  const taken = new Set<string>();
  const myAddr = (family: 4 | 6): IPAddr | undefined => (family === 4 ? me.ipv4 : me.ipv6);
  const nodeByAddress = (a: IPAddr): NodeFacts | undefined => facts.find((n) => (a.family === 4 ? n.ipv4 : n.ipv6)?.value === a.value && n.name !== me.name);

  interface Wanted {
    peerType: PeerType;
    source?: BGPPeer;
    node?: NodeFacts;
    address: IPAddr;
    port?: number;
    asNumber: number;
  }
  const add = (w: Wanted): void => {
    const mine = myAddr(w.address.family);
    if (mine && mine.value === w.address.value) return; // never peer with ourselves
    const port = w.port ?? (w.node ? listenPortOf(w.node.name) : DEFAULT_LISTEN_PORT);
    const key = `${w.address.family}/${w.address.value}/${port}`;
    if (taken.has(key)) return;
    taken.add(key);
    const ip = formatIP(w.address);
    const name = `${TYPE_PREFIX[w.peerType]}_${ip.replace(/[.:]/g, '_')}${port !== DEFAULT_LISTEN_PORT ? `_port_${port}` : ''}`;
    const s = w.source?.spec;
    const srcName = w.source?.metadata.name;
    const where = srcName ? `BGPPeer ${srcName}` : 'BGPConfiguration default (mesh)';
    const ref = (reason: string) => refused.push({ name, peerType: w.peerType, ...(srcName ? { source: srcName } : {}), address: w.address, reason });
    const password = w.peerType === 'node-to-node mesh' ? cfg.nodeMeshPassword : s?.password;
    const secret = password?.secretKeyRef;
    if (secret && !secret.name) {
      ref(`${where} sets a password whose secretKeyRef has no name: say which secret holds key ${secret.key}`);
      return;
    }
    const internal = w.asNumber === localAs;
    const peerCluster = w.node?.clusterID;
    const rrClient = internal && me.clusterID !== undefined && peerCluster !== me.clusterID;
    const nextHopMode = s?.nextHopMode ?? (s?.keepOriginalNextHop && !internal ? 'Keep' : 'Auto');
    const restart = w.peerType === 'node-to-node mesh' ? seconds(cfg.nodeMeshMaxRestartTime, 'nodeMeshMaxRestartTime', problems) : seconds(s?.maxRestartTime, `${where} spec.maxRestartTime`, problems);
    const names = s?.filters ?? [];
    const chosen = names.flatMap((n) => {
      const f = filtersByName.get(n);
      if (!f) problems.push(`${where} spec.filters: no BGPFilter named ${n}; ignored`);
      return f ? [f] : [];
    });
    const pf = (imp: boolean): PrefixFilter => ({
      v4: chosen.flatMap((f) => filterRules(f, imp ? 'importV4' : 'exportV4', problems)),
      v6: chosen.flatMap((f) => filterRules(f, imp ? 'importV6' : 'exportV6', problems)),
    });
    const useNodeIP = (s?.sourceAddress ?? 'UseNodeIP') === 'UseNodeIP';
    const bfdText = w.peerType === 'node-to-node mesh' ? def?.metadata.annotations?.[BFD_ANNOTATION] : w.source?.metadata.annotations?.[BFD_ANNOTATION];
    peers.push({
      name,
      peerType: w.peerType,
      ...(srcName ? { source: srcName } : {}),
      ...(w.node ? { node: w.node.name } : {}),
      address: w.address,
      port,
      asNumber: w.asNumber,
      ...(useNodeIP && mine ? { localAddress: mine } : {}),
      // confd's template: `if gt $onode_ip $node_ip` → passive (text comparison).
      passive: w.peerType === 'node-to-node mesh' && ip > formatIP(mine!),
      routeReflectorClient: rrClient,
      nextHopMode,
      maxRestartTime: restart ?? DEFAULT_RESTART_TIME,
      keepaliveTime: seconds(s?.keepaliveTime, `${where} spec.keepaliveTime`, problems) ?? 0,
      importFilter: pf(true),
      exportFilter: pf(false),
      filters: names,
      bfd: bfdText === 'true',
      ...(secret?.name ? { password: { name: secret.name, key: secret.key } } : {}),
      ...(s?.ttlSecurity ? { ttlSecurity: s.ttlSecurity } : {}),
    });
  };

  // Mesh first: confd renders it before explicit peers.
  const meshOn = cfg.nodeToNodeMeshEnabled ?? true;
  if (meshOn && me.clusterID === undefined) {
    for (const other of facts) {
      if (other.name === me.name || other.clusterID !== undefined) continue;
      for (const f of [4, 6] as const) {
        const a = f === 4 ? other.ipv4 : other.ipv6;
        if (a && myAddr(f)) add({ peerType: 'node-to-node mesh', node: other, address: a, asNumber: other.asNumber ?? globalAs });
      }
    }
  }

  const appliesTo = (p: BGPPeer, n: NodeFacts): boolean => {
    const s = p.spec ?? {};
    if (s.node) return s.node === n.name;
    if (s.nodeSelector) return selects(s.nodeSelector, n, `BGPPeer ${p.metadata.name} spec.nodeSelector`);
    return true;
  };
  const selects = (sel: string, n: NodeFacts, where: string): boolean => {
    try {
      return parseSelector(sel).matches(n.labels);
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
      return false;
    }
  };
  const typeOf = (p: BGPPeer): PeerType => (p.spec?.node || p.spec?.nodeSelector ? 'node specific' : 'global');
  const sorted = [...state.peers].sort((a, b) => {
    const ta = typeOf(a) === 'global' ? 0 : 1;
    const tb = typeOf(b) === 'global' ? 0 : 1;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return ta - tb || (na < nb ? -1 : na > nb ? 1 : 0);
  });
  const toNode = (p: BGPPeer, other: NodeFacts) => {
    for (const f of [4, 6] as const) {
      const a = f === 4 ? other.ipv4 : other.ipv6;
      if (a && myAddr(f)) add({ peerType: typeOf(p), source: p, node: other, address: a, asNumber: other.asNumber ?? globalAs });
    }
  };
  for (const p of sorted) {
    const s = p.spec ?? {};
    if (s.localWorkloadSelector) {
      problems.push(`BGPPeer ${p.metadata.name}: localWorkloadSelector (peering with workloads) is not supported; ignored`);
      continue;
    }
    if (appliesTo(p, me)) {
      if (s.peerIP) {
        const m = /^\[(.+)\]:(\d+)$/.exec(s.peerIP) ?? /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(s.peerIP);
        const a = tryParseIP(m ? m[1]! : s.peerIP);
        if (!a) problems.push(`BGPPeer ${p.metadata.name} spec.peerIP: "${s.peerIP}" is not an address; ignored`);
        else if (!myAddr(a.family)) problems.push(`BGPPeer ${p.metadata.name}: this node has no IPv${a.family} BGP address to peer with ${formatIP(a)}`);
        else {
          const node = nodeByAddress(a);
          const as = asn(s.asNumber) ?? node?.asNumber ?? globalAs;
          // A port-less peerIP of a Calico node with its AS uses that node's listen port.
          const port = m ? Number(m[2]) : node && (node.asNumber ?? globalAs) === as ? listenPortOf(node.name) : undefined;
          add({ peerType: typeOf(p), source: p, ...(node ? { node } : {}), address: a, ...(port !== undefined ? { port } : {}), asNumber: as });
        }
      } else if (s.peerSelector) {
        for (const other of facts) if (other.name !== me.name && selects(s.peerSelector, other, `BGPPeer ${p.metadata.name} spec.peerSelector`)) toNode(p, other);
      }
    }
    // Reverse peering: the nodes this BGPPeer points at peer back with the nodes it applies to.
    if (s.peerSelector && s.reversePeering !== 'Manual' && selects(s.peerSelector, me, `BGPPeer ${p.metadata.name} spec.peerSelector`)) {
      for (const other of facts) if (other.name !== me.name && appliesTo(p, other)) toNode(p, other);
    }
  }

  return { enabled: true, ...base, peers: peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), refused, originate: originated(state, cfg, def, me, problems), problems };
}

function poolOf(pools: readonly IPPool[], p: CIDR): IPPool | undefined {
  return pools.find((pool) => {
    const c = tryParseCIDR(pool.spec?.cidr ?? '', { lenient: true });
    return c !== undefined && cidrContains(c, p);
  });
}

function originated(state: ClusterBgpState, cfg: ConfigSpec, def: BGPConfiguration | undefined, me: NodeFacts, problems: string[]): OriginatedPrefix[] {
  const out = new Map<string, { prefix: CIDR; why: OriginatedPrefix['why'] }>();
  const exported = (p: CIDR): boolean => {
    const pool = poolOf(state.pools, p);
    return !(pool?.spec?.disabled || pool?.spec?.disableBGPExport);
  };
  const put = (prefix: CIDR, why: OriginatedPrefix['why']) => {
    const k = formatCIDR(prefix);
    if (!out.has(k)) out.set(k, { prefix, why });
  };
  const hostLen = (c: CIDR) => (c.family === 4 ? 32 : 128);
  const affine = [
    ...state.affinities.filter((a) => a.node === me.name && a.state === 'confirmed' && !a.deleted).map((a) => a.cidr),
    ...state.blocks.filter((b) => b.node === me.name && !b.deleted).map((b) => b.cidr),
  ];
  for (const c of affine) if (c.prefix < hostLen(c) && exported(c)) put(c, 'block');
  // Addresses this node holds in blocks affine elsewhere: BIRD exports their /32 kernel routes.
  for (const b of state.blocks) {
    if (b.deleted || b.node === me.name) continue;
    b.allocations.forEach((a, ordinal) => {
      if (a === null) return;
      if (b.attributes[a]?.secondary['node'] !== me.name) return;
      const addr = { family: b.cidr.family, value: b.cidr.base + BigInt(ordinal) } as IPAddr;
      if (!cidrContainsIP(b.cidr, addr)) return;
      const host = cidr(addr.family, addr.value, hostLen(b.cidr));
      if (exported(host)) put(host, 'borrowed');
    });
  }
  // Service ranges: only BGPConfiguration default carries them (Calico's rule).
  const d = def?.spec ?? {};
  const excluded = me.labels[EXCLUDE_LB_LABEL] === 'true';
  for (const [field, list] of [['serviceClusterIPs', d.serviceClusterIPs], ['serviceExternalIPs', d.serviceExternalIPs], ['serviceLoadBalancerIPs', d.serviceLoadBalancerIPs]] as const) {
    if (excluded && field !== 'serviceClusterIPs') continue;
    (list ?? []).forEach((x, i) => {
      const c = x.cidr ? tryParseCIDR(x.cidr, { lenient: true }) : undefined;
      if (!c) problems.push(`BGPConfiguration default spec.${field}[${i}].cidr: "${x.cidr ?? ''}" is not a CIDR; ignored`);
      else put(c, 'service');
    });
  }
  // Communities from prefixAdvertisements, names resolved through spec.communities.
  const named = new Map((cfg.communities ?? []).map((c) => [c.name ?? '', c.value ?? '']));
  const ads = (cfg.prefixAdvertisements ?? []).flatMap((pa) => {
    const c = pa.cidr ? tryParseCIDR(pa.cidr, { lenient: true }) : undefined;
    if (!c) return [];
    const values = (pa.communities ?? []).map((n) => communityValue(named.get(n) ?? n)).filter((v): v is number | LargeCommunity => v !== undefined);
    return [{ cidr: c, values }];
  });
  return [...out.values()]
    .sort((a, b) => a.prefix.family - b.prefix.family || (a.prefix.base < b.prefix.base ? -1 : a.prefix.base > b.prefix.base ? 1 : a.prefix.prefix - b.prefix.prefix))
    .map(({ prefix, why }) => {
      const std = new Set<number>();
      const large = new Map<string, LargeCommunity>();
      for (const ad of ads) {
        if (ad.cidr.family !== prefix.family || !cidrContains(ad.cidr, prefix)) continue;
        for (const v of ad.values) {
          if (typeof v === 'number') std.add(v);
          else large.set(`${v.global}:${v.local1}:${v.local2}`, v);
        }
      }
      return { prefix, why, communities: [...std].sort((a, b) => a - b), largeCommunities: [...large.values()] };
    });
}
