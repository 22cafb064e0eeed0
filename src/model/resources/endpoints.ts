// Endpoint kinds (calico-internals §2.4): HostEndpoint, WorkloadEndpoint, Node.
//
// HostEndpoint: node required; interfaceName ("*" or a Linux name) and/or expectedIPs; named
// ports need TCP/UDP/SCTP. WorkloadEndpoint: ipNetworks are single addresses (/32, /128);
// gateways of the right family; ipNATs inside ipNetworks and of one IP version; named ports as
// for host endpoints (a port needs a name or a hostPort). Node: spec.bgp, when present, is not
// empty; addresses are IPs/CIDRs; tunnel addresses of the right family.

import * as v from 'valibot';
import { cidrContainsIP, tryParseIP } from '../../ip/index.js';
import { CALICO_API_VERSION } from '../kinds.js';
import { checkDNS1123Subdomain } from '../names.js';
import { type RuleIssue, check, withRules, int, list, obj, oneOf, opt, str } from '../schema-kit.js';
import { envelope, envelopeWithStatus } from './envelope.js';
import { WorkloadEndpointNameError, workloadEndpointName } from '../convert/names.js';
import { INTERFACE_NAME, asNumberField, cidrField, ipField, ipProblem, netField, parseNet, protocolField, protocolSupportsPorts } from './fields.js';

const nameField = (what: string) =>
  v.pipe(
    str(),
    check('name', (s: string) => (s === '' ? undefined : checkDNS1123Subdomain(s, what))),
  );

const interfaceField = (allowStar: boolean) =>
  v.pipe(
    str(),
    check('interface', (s: string) =>
      s === '' || (allowStar && s === '*') || INTERFACE_NAME.test(s) ? undefined : `${JSON.stringify(s)} is not a Linux interface name (1–15 of letters, digits, "_", ".", "-")${allowStar ? ' or "*"' : ''}`,
    ),
  );

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const portNameField = () =>
  v.pipe(
    str(),
    check('port-name', (s: string) =>
      s === '' || (s.length <= 15 && PORT_NAME.test(s) && /[a-z]/.test(s) && !s.includes('--')) ? undefined : `port name ${JSON.stringify(s)} must be at most 15 lower-case letters, digits and single "-", with at least one letter`,
    ),
  );

function portProtocolIssues(ports: { protocol: number | string }[] | undefined, what: string): RuleIssue[] {
  return (ports ?? []).flatMap((p, i) =>
    protocolSupportsPorts(p.protocol) ? [] : [{ path: ['ports', i, 'protocol'], rule: 'port-protocol', message: `${what} protocol must be TCP, UDP or SCTP, not ${p.protocol}` }],
  );
}

// ---- HostEndpoint ---------------------------------------------------------------------------

const EndpointPort = obj({ name: portNameField(), protocol: protocolField(), port: int(1, 65535) });

const HostEndpointSpecShape = obj({
  node: opt(nameField('node')),
  interfaceName: opt(interfaceField(true)),
  expectedIPs: opt(list(ipField())),
  profiles: opt(list(nameField('profile'))),
  ports: opt(list(EndpointPort)),
});

export const HostEndpointSchema = envelope('HostEndpoint', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(HostEndpointSpecShape, (s: v.InferOutput<typeof HostEndpointSpecShape>) => {
      const issues: RuleIssue[] = [];
      if ((s.node ?? '') === '') issues.push({ path: ['node'], rule: 'required', message: 'a HostEndpoint needs the name of its node' });
      if ((s.interfaceName ?? '') === '' && (s.expectedIPs ?? []).length === 0) {
        issues.push({ path: ['interfaceName'], rule: 'interface-or-ips', message: 'set interfaceName, expectedIPs, or both' });
      }
      issues.push(...portProtocolIssues(s.ports, 'endpoint port'));
      return issues;
    }),
});
export type HostEndpoint = v.InferOutput<typeof HostEndpointSchema>;

// ---- WorkloadEndpoint -----------------------------------------------------------------------

const WorkloadEndpointPort = obj({
  name: opt(portNameField()),
  protocol: protocolField(),
  port: int(1, 65535),
  hostPort: opt(int(0, 65535)),
  hostIP: opt(v.pipe(str(), check('net', (s: string) => (s === '' ? undefined : typeof parseNet(s) === 'string' ? (parseNet(s) as string) : undefined)))),
});

