// Resources Calico's validator rejects, each with the field path and rule Tabby must report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadManifests } from './index.js';

interface Case {
  readonly name: string;
  readonly yaml: string;
  /** [path, rule] pairs that must all be reported. */
  readonly expect: readonly (readonly [string, string])[];
}

const v3 = (kind: string, name: string, spec: string, extraMeta = '') =>
  `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata:\n  name: ${name}\n${extraMeta}spec:\n${spec.replace(/^/gm, '  ')}\n`;
const np = (spec: string, name = 'p') => v3('NetworkPolicy', name, spec, '  namespace: ns\n');
const gnp = (spec: string, name = 'p') => v3('GlobalNetworkPolicy', name, spec);
const rule = (body: string, dir = 'ingress') => np(`${dir}:\n- action: Allow\n${body.replace(/^/gm, '  ')}`);

const CASES: Case[] = [
  // IPPool
  { name: 'IPPool CIDR without a prefix', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.1'), expect: [['spec.cidr', 'cidr']] },
  { name: 'IPPool without a CIDR', yaml: v3('IPPool', 'p', 'natOutgoing: true'), expect: [['spec.cidr', 'required']] },
  { name: 'IPPool IPv4 block size below 20', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nblockSize: 19'), expect: [['spec.blockSize', 'block-size']] },
  { name: 'IPPool IPv6 block size above 128', yaml: v3('IPPool', 'p', 'cidr: fd00::/48\nblockSize: 129'), expect: [['spec.blockSize', 'integer-range']] },
  { name: 'IPPool smaller than its blocks', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/28'), expect: [['spec.cidr', 'pool-smaller-than-block']] },
  { name: 'IPPool overlapping IPv4 link-local', yaml: v3('IPPool', 'p', 'cidr: 169.254.0.0/16'), expect: [['spec.cidr', 'link-local-overlap']] },
  { name: 'IPPool overlapping IPv6 link-local', yaml: v3('IPPool', 'p', 'cidr: fe80::/64'), expect: [['spec.cidr', 'link-local-overlap']] },
  { name: 'IPPool IPIP on IPv6', yaml: v3('IPPool', 'p', 'cidr: fd00::/48\nipipMode: Always'), expect: [['spec.ipipMode', 'ipip-ipv6']] },
  { name: 'IPPool IPIP and VXLAN together', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nipipMode: CrossSubnet\nvxlanMode: Always'), expect: [['spec.vxlanMode', 'ipip-vxlan-exclusive']] },
  { name: 'IPPool nodeSelector with global()', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nnodeSelector: global()'), expect: [['spec.nodeSelector', 'selector-global']] },
  { name: 'IPPool LoadBalancer with Workload', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer, Workload]'), expect: [['spec.allowedUses', 'loadbalancer-exclusive']] },
  { name: 'IPPool LoadBalancer with VXLAN', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer]\nvxlanMode: Always'), expect: [['spec.allowedUses', 'loadbalancer-encap']] },
  { name: 'IPPool Tunnel with namespaceSelector', yaml: v3('IPPool', 'p', "cidr: 10.0.0.0/16\nnamespaceSelector: team == 'a'"), expect: [['spec.namespaceSelector', 'tunnel-namespace-selector']] },
  { name: 'IPPool lower-case encapsulation mode', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nipipMode: always'), expect: [['spec.ipipMode', 'enum']] },
  { name: 'IPPool misspelt field', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16\nnatOutgoin: true'), expect: [['spec.natOutgoin', 'unknown-field']] },
  { name: 'IPPool name with upper case', yaml: v3('IPPool', 'Pool1', 'cidr: 10.0.0.0/16'), expect: [['metadata.name', 'name']] },
  { name: 'IPPool with a namespace', yaml: v3('IPPool', 'p', 'cidr: 10.0.0.0/16', '  namespace: default\n'), expect: [['metadata.namespace', 'namespace-not-allowed']] },

  // NetworkPolicy and rules
  { name: 'NetworkPolicy name with two dots', yaml: np('selector: all()', 'a.b.c'), expect: [['metadata.name', 'name']] },
  { name: 'ports without a protocol', yaml: rule('destination:\n  ports: [80]'), expect: [['spec.ingress[0].destination.ports', 'ports-need-protocol']] },
  { name: 'ports with ICMP', yaml: rule('protocol: ICMP\nsource:\n  notPorts: [80]'), expect: [['spec.ingress[0].source.notPorts', 'ports-need-protocol']] },
  { name: 'port range backwards', yaml: rule('protocol: TCP\ndestination:\n  ports: ["90:80"]'), expect: [['spec.ingress[0].destination.ports[0]', 'port']] },
  { name: 'port 0', yaml: rule('protocol: UDP\ndestination:\n  ports: [0]'), expect: [['spec.ingress[0].destination.ports[0]', 'port']] },
  { name: 'port 65536 in a range', yaml: rule('protocol: UDP\ndestination:\n  ports: ["1000:65536"]'), expect: [['spec.ingress[0].destination.ports[0]', 'port']] },
  { name: 'icmp with TCP', yaml: rule('protocol: TCP\nicmp:\n  type: 8'), expect: [['spec.ingress[0].icmp', 'icmp-needs-protocol']] },
  { name: 'icmp code without type', yaml: rule('protocol: ICMP\nicmp:\n  code: 1'), expect: [['spec.ingress[0].icmp.code', 'icmp-code-without-type']] },
  { name: 'icmp type 255', yaml: rule('protocol: ICMP\nicmp:\n  type: 255'), expect: [['spec.ingress[0].icmp.type', 'integer-range']] },
  { name: 'ICMP with ipVersion 6', yaml: rule('protocol: ICMP\nipVersion: 6'), expect: [['spec.ingress[0].ipVersion', 'icmp-ip-version']] },
  { name: 'ICMPv6 with ipVersion 4', yaml: rule('protocol: ICMPv6\nipVersion: 4'), expect: [['spec.ingress[0].ipVersion', 'icmp-ip-version']] },
  { name: 'mixed IP versions', yaml: rule('source:\n  nets: [10.0.0.0/8]\ndestination:\n  nets: ["fd00::/8"]'), expect: [['spec.ingress[0].destination.nets', 'mixed-ip-versions']] },
  { name: 'nets against ipVersion', yaml: rule('ipVersion: 6\nsource:\n  nets: [10.0.0.0/8]'), expect: [['spec.ingress[0].source.nets', 'ip-version-mismatch']] },
  { name: 'net with host bits', yaml: rule('source:\n  nets: [10.0.0.1/8]'), expect: [['spec.ingress[0].source.nets[0]', 'net']] },
  { name: 'catch-all notNets', yaml: rule('source:\n  notNets: [0.0.0.0/0]'), expect: [['spec.ingress[0].source.notNets[0]', 'catch-all-not-net']] },
  { name: 'http on a Deny rule', yaml: np('ingress:\n- action: Deny\n  http:\n    methods: [GET]'), expect: [['spec.ingress[0].http', 'http-allow-only']] },
  { name: 'http with UDP', yaml: rule('protocol: UDP\nhttp:\n  methods: [GET]'), expect: [['spec.ingress[0].protocol', 'http-protocol']] },
  { name: 'http in an egress rule', yaml: rule('http:\n  paths: [{exact: /a}]', 'egress'), expect: [['spec.egress[0].http', 'http-egress']] },
  { name: 'http path with both exact and prefix', yaml: rule('http:\n  paths: [{exact: /a, prefix: /b}]'), expect: [['spec.ingress[0].http.paths[0]', 'http-path']] },
  { name: 'services with a selector', yaml: rule("source:\n  selector: a == 'b'\n  services: {name: s}"), expect: [['spec.ingress[0].source.selector', 'services-exclusive']] },
  { name: 'services in an ingress destination', yaml: rule('destination:\n  services: {name: s}'), expect: [['spec.ingress[0].destination.services', 'services-direction']] },
  { name: 'services in an egress source', yaml: rule('source:\n  services: {name: s}', 'egress'), expect: [['spec.egress[0].source.services', 'services-direction']] },
  { name: 'destination services with ports', yaml: rule('protocol: TCP\ndestination:\n  services: {name: s}\n  ports: [80]', 'egress'), expect: [['spec.egress[0].destination.ports', 'services-ports']] },
  { name: 'services without a name', yaml: rule('destination:\n  services: {namespace: x}', 'egress'), expect: [['spec.egress[0].destination.services.name', 'required']] },
  { name: 'type listed twice', yaml: np('types: [Ingress, Ingress]'), expect: [['spec.types[1]', 'duplicate-type']] },
  { name: 'selector syntax error', yaml: np("selector: \"role == 'db' &&\""), expect: [['spec.selector', 'selector']] },
  { name: 'global() in a policy selector', yaml: np('selector: global()'), expect: [['spec.selector', 'selector']] },
  { name: 'global() combined in a namespaceSelector', yaml: rule("source:\n  namespaceSelector: global() && a == 'b'"), expect: [['spec.ingress[0].source.namespaceSelector', 'selector']] },
  { name: 'unknown action', yaml: np('ingress:\n- action: Accept'), expect: [['spec.ingress[0].action', 'enum']] },
  { name: 'lower-case protocol', yaml: rule('protocol: tcp'), expect: [['spec.ingress[0].protocol', 'protocol']] },
  { name: 'protocol number 0', yaml: rule('protocol: 0'), expect: [['spec.ingress[0].protocol', 'protocol']] },
  { name: 'tier with a dot', yaml: np('tier: a.b'), expect: [['spec.tier', 'tier-name']] },

  // GlobalNetworkPolicy
  { name: 'preDNAT with doNotTrack', yaml: gnp('preDNAT: true\ndoNotTrack: true\napplyOnForward: true'), expect: [['spec.preDNAT', 'prednat-donottrack']] },
  { name: 'preDNAT with egress rules', yaml: gnp('preDNAT: true\napplyOnForward: true\negress:\n- action: Allow'), expect: [['spec.egress', 'prednat-egress']] },
  { name: 'preDNAT with the Egress type', yaml: gnp('preDNAT: true\napplyOnForward: true\ntypes: [Egress]'), expect: [['spec.types', 'prednat-egress']] },
  { name: 'doNotTrack without applyOnForward', yaml: gnp('doNotTrack: true'), expect: [['spec.applyOnForward', 'apply-on-forward']] },
  { name: 'global service without a namespace', yaml: gnp('egress:\n- action: Allow\n  destination:\n    services: {name: kube-dns}'), expect: [['spec.egress[0].destination.services.namespace', 'services-namespace']] },
  { name: 'GNP name with two dots', yaml: gnp('selector: all()', 'x.y.z'), expect: [['metadata.name', 'name']] },
  { name: 'GNP namespaceSelector with global()', yaml: gnp('namespaceSelector: global()'), expect: [['spec.namespaceSelector', 'selector']] },

  // Staged policies
  { name: 'staged Delete with rules', yaml: v3('StagedNetworkPolicy', 'p', 'stagedAction: Delete\nselector: all()', '  namespace: ns\n'), expect: [['spec.selector', 'staged-delete']] },
  { name: 'unknown staged action', yaml: v3('StagedGlobalNetworkPolicy', 'p', 'stagedAction: Apply'), expect: [['spec.stagedAction', 'enum']] },
  { name: 'staged GNP preDNAT without applyOnForward', yaml: v3('StagedGlobalNetworkPolicy', 'p', 'preDNAT: true'), expect: [['spec.applyOnForward', 'apply-on-forward']] },
  { name: 'staged k8s policy ipBlock with podSelector', yaml: v3('StagedKubernetesNetworkPolicy', 'p', 'ingress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {}', '  namespace: ns\n'), expect: [['spec.ingress[0].from[0].ipBlock', 'ipblock-exclusive']] },

  // Tier
  { name: 'tier name with a dot', yaml: v3('Tier', 'a.b', 'order: 10'), expect: [['metadata.name', 'tier-name']] },
  { name: 'tier name too long', yaml: v3('Tier', 'a'.repeat(64), 'order: 10'), expect: [['metadata.name', 'tier-name']] },
  { name: 'default tier with another order', yaml: v3('Tier', 'default', 'order: 100'), expect: [['spec.order', 'fixed-tier-order']] },
  { name: 'kube-admin tier with Deny', yaml: v3('Tier', 'kube-admin', 'order: 1000\ndefaultAction: Deny'), expect: [['spec.defaultAction', 'fixed-tier-action']] },
  { name: 'tier default action Allow', yaml: v3('Tier', 't', 'defaultAction: Allow'), expect: [['spec.defaultAction', 'enum']] },

  // BGPPeer
  { name: 'BGPPeer node and nodeSelector', yaml: v3('BGPPeer', 'p', "node: n1\nnodeSelector: rack == 'a'\npeerIP: 10.0.0.1\nasNumber: 64512"), expect: [['spec.node', 'node-exclusive']] },
  { name: 'BGPPeer peerIP and peerSelector', yaml: v3('BGPPeer', 'p', "peerIP: 10.0.0.1\npeerSelector: rr == 'true'"), expect: [['spec.peerIP', 'peer-exclusive']] },
  { name: 'BGPPeer asNumber with peerSelector', yaml: v3('BGPPeer', 'p', "peerSelector: rr == 'true'\nasNumber: 64512"), expect: [['spec.asNumber', 'peer-selector-asnumber']] },
  { name: 'BGPPeer localWorkloadSelector without asNumber', yaml: v3('BGPPeer', 'p', "localWorkloadSelector: app == 'bgp'"), expect: [['spec.asNumber', 'local-workload-asnumber']] },
  { name: 'BGPPeer reachableBy without peerIP', yaml: v3('BGPPeer', 'p', 'reachableBy: 10.0.0.254'), expect: [['spec.reachableBy', 'reachable-by']] },
  { name: 'BGPPeer reachableBy of the other family', yaml: v3('BGPPeer', 'p', 'peerIP: 10.0.0.1\nasNumber: 1\nreachableBy: "fd00::1"'), expect: [['spec.reachableBy', 'reachable-by']] },
  { name: 'BGPPeer bad peerIP port', yaml: v3('BGPPeer', 'p', 'peerIP: "10.0.0.1:70000"\nasNumber: 1'), expect: [['spec.peerIP', 'peer-ip']] },
  { name: 'BGPPeer keepOriginalNextHop with nextHopMode', yaml: v3('BGPPeer', 'p', 'peerIP: 10.0.0.1\nasNumber: 1\nkeepOriginalNextHop: true\nnextHopMode: Self'), expect: [['spec.keepOriginalNextHop', 'next-hop-exclusive']] },

  { name: 'BGPPeer node name with upper case', yaml: v3('BGPPeer', 'p', 'node: Rack1\npeerIP: 10.0.0.1\nasNumber: 1'), expect: [['spec.node', 'name']] },

  // BGPConfiguration
  { name: 'BGPConfiguration bad community value', yaml: v3('BGPConfiguration', 'default', 'communities:\n- {name: c, value: "70000:1"}\nprefixAdvertisements:\n- {cidr: 10.0.0.0/8, communities: [c]}'), expect: [['spec.communities[0].value', 'community']] },
  { name: 'BGPConfiguration unused communities', yaml: v3('BGPConfiguration', 'default', 'communities:\n- {name: c, value: "100:1"}'), expect: [['spec.communities', 'communities-unused']] },
  { name: 'BGPConfiguration undefined community name', yaml: v3('BGPConfiguration', 'default', 'prefixAdvertisements:\n- {cidr: 10.0.0.0/8, communities: [nope]}'), expect: [['spec.prefixAdvertisements[0].communities[0]', 'community-undefined']] },
  { name: 'BGPConfiguration mesh password without mesh', yaml: v3('BGPConfiguration', 'default', 'nodeToNodeMeshEnabled: false\nnodeMeshPassword:\n  secretKeyRef: {name: s, key: k}'), expect: [['spec.nodeMeshPassword', 'mesh-disabled']] },
  { name: 'BGPConfiguration listen port 0', yaml: v3('BGPConfiguration', 'default', 'listenPort: 0'), expect: [['spec.listenPort', 'integer-range']] },

  // BGPFilter
  { name: 'BGPFilter cidr without matchOperator', yaml: v3('BGPFilter', 'f', 'exportV4:\n- {action: Accept, cidr: 10.0.0.0/8}'), expect: [['spec.exportV4[0].matchOperator', 'cidr-match-operator']] },
  { name: 'BGPFilter prefixLength without cidr', yaml: v3('BGPFilter', 'f', 'importV4:\n- {action: Accept, prefixLength: {min: 24}}'), expect: [['spec.importV4[0].prefixLength', 'prefix-length-needs-cidr']] },
  { name: 'BGPFilter operations on Reject', yaml: v3('BGPFilter', 'f', 'exportV4:\n- action: Reject\n  operations:\n  - setPriority: {value: 10}'), expect: [['spec.exportV4[0].operations', 'operations-accept-only']] },
  { name: 'BGPFilter IPv6 CIDR in a v4 rule', yaml: v3('BGPFilter', 'f', 'importV4:\n- {action: Accept, cidr: "fd00::/8", matchOperator: In}'), expect: [['spec.importV4[0].cidr', 'net']] },

  // FelixConfiguration
  { name: 'Felix name neither default, node.* nor selector-scoped', yaml: v3('FelixConfiguration', 'mine', 'logSeverityScreen: Info'), expect: [['metadata.name', 'felix-config-name']] },
  { name: 'Felix nodeSelector on default', yaml: v3('FelixConfiguration', 'default', "nodeSelector: rack == 'a'"), expect: [['metadata.name', 'felix-config-name']] },
  { name: 'Felix routeTableRange and routeTableRanges', yaml: v3('FelixConfiguration', 'default', 'routeTableRange: {min: 1, max: 250}\nrouteTableRanges: [{min: 1, max: 250}]'), expect: [['spec.routeTableRange', 'route-table-exclusive']] },
  { name: 'Felix natOutgoingAddress IPv6', yaml: v3('FelixConfiguration', 'default', 'natOutgoingAddress: "fd00::1"'), expect: [['spec.natOutgoingAddress', 'ip']] },
  { name: 'Felix named node port range', yaml: v3('FelixConfiguration', 'default', 'kubeNodePortRanges: [http]'), expect: [['spec.kubeNodePortRanges[0]', 'named-port']] },
  { name: 'Felix bad duration', yaml: v3('FelixConfiguration', 'default', 'iptablesRefreshInterval: ten seconds'), expect: [['spec.iptablesRefreshInterval', 'duration']] },
  { name: 'Felix bad enum', yaml: v3('FelixConfiguration', 'default', 'chainInsertMode: Prepend'), expect: [['spec.chainInsertMode', 'enum']] },
  { name: 'Felix route table range beyond 250', yaml: v3('FelixConfiguration', 'default', 'routeTableRange: {min: 1, max: 300}'), expect: [['spec.routeTableRange', 'route-table-range']] },

  // IPAMConfiguration, KubeControllersConfiguration, ClusterInformation
  { name: 'IPAMConfiguration not named default', yaml: v3('IPAMConfiguration', 'mine', 'strictAffinity: true'), expect: [['metadata.name', 'singleton-name']] },
  { name: 'IPAMConfiguration neither strict nor auto-allocating', yaml: v3('IPAMConfiguration', 'default', 'strictAffinity: false\nautoAllocateBlocks: false'), expect: [['spec.autoAllocateBlocks', 'strict-or-auto']] },
  { name: 'IPAMConfiguration too many blocks', yaml: v3('IPAMConfiguration', 'default', 'strictAffinity: true\nmaxBlocksPerHost: 1000001'), expect: [['spec.maxBlocksPerHost', 'integer-range']] },
  { name: 'KubeControllersConfiguration not named default', yaml: v3('KubeControllersConfiguration', 'kcc', 'healthChecks: Enabled'), expect: [['metadata.name', 'singleton-name']] },
  { name: 'KubeControllersConfiguration bad enum', yaml: v3('KubeControllersConfiguration', 'default', 'healthChecks: On'), expect: [['spec.healthChecks', 'enum']] },
  { name: 'KubeControllersConfiguration bad duration', yaml: v3('KubeControllersConfiguration', 'default', 'controllers:\n  node:\n    reconcilerPeriod: soon'), expect: [['spec.controllers.node.reconcilerPeriod', 'duration']] },
  { name: 'ClusterInformation not named default', yaml: v3('ClusterInformation', 'info', 'datastoreReady: true'), expect: [['metadata.name', 'singleton-name']] },
  { name: 'ClusterInformation datastoreReady not a boolean', yaml: v3('ClusterInformation', 'default', 'datastoreReady: maybe'), expect: [['spec.datastoreReady', 'type']] },
  { name: 'ClusterInformation unknown field', yaml: v3('ClusterInformation', 'default', 'guid: abc'), expect: [['spec.guid', 'unknown-field']] },

  // Endpoints and Node
  { name: 'HostEndpoint without node', yaml: v3('HostEndpoint', 'h', 'interfaceName: eth0'), expect: [['spec.node', 'required']] },
  { name: 'HostEndpoint with neither interface nor IPs', yaml: v3('HostEndpoint', 'h', 'node: n1'), expect: [['spec.interfaceName', 'interface-or-ips']] },
  { name: 'HostEndpoint named port with ICMP', yaml: v3('HostEndpoint', 'h', 'node: n1\ninterfaceName: eth0\nports: [{name: p, protocol: ICMP, port: 1}]'), expect: [['spec.ports[0].protocol', 'port-protocol']] },
  { name: 'HostEndpoint bad expected IP', yaml: v3('HostEndpoint', 'h', 'node: n1\nexpectedIPs: [10.0.0.300]'), expect: [['spec.expectedIPs[0]', 'ip']] },
  { name: 'WorkloadEndpoint ipNetwork of many addresses', yaml: v3('WorkloadEndpoint', 'w', 'ipNetworks: [10.0.0.0/24]', '  namespace: ns\n'), expect: [['spec.ipNetworks[0]', 'single-address']] },
  { name: 'WorkloadEndpoint NAT outside its networks', yaml: v3('WorkloadEndpoint', 'w', 'ipNetworks: [10.0.0.1/32]\nipNATs: [{internalIP: 10.0.0.2, externalIP: 172.16.0.1}]', '  namespace: ns\n'), expect: [['spec.ipNATs[0].internalIP', 'nat-not-in-networks']] },
  { name: 'WorkloadEndpoint port without name or hostPort', yaml: v3('WorkloadEndpoint', 'w', 'ports: [{protocol: TCP, port: 80}]', '  namespace: ns\n'), expect: [['spec.ports[0].name', 'port-name-required']] },
  { name: 'WorkloadEndpoint bad MAC', yaml: v3('WorkloadEndpoint', 'w', 'mac: ee:ee', '  namespace: ns\n'), expect: [['spec.mac', 'mac']] },
  { name: 'WorkloadEndpoint whose name does not match its spec', yaml: v3('WorkloadEndpoint', 'node1-k8s-other--pod-eth0', 'node: node1\norchestrator: k8s\npod: my-pod\nendpoint: eth0', '  namespace: ns\n'), expect: [['metadata.name', 'name-matches-spec']] },
  { name: 'WorkloadEndpoint without its identifiers', yaml: v3('WorkloadEndpoint', 'node1-k8s-p-eth0', 'node: node1\norchestrator: k8s\nendpoint: eth0', '  namespace: ns\n'), expect: [['spec', 'identifiers-required']] },
  { name: 'Node with empty bgp', yaml: v3('Node', 'n', 'bgp: {}'), expect: [['spec.bgp', 'empty-bgp']] },
  { name: 'Node ipv4Address of IPv6', yaml: v3('Node', 'n', 'bgp: {ipv4Address: "fd00::1/64"}'), expect: [['spec.bgp.ipv4Address', 'cidr']] },
  { name: 'Node route reflector cluster ID not IPv4', yaml: v3('Node', 'n', 'bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: rr1}'), expect: [['spec.bgp.routeReflectorClusterID', 'ip']] },

  // Profile, network sets, reservations
  { name: 'Profile bad label key', yaml: v3('Profile', 'p', 'labelsToApply: {"bad key": x}'), expect: [['spec.labelsToApply["bad key"]', 'label']] },
  { name: 'Profile rule problems', yaml: v3('Profile', 'p', 'ingress:\n- action: Allow\n  destination:\n    ports: [22]'), expect: [['spec.ingress[0].destination.ports', 'ports-need-protocol']] },
  { name: 'GlobalNetworkSet with the namespace label', yaml: v3('GlobalNetworkSet', 'g', 'nets: [10.0.0.0/8]', '  labels: {projectcalico.org/namespace: x}\n'), expect: [['metadata.labels["projectcalico.org/namespace"]', 'reserved-label']] },
  { name: 'GlobalNetworkSet bad net', yaml: v3('GlobalNetworkSet', 'g', 'nets: [10.0.0.0/33]'), expect: [['spec.nets[0]', 'net']] },
  { name: 'NetworkSet net with host bits', yaml: v3('NetworkSet', 'n', 'nets: [192.168.1.1/24]', '  namespace: ns\n'), expect: [['spec.nets[0]', 'net']] },
  { name: 'IPReservation bad CIDR', yaml: v3('IPReservation', 'r', 'reservedCIDRs: [not-a-cidr]'), expect: [['spec.reservedCIDRs[0]', 'cidr']] },
  { name: 'bad label value in metadata', yaml: v3('NetworkSet', 'n', 'nets: []', '  namespace: ns\n  labels: {a: "has space"}\n'), expect: [['metadata.labels.a', 'label']] },

  // Kubernetes kinds
  { name: 'k8s NetworkPolicy endPort below port', yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: ns}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 100, endPort: 90}]\n', expect: [['spec.ingress[0].ports[0].endPort', 'end-port']] },
  { name: 'k8s NetworkPolicy except outside the CIDR', yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: ns}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]\n', expect: [['spec.egress[0].to[0].ipBlock.except[0]', 'except-outside-cidr']] },
  { name: 'k8s NetworkPolicy In without values', yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: ns}\nspec:\n  podSelector:\n    matchExpressions: [{key: app, operator: In}]\n', expect: [['spec.podSelector.matchExpressions[0].values', 'selector-values']] },
  { name: 'k8s NetworkPolicy misspelt podSelector', yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: ns}\nspec:\n  podSelectr: {}\n', expect: [['spec.podSelectr', 'unknown-field']] },
  { name: 'Pod without containers', yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  nodeName: n1\n', expect: [['spec.containers', 'required']] },
  { name: 'Pod container port 0', yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers: [{name: c, ports: [{containerPort: 0}]}]\n', expect: [['spec.containers[0].ports[0].containerPort', 'integer-range']] },
  { name: 'Pod misspelt containers', yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  contianers: []\n', expect: [['spec.contianers', 'unknown-field']] },
  { name: 'Pod bad port name', yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers: [{name: c, ports: [{containerPort: 80, name: HTTP_PORT}]}]\n', expect: [['spec.containers[0].ports[0].name', 'port-name']] },
  { name: 'Namespace name with a dot', yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n', expect: [['metadata.name', 'name']] },
  { name: 'Namespace with a namespace', yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n', expect: [['metadata.namespace', 'namespace-not-allowed']] },
  { name: 'Namespace with a spec field that does not exist', yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nspec: {labels: {}}\n', expect: [['spec.labels', 'unknown-field']] },

  // Cluster configuration
  { name: 'KubeControllersConfiguration template generateName not a name', yaml: v3('KubeControllersConfiguration', 'default', 'controllers:\n  node:\n    hostEndpoint:\n      autoCreate: Enabled\n      templates:\n      - generateName: test$set\n        nodeSelector: all()'), expect: [['spec.controllers.node.hostEndpoint.templates[0].generateName', 'name']] },

  // Envelope
  { name: 'unknown kind', yaml: 'apiVersion: projectcalico.org/v3\nkind: IPPoolz\nmetadata: {name: a}\n', expect: [['kind', 'unknown-kind']] },
  { name: 'kind of another apiVersion', yaml: 'apiVersion: projectcalico.org/v3\nkind: Pod\nmetadata: {name: a}\n', expect: [['kind', 'unknown-kind']] },
  { name: 'missing apiVersion', yaml: 'kind: IPPool\nmetadata: {name: a}\n', expect: [['apiVersion', 'required']] },
  { name: 'missing name', yaml: 'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {}\n', expect: [['metadata.name', 'required']] },
];

describe('resources Calico rejects', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { documents, issues } = loadManifests(c.yaml, 'case.yaml');
      assert.equal(documents.length, 0, `accepted: ${JSON.stringify(documents[0]?.resource)}`);
      for (const [path, rule] of c.expect) {
        assert.ok(
          issues.some((i) => i.path === path && i.rule === rule),
          `expected ${path} [${rule}], got:\n${issues.map((i) => `  ${i.path} [${i.rule}] ${i.message}`).join('\n')}`,
        );
      }
      for (const i of issues) {
        assert.equal(i.source, 'case.yaml');
        assert.equal(i.document, 1);
        assert.ok(i.message.length > 10, `message too terse: ${i.message}`);
      }
    });
  }
});
