// BGP kinds (calico-internals §2.4): BGPConfiguration, BGPPeer, BGPFilter.
//
// BGPConfiguration: communities are "aa:nn" (16-bit parts) or "aa:nn:mm" (32-bit parts) and must
// be used by some prefixAdvertisement; a prefixAdvertisement community is a value or a defined
// name; the mesh password and restart time need the mesh enabled. BGPPeer: node xor
// nodeSelector, peerIP xor peerSelector, no asNumber with peerSelector, localWorkloadSelector
// needs asNumber and excludes peerIP/peerSelector, reachableBy needs peerIP of the same family,
// keepOriginalNextHop excludes nextHopMode. BGPFilter: cidr and matchOperator together,
// prefixLength needs cidr, operations only on Accept and exactly one per entry.

import * as v from 'valibot';
import { tryParseIP } from '../../ip/index.js';
import { type DefaultRule, defaultRule } from '../defaults.js';
import { CALICO_API_VERSION } from '../kinds.js';
import { checkDNS1123Subdomain } from '../names.js';
import { type RuleIssue, bool, check, withRules, int, list, obj, oneOf, opt, str } from '../schema-kit.js';
import { selectorField } from './ippool.js';
import { asNumberField, durationField, ipField, netField, parseNet } from './fields.js';
import { envelope } from './envelope.js';

const SecretKeySelector = obj({ key: str(), name: opt(str()), optional: opt(bool()) });
const BGPPassword = obj({ secretKeyRef: opt(SecretKeySelector) });
const CIDRBlock = obj({ cidr: opt(netField()) });

export function communityProblem(value: string): string | undefined {
  const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(value);
  if (m === null) return `community ${JSON.stringify(value)} must be "aa:nn" (standard) or "aa:nn:mm" (large)`;
  const large = m[3] !== undefined;
  const max = large ? 4294967295 : 65535;
  const parts = m.slice(1).filter((x): x is string => x !== undefined);
  if (parts.some((p) => Number(p) > max)) {
    return `community ${JSON.stringify(value)} is out of range: each part of a ${large ? 'large' : 'standard'} community is at most ${max}`;
  }
  return undefined;
}

const LogLevels = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;

const BGPConfigurationSpecShape = obj({
  logSeverityScreen: opt(
    v.pipe(
      str(),
      check('log-level', (s: string) => (s === '' || LogLevels.some((l) => l.toLowerCase() === s.toLowerCase()) ? undefined : `log level must be one of ${LogLevels.join(', ')}`)),
    ),
  ),
  nodeToNodeMeshEnabled: opt(bool()),
  asNumber: opt(asNumberField()),
  serviceLoadBalancerIPs: opt(list(CIDRBlock)),
  serviceExternalIPs: opt(list(CIDRBlock)),
  serviceClusterIPs: opt(list(CIDRBlock)),
  serviceLoadBalancerAggregation: opt(oneOf(['Enabled', 'Disabled'] as const)),
  communities: opt(list(obj({ name: opt(str()), value: opt(str()) }), 500)),
  prefixAdvertisements: opt(list(obj({ cidr: opt(str()), communities: opt(list(str())) }))),
  listenPort: opt(int(1, 65535)),
  nodeMeshPassword: opt(BGPPassword),
  nodeMeshMaxRestartTime: opt(durationField()),
  bindMode: opt(oneOf(['None', 'NodeIP'] as const)),
  ignoredInterfaces: opt(
    list(
      v.pipe(
        str(),
        check('interface', (s: string) => (s !== '*' && /^[a-zA-Z0-9_.*-]{1,15}$/.test(s) ? undefined : `${JSON.stringify(s)} is not an interface name or pattern (1–15 of letters, digits, "_", ".", "-", "*")`)),
      ),
    ),
  ),
  localWorkloadPeeringIPV4: opt(ipField(4)),
  localWorkloadPeeringIPV6: opt(ipField(6)),
  programClusterRoutes: opt(oneOf(['Enabled', 'Disabled', 'EnabledNoEncapOnly', 'EnabledIPIPOnly'] as const)),
  ipv4NormalRoutePriority: opt(int(1, 2147483646)),
  ipv6NormalRoutePriority: opt(int(1, 2147483646)),
});
type BGPConfigurationSpec = v.InferOutput<typeof BGPConfigurationSpecShape>;