const MAC = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/;
const macField = () =>
  v.pipe(
    str(),
    check('mac', (s: string) => (s === '' || MAC.test(s) ? undefined : `${JSON.stringify(s)} is not a MAC address (e.g. "ee:ee:ee:ee:ee:ee")`)),
  );

const qos = () => opt(int(0, Number.MAX_SAFE_INTEGER));
const QoSControls = obj({
  ingressBandwidth: qos(),
  ingressBurst: qos(),
  ingressPeakrate: qos(),
  ingressMinburst: qos(),
  egressBandwidth: qos(),
  egressBurst: qos(),
  egressPeakrate: qos(),
  egressMinburst: qos(),
  ingressPacketRate: qos(),
  ingressPacketBurst: qos(),
  egressPacketRate: qos(),
  egressPacketBurst: qos(),
  ingressMaxConnections: qos(),
  egressMaxConnections: qos(),
  dscp: opt(v.union([v.number(), v.string()])),
});

const CONTAINER_ID = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

const WorkloadEndpointSpecShape = obj({
  orchestrator: opt(nameField('orchestrator')),
  workload: opt(nameField('workload')),
  node: opt(nameField('node')),
  containerID: opt(v.pipe(str(), check('container-id', (s: string) => (s === '' || CONTAINER_ID.test(s) ? undefined : `${JSON.stringify(s)} is not a container ID (letters, digits and "-")`)))),
  pod: opt(nameField('pod')),
  endpoint: opt(nameField('endpoint')),
  serviceAccountName: opt(nameField('service account')),
  ipNetworks: opt(list(netField())),
  ipNATs: opt(list(obj({ internalIP: ipField(), externalIP: ipField() }))),
  ipv4Gateway: opt(ipField(4)),
  ipv6Gateway: opt(ipField(6)),
  profiles: opt(list(nameField('profile'))),
  interfaceName: opt(interfaceField(false)),
  mac: opt(macField()),
  ports: opt(list(WorkloadEndpointPort)),
  allowSpoofedSourcePrefixes: opt(list(cidrField())),
  qosControls: opt(QoSControls),
});
type WorkloadEndpointSpec = v.InferOutput<typeof WorkloadEndpointSpecShape>;

function workloadEndpointRules(s: WorkloadEndpointSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const nets = (s.ipNetworks ?? []).map((n) => parseNet(n));
  nets.forEach((c, i) => {
    if (typeof c !== 'string' && c.prefix !== (c.family === 4 ? 32 : 128)) {
      issues.push({ path: ['ipNetworks', i], rule: 'single-address', message: `IP network ${s.ipNetworks![i]} contains multiple addresses; use a /${c.family === 4 ? 32 : 128}` });
    }
  });
  (s.ipNATs ?? []).forEach((nat, i) => {
    const internal = tryParseIP(nat.internalIP);
    const external = tryParseIP(nat.externalIP);
    if (internal !== undefined && external !== undefined && internal.family !== external.family) {
      issues.push({ path: ['ipNATs', i, 'externalIP'], rule: 'nat-ip-version', message: 'internalIP and externalIP must be of the same IP version' });
    }
    if (internal !== undefined && !nets.some((c) => typeof c !== 'string' && c.family === internal.family && cidrContainsIP(c, internal))) {
      issues.push({ path: ['ipNATs', i, 'internalIP'], rule: 'nat-not-in-networks', message: `internalIP ${nat.internalIP} is not one of the endpoint's ipNetworks` });
    }
  });
  issues.push(...portProtocolIssues(s.ports, 'workload endpoint port'));
  (s.ports ?? []).forEach((p, i) => {
    if ((p.name ?? '') === '' && (p.hostPort ?? 0) === 0) issues.push({ path: ['ports', i, 'name'], rule: 'port-name-required', message: 'a port needs a name unless it has a hostPort' });
  });
  return issues;
}

/**
 * Calico refuses a WorkloadEndpoint whose name is not the one its identifiers give
 * (`<node>-<orchestrator>-<pod|containerID|workload>-<endpoint>`, "-" doubled inside a segment):
 * the dataplane finds endpoints by those identifiers, so a mismatched name would be a second,
 * unreachable copy. A spec without all identifiers is refused for the missing one.
 */