function bgpConfigurationRules(s: BGPConfigurationSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], rule: string, message: string) => issues.push({ path, rule, message });
  const names = new Set<string>();
  (s.communities ?? []).forEach((c, i) => {
    if (c.name === undefined || c.name === '') add(['communities', i, 'name'], 'required', 'a community needs a name');
    else names.add(c.name);
    if (c.value === undefined || c.value === '') add(['communities', i, 'value'], 'required', 'a community needs a value');
    else {
      const m = communityProblem(c.value);
      if (m !== undefined) add(['communities', i, 'value'], 'community', m);
    }
  });
  if ((s.communities ?? []).length > 0 && (s.prefixAdvertisements ?? []).length === 0) {
    add(['communities'], 'communities-unused', 'communities are defined but no prefixAdvertisement uses them');
  }
  (s.prefixAdvertisements ?? []).forEach((pa, i) => {
    if (pa.cidr === undefined || pa.cidr === '') add(['prefixAdvertisements', i, 'cidr'], 'required', 'a prefixAdvertisement needs a cidr');
    else {
      const c = parseNet(pa.cidr);
      if (typeof c === 'string') add(['prefixAdvertisements', i, 'cidr'], 'net', c);
    }
    (pa.communities ?? []).forEach((c, j) => {
      if (names.has(c)) return;
      if (/^\d+:\d+(:\d+)?$/.test(c)) {
        const m = communityProblem(c);
        if (m !== undefined) add(['prefixAdvertisements', i, 'communities', j], 'community', m);
        return;
      }
      add(['prefixAdvertisements', i, 'communities', j], 'community-undefined', `community ${JSON.stringify(c)} is neither an "aa:nn"/"aa:nn:mm" value nor a name defined in spec.communities`);
    });
  });
  if (s.nodeToNodeMeshEnabled === false) {
    if (s.nodeMeshPassword !== undefined) add(['nodeMeshPassword'], 'mesh-disabled', 'nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false');
    if (s.nodeMeshMaxRestartTime !== undefined) add(['nodeMeshMaxRestartTime'], 'mesh-disabled', 'nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false');
  }
  return issues;
}

export const BGPConfigurationSchema = envelope('BGPConfiguration', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(BGPConfigurationSpecShape, bgpConfigurationRules),
});
export type BGPConfiguration = v.InferOutput<typeof BGPConfigurationSchema>;

export const bgpConfigurationDefaults: readonly DefaultRule<BGPConfiguration>[] = [
  defaultRule('spec.logSeverityScreen', () => 'Info'),
  defaultRule('spec.serviceLoadBalancerAggregation', () => 'Enabled'),
];

// ---- BGPPeer --------------------------------------------------------------------------------

/** peerIP: "ip", "ipv4:port" or "[ipv6]:port". Returns the IP text, or a message. */
export function parsePeerIP(s: string): { ip: string; port?: number } | string {
  const bad = `peerIP ${JSON.stringify(s)} must be an IP address, optionally with a port as <IPv4>:<port> or [<IPv6>]:<port>`;
  let ip = s;
  let port: number | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(s);
  const v4 = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(s);
  const m = v6 ?? v4;
  if (m !== null) {
    ip = m[1]!;
    port = Number(m[2]);
    if (port < 1 || port > 65535) return bad;
  }
  const a = tryParseIP(ip);
  if (a === undefined || (v6 !== null && a.family !== 6) || (v4 !== null && a.family !== 4)) return bad;
  return port === undefined ? { ip } : { ip, port };
}

const nodeName = () =>
  v.pipe(
    str(),
    check('name', (s: string) => (s === '' ? undefined : checkDNS1123Subdomain(s, 'node name'))),
  );

const BGPPeerSpecShape = obj({
  node: opt(nodeName()),
  nodeSelector: opt(selectorField()),
  peerIP: opt(
    v.pipe(
      str(),
      check('peer-ip', (s: string) => {
        if (s === '') return undefined;
        const r = parsePeerIP(s);
        return typeof r === 'string' ? r : undefined;
      }),
    ),
  ),
  asNumber: opt(asNumberField()),
  localASNumber: opt(asNumberField()),
  peerSelector: opt(selectorField()),
  keepOriginalNextHop: opt(bool()),
  nextHopMode: opt(oneOf(['Auto', 'Self', 'Keep'] as const)),
  password: opt(BGPPassword),
  sourceAddress: opt(oneOf(['UseNodeIP', 'None'] as const)),
  maxRestartTime: opt(durationField()),
  keepaliveTime: opt(durationField()),
  numAllowedLocalASNumbers: opt(int(0, 2147483647)),
  ttlSecurity: opt(int(0, 255)),
  reachableBy: opt(str()),
  filters: opt(list(v.pipe(str(), check('name', (s: string) => checkDNS1123Subdomain(s, 'BGPFilter name'))))),
  localWorkloadSelector: opt(selectorField()),
  reversePeering: opt(oneOf(['Auto', 'Manual'] as const)),
});
type BGPPeerSpec = v.InferOutput<typeof BGPPeerSpecShape>;

const set = (x: string | undefined) => x !== undefined && x !== '';
const asSet = (x: number | string | undefined) => x !== undefined && x !== 0 && x !== '0' && x !== '';

function bgpPeerRules(s: BGPPeerSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], rule: string, message: string) => issues.push({ path, rule, message });
  if (set(s.node) && set(s.nodeSelector)) add(['node'], 'node-exclusive', 'node and nodeSelector cannot both be set; use one of them');
  if (set(s.peerIP) && set(s.peerSelector)) add(['peerIP'], 'peer-exclusive', 'peerIP and peerSelector cannot both be set; use one of them');
  if (set(s.peerSelector) && asSet(s.asNumber)) add(['asNumber'], 'peer-selector-asnumber', 'asNumber must be empty when peerSelector is set (each selected node uses its own AS number)');
  if (set(s.localWorkloadSelector)) {
    if (!asSet(s.asNumber)) add(['asNumber'], 'local-workload-asnumber', 'asNumber is required when localWorkloadSelector is set');
    if (set(s.peerIP)) add(['peerIP'], 'local-workload-exclusive', 'peerIP must be empty when localWorkloadSelector is set');
    if (set(s.peerSelector)) add(['peerSelector'], 'local-workload-exclusive', 'peerSelector must be empty when localWorkloadSelector is set');
  }
  if (set(s.reachableBy)) {
    if (!set(s.peerIP)) add(['reachableBy'], 'reachable-by', 'reachableBy must be empty when peerIP is empty');
    else {
      const gw = tryParseIP(s.reachableBy!);
      const peer = parsePeerIP(s.peerIP!);
      if (gw === undefined) add(['reachableBy'], 'reachable-by', `reachableBy ${JSON.stringify(s.reachableBy)} is not an IP address`);
      else if (typeof peer !== 'string' && tryParseIP(peer.ip)?.family !== gw.family) {
        add(['reachableBy'], 'reachable-by', 'reachableBy and peerIP must be of the same address family');
      }
    }
  }
  if (s.keepOriginalNextHop === true && s.nextHopMode !== undefined) {
    add(['keepOriginalNextHop'], 'next-hop-exclusive', 'keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode');
  }
  return issues;
}

export const BGPPeerSchema = envelope('BGPPeer', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(BGPPeerSpecShape, bgpPeerRules),
});
export type BGPPeer = v.InferOutput<typeof BGPPeerSchema>;

// ---- BGPFilter ------------------------------------------------------------------------------

const communityField = () =>
  v.pipe(
    str(),
    check('community', (s: string) => communityProblem(s)),
  );

function filterRule(family: 4 | 6) {
  const maxLen = family === 4 ? 32 : 128;
  const shape = obj({
    cidr: opt(
      v.pipe(
        str(),
        check('net', (s: string) => {
          if (s === '') return undefined;
          const c = parseNet(s);
          if (typeof c === 'string') return c;
          return c.family === family ? undefined : `${s} is not an IPv${family} CIDR (this is an ${family === 4 ? 'exportV4/importV4' : 'exportV6/importV6'} rule)`;
        }),
      ),
    ),
    prefixLength: opt(obj({ min: opt(int(0, maxLen)), max: opt(int(0, maxLen)) })),
    source: opt(oneOf(['RemotePeers'] as const)),
    interface: opt(
      v.pipe(
        str(),
        check('interface', (s: string) => (s === '*' || /^[a-zA-Z0-9_.*-]{1,15}$/.test(s) ? undefined : `${JSON.stringify(s)} is not an interface name or pattern`)),
      ),
    ),
    matchOperator: opt(oneOf(['Equal', 'NotEqual', 'In', 'NotIn'] as const)),
    peerType: opt(oneOf(['eBGP', 'iBGP'] as const)),
    communities: opt(obj({ values: list(communityField(), 1) })),
    asPathPrefix: opt(list(asNumberField())),
    priority: opt(int(1, 2147483646)),
    action: oneOf(['Accept', 'Reject'] as const),
    operations: opt(
      list(
        withRules(obj({
            addCommunity: opt(obj({ value: communityField() })),
            prependASPath: opt(obj({ prefix: list(asNumberField()) })),
            setPriority: opt(obj({ value: int(1, 2147483646) })),
          }), (o: Record<string, unknown>) =>
            Object.keys(o).length === 1 ? [] : [{ path: [], rule: 'one-operation', message: 'each operation must set exactly one of addCommunity, prependASPath, setPriority' }],),
        10,
      ),
    ),
  });
  return withRules(shape, (r: v.InferOutput<typeof shape>) => {
      const issues: RuleIssue[] = [];
      const hasCIDR = set(r.cidr);
      if (hasCIDR !== (r.matchOperator !== undefined)) {
        issues.push({ path: [hasCIDR ? 'matchOperator' : 'cidr'], rule: 'cidr-match-operator', message: 'cidr and matchOperator must both be set or both be empty' });
      }
      if (r.prefixLength !== undefined && !hasCIDR) issues.push({ path: ['prefixLength'], rule: 'prefix-length-needs-cidr', message: 'cidr is required when prefixLength is set' });
      if (r.prefixLength?.min !== undefined && r.prefixLength.max !== undefined && r.prefixLength.min > r.prefixLength.max) {
        issues.push({ path: ['prefixLength'], rule: 'prefix-length', message: 'prefixLength min must not be above max' });
      }
      if ((r.operations ?? []).length > 0 && r.action !== 'Accept') issues.push({ path: ['operations'], rule: 'operations-accept-only', message: 'operations may only be used with action Accept' });
      return issues;
    });
}

const BGPFilterSpecShape = obj({
  exportV4: opt(list(filterRule(4))),
  importV4: opt(list(filterRule(4))),
  exportV6: opt(list(filterRule(6))),
  importV6: opt(list(filterRule(6))),
});

export const BGPFilterSchema = envelope('BGPFilter', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: BGPFilterSpecShape,
});
export type BGPFilter = v.InferOutput<typeof BGPFilterSchema>;