function workloadEndpointNameMatchesSpec(r: { metadata: { name?: string | undefined }; spec: WorkloadEndpointSpec }): RuleIssue[] {
  const name = r.metadata.name;
  if (name === undefined || name === '') return [];
  const s = r.spec;
  let expected: string;
  try {
    expected = workloadEndpointName({
      node: s.node ?? '',
      orchestrator: s.orchestrator ?? '',
      endpoint: s.endpoint ?? '',
      ...(s.pod === undefined ? {} : { pod: s.pod }),
      ...(s.containerID === undefined ? {} : { containerID: s.containerID }),
      ...(s.workload === undefined ? {} : { workload: s.workload }),
    });
  } catch (e) {
    if (!(e instanceof WorkloadEndpointNameError)) throw e;
    return [{ path: ['spec'], rule: 'identifiers-required', message: `${e.message}: a WorkloadEndpoint's spec names its node, orchestrator, workload (pod for k8s, containerID for cni) and endpoint` }];
  }
  if (expected === name) return [];
  return [
    {
      path: ['metadata', 'name'],
      rule: 'name-matches-spec',
      message: `the name does not match the identifiers in the spec: expected "${expected}" (node-orchestrator-workload-endpoint, with "-" inside a segment written as "--")`,
    },
  ];
}

export const WorkloadEndpointSchema = envelope('WorkloadEndpoint', {
  apiVersion: CALICO_API_VERSION,
  namespaced: true,
  spec: withRules(WorkloadEndpointSpecShape, workloadEndpointRules),
  rules: workloadEndpointNameMatchesSpec,
});
export type WorkloadEndpoint = v.InferOutput<typeof WorkloadEndpointSchema>;

// ---- Node -----------------------------------------------------------------------------------

const cidrOfFamily = (family: 4 | 6) =>
  v.pipe(
    str(),
    check('cidr', (s: string) => {
      const c = parseNet(s.includes('/') ? s.replace(/\/.*/, '') : s);
      if (typeof c === 'string') return `${JSON.stringify(s)} is not an IPv${family} address or CIDR`;
      if (c.family !== family) return `${JSON.stringify(s)} is not an IPv${family} address`;
      if (s.includes('/')) {
        const prefix = Number(s.slice(s.indexOf('/') + 1));
        if (!/^\d+$/.test(s.slice(s.indexOf('/') + 1)) || prefix > (family === 4 ? 32 : 128)) return `${JSON.stringify(s)} has an invalid prefix length`;
      }
      return undefined;
    }),
  );

const NodeBGPSpec = obj({
  asNumber: opt(asNumberField()),
  ipv4Address: opt(cidrOfFamily(4)),
  ipv6Address: opt(cidrOfFamily(6)),
  ipv4IPIPTunnelAddr: opt(ipField(4)),
  routeReflectorClusterID: opt(ipField(4)),
});

const NodeSpecShape = obj({
  bgp: opt(
    withRules(NodeBGPSpec, (b: Record<string, unknown>) => (Object.keys(b).length === 0 ? [{ path: [], rule: 'empty-bgp', message: 'spec.bgp should not be empty; remove it or set ipv4Address/ipv6Address' }] : [])),
  ),
  ipv4VXLANTunnelAddr: opt(ipField(4)),
  vxlanTunnelMACAddr: opt(macField()),
  ipv6VXLANTunnelAddr: opt(ipField(6)),
  vxlanTunnelMACAddrV6: opt(macField()),
  orchRefs: opt(list(obj({ nodeName: opt(str()), orchestrator: str() }))),
  wireguard: opt(obj({ interfaceIPv4Address: opt(ipField(4)), interfaceIPv6Address: opt(ipField(6)) })),
  addresses: opt(
    list(
      obj({
        address: v.pipe(str(), check('net', (s: string) => (ipProblem(s.replace(/\/\d+$/, '')) === undefined ? undefined : `${JSON.stringify(s)} is not an IP address or CIDR`))),
        type: opt(oneOf(['CalicoNodeIP', 'InternalIP', 'ExternalIP'] as const)),
      }),
    ),
  ),
  interfaces: opt(list(obj({ name: opt(str()), addresses: opt(list(str())) }))),
});

const NodeStatus = obj({
  wireguardPublicKey: opt(str()),
  wireguardPublicKeyV6: opt(str()),
  podCIDRs: opt(list(str())),
});

export const NodeSchema = envelopeWithStatus('Node', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: NodeSpecShape,
  status: NodeStatus,
});
export type Node = v.InferOutput<typeof NodeSchema>;

