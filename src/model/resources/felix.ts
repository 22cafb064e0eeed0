// FelixConfiguration (calico-internals §6.7): the dataplane agent's settings, global
// ("default"), per node ("node.<nodename>") or per node selector (any other name + nodeSelector).
//
// The spec is a long flat list of settings, so it is written as a table of field name → type.
// Enumerations written by Calico as case-insensitive patterns (e.g. `^(?i)(Drop|Accept|Return)?$`)
// accept any case and the empty string; strict enums are case-sensitive. Cross-field rules:
// routeTableRange excludes routeTableRanges; natOutgoingAddress and deviceRouteSourceAddress are
// IPv4, deviceRouteSourceAddressIPv6 IPv6; kubeNodePortRanges has at most 7 numeric ranges;
// externalNodesList holds IPv4 CIDRs; openstackRegion is a DNS label of at most 46 characters.

import * as v from 'valibot';
import { CALICO_API_VERSION } from '../kinds.js';
import { checkDNS1123Label, checkDNS1123Subdomain } from '../names.js';
import { type RuleIssue, bool, check, withRules, int, list, obj, oneOf, opt, str, strMap } from '../schema-kit.js';
import { selectorField } from './ippool.js';
import { envelope } from './envelope.js';
import { durationField, ipProblem, parseLooseCIDR, parsePort, portField } from './fields.js';

/** A case-insensitive enumeration that also accepts "". */
function ciEnum(values: readonly string[]) {
  return v.pipe(
    str(),
    check('enum', (s: string) =>
      s === '' || values.some((x) => x.toLowerCase() === s.toLowerCase()) ? undefined : `must be one of ${values.join(', ')}; got ${JSON.stringify(s)}`,
    ),
  );
}

const anyInt = () => int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
const intOrString = () => v.union([v.number(), v.string()], (i) => `must be a number or a string, not ${JSON.stringify(i.input)}`);
const LOG_LEVELS = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'];
const ENABLED = ['Enabled', 'Disabled'] as const;

const ProtoPort = obj({
  protocol: opt(oneOf(['TCP', 'UDP', 'SCTP'] as const)),
  port: int(0, 65535),
  net: opt(
    v.pipe(
      str(),
      check('cidr', (s: string) => {
        if (s === '') return undefined;
        const c = parseLooseCIDR(s);
        return typeof c === 'string' ? c : undefined;
      }),
    ),
  ),
});

const RouteTableRange = withRules(obj({ min: anyInt(), max: anyInt() }), (r: { min: number; max: number }) =>
    r.min >= 1 && r.max >= r.min && r.max <= 250 ? [] : [{ path: [], rule: 'route-table-range', message: 'must be a range of route table indices within 1..250 (min ≤ max)' }],);

const RouteTableIDRange = withRules(obj({ min: anyInt(), max: anyInt() }), (r: { min: number; max: number }) => {
    const issues: RuleIssue[] = [];
    if (r.min < 1) issues.push({ path: ['min'], rule: 'route-table-range', message: 'route table indices start at 1' });
    if (r.min > r.max) issues.push({ path: ['max'], rule: 'route-table-range', message: 'min must not be greater than max' });
    if (r.max > 0xffffffff) issues.push({ path: ['max'], rule: 'route-table-range', message: 'max index too high (at most 4294967295)' });
    return issues;
  });

const HealthTimeoutOverride = withRules(obj({ name: str(), timeout: durationField() }), (h: { name: string }) => (/^[a-zA-Z0-9_ -]+$/.test(h.name) ? [] : [{ path: ['name'], rule: 'format', message: 'name may contain only letters, digits, "_", " " and "-"' }]));

const BPFConntrackTimeouts = obj(
  Object.fromEntries(
    ['creationGracePeriod', 'tcpSynSent', 'tcpEstablished', 'tcpFinsSeen', 'tcpResetSeen', 'udpTimeout', 'genericTimeout', 'icmpTimeout'].map((k) => [
      k,
      opt(v.pipe(str(), check('duration', (s: string) => (s === 'Auto' || /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s) ? undefined : `${JSON.stringify(s)} must be a duration or "Auto"`)))),
    ]),
  ),
);

const FelixConfigurationSpecShape = obj({
  allowIPIPPacketsFromWorkloads: opt(bool()),
  allowVXLANPacketsFromWorkloads: opt(bool()),
  awsSrcDstCheck: opt(oneOf(['DoNothing', 'Enable', 'Disable'] as const)),
  bpfAttachType: opt(oneOf(['TC', 'TCX'] as const)),
  bpfCTLBLogFilter: opt(str()),
  bpfConnectTimeLoadBalancing: opt(oneOf(['TCP', 'Enabled', 'Disabled'] as const)),
  bpfConnectTimeLoadBalancingEnabled: opt(bool()),
  bpfConntrackLogLevel: opt(oneOf(['Off', 'Debug'] as const)),
  bpfConntrackMode: opt(oneOf(['Auto', 'Userspace', 'BPFProgram'] as const)),
  bpfConntrackTimeouts: opt(BPFConntrackTimeouts),
  bpfDSROptoutCIDRs: opt(list(str())),
  bpfDataIfacePattern: opt(str()),
  bpfDisableGROForIfaces: opt(str()),
  bpfDisableUnprivileged: opt(bool()),
  bpfEnabled: opt(bool()),
  bpfEnforceRPF: opt(ciEnum(['Disabled', 'Strict', 'Loose'])),
  bpfExcludeCIDRsFromNAT: opt(list(str())),
  bpfExportBufferSizeMB: opt(anyInt()),
  bpfExtToServiceConnmark: opt(anyInt()),
  bpfExternalServiceMode: opt(ciEnum(['Tunnel', 'DSR'])),
  bpfForceTrackPacketsFromIfaces: opt(list(str())),
  bpfHostConntrackBypass: opt(bool()),
  bpfHostNetworkedNATWithoutCTLB: opt(oneOf(ENABLED)),
  bpfIPFragTimeout: opt(durationField()),
  bpfIPFragmentReassemblyEnabled: opt(bool()),
  bpfJITHardening: opt(oneOf(['Auto', 'Strict'] as const)),
  bpfKubeProxyEndpointSlicesEnabled: opt(bool()),
  bpfKubeProxyHealthzPort: opt(anyInt()),
  bpfKubeProxyIptablesCleanupEnabled: opt(bool()),
  bpfKubeProxyMinSyncPeriod: opt(durationField()),
  bpfL3IfacePattern: opt(str()),
  bpfLogFilters: opt(strMap()),
  bpfLogLevel: opt(ciEnum(['Off', 'Info', 'Debug'])),
  bpfMaglevMaxEndpointsPerService: opt(anyInt()),
  bpfMaglevMaxServices: opt(anyInt()),
  bpfMapSizeConntrack: opt(anyInt()),
  bpfMapSizeConntrackCleanupQueue: opt(int(1, Number.MAX_SAFE_INTEGER)),
  bpfMapSizeConntrackScaling: opt(ciEnum(['Disabled', 'DoubleIfFull'])),
  bpfMapSizeIPSets: opt(anyInt()),
  bpfMapSizeIfState: opt(anyInt()),
  bpfMapSizeNATAffinity: opt(anyInt()),
  bpfMapSizeNATBackend: opt(anyInt()),
  bpfMapSizeNATFrontend: opt(anyInt()),
  bpfMapSizePerCpuConntrack: opt(anyInt()),
  bpfMapSizeRoute: opt(anyInt()),
  bpfOverlayHostSourceIP: opt(oneOf(['TunnelAddress', 'HostAddress'] as const)),
  bpfPSNATPorts: opt(intOrString()),
  bpfPolicyDebugEnabled: opt(bool()),
  bpfProfiling: opt(oneOf(ENABLED)),
  bpfRedirectToPeer: opt(oneOf(['Enabled', 'Disabled', 'L2Only'] as const)),
  cgroupV2Path: opt(str()),
  chainInsertMode: opt(ciEnum(['Insert', 'Append'])),
  dataplaneDriver: opt(str()),
  dataplaneWatchdogTimeout: opt(durationField()),
  debugDisableLogDropping: opt(bool()),
  debugHost: opt(str()),
  debugMemoryProfilePath: opt(str()),
  debugPort: opt(anyInt()),
  debugSimulateCalcGraphHangAfter: opt(durationField()),
  debugSimulateDataplaneApplyDelay: opt(durationField()),
  debugSimulateDataplaneHangAfter: opt(durationField()),
  defaultEndpointToHostAction: opt(ciEnum(['Drop', 'Accept', 'Return'])),
  deviceRouteProtocol: opt(anyInt()),
  deviceRouteSourceAddress: opt(str()),
  deviceRouteSourceAddressIPv6: opt(str()),
  disableConntrackInvalidCheck: opt(bool()),
  endpointReportingDelay: opt(durationField()),
  endpointReportingEnabled: opt(bool()),
  endpointStatusPathPrefix: opt(str()),
  externalNodesList: opt(list(str())),
  failsafeInboundHostPorts: opt(list(ProtoPort)),
  failsafeOutboundHostPorts: opt(list(ProtoPort)),
  featureDetectOverride: opt(v.pipe(str(), check('format', (s: string) => (/^([a-zA-Z0-9-_]+=(true|false|),)*([a-zA-Z0-9-_]+=(true|false|))?$/.test(s) ? undefined : 'write a comma-separated list of Name=true|false|(empty)')))),
  featureGates: opt(v.pipe(str(), check('format', (s: string) => (/^([a-zA-Z0-9-_]+=([^=]+),)*([a-zA-Z0-9-_]+=([^=]+))?$/.test(s) ? undefined : 'write a comma-separated list of Name=value')))),
  floatingIPs: opt(oneOf(ENABLED)),
  flowLogsCollectorDebugTrace: opt(bool()),
  flowLogsFlushInterval: opt(durationField()),
  flowLogsGoldmaneServer: opt(str()),
  flowLogsLocalReporter: opt(oneOf(['Disabled', 'Enabled'] as const)),
  flowLogsPolicyEvaluationMode: opt(oneOf(['None', 'Continuous'] as const)),
  genericXDPEnabled: opt(bool()),
  goGCThreshold: opt(anyInt()),
  goMaxProcs: opt(anyInt()),
  goMemoryLimitMB: opt(anyInt()),
  healthEnabled: opt(bool()),
  healthHost: opt(str()),
  healthPort: opt(anyInt()),
  healthTimeoutOverrides: opt(list(HealthTimeoutOverride)),
  interfaceExclude: opt(str()),
  interfacePrefix: opt(str()),
  interfaceRefreshInterval: opt(durationField()),
  ipForwarding: opt(oneOf(ENABLED)),
  ipipEnabled: opt(bool()),
  ipipMTU: opt(anyInt()),
  ipsetsRefreshInterval: opt(durationField()),
  iptablesBackend: opt(ciEnum(['Auto', 'Legacy', 'NFT'])),
  iptablesFilterAllowAction: opt(ciEnum(['Accept', 'Return'])),
  iptablesFilterDenyAction: opt(ciEnum(['Drop', 'Reject'])),
  iptablesLockFilePath: opt(str()),
  iptablesLockProbeInterval: opt(durationField()),
  iptablesLockTimeout: opt(durationField()),
  iptablesMangleAllowAction: opt(ciEnum(['Accept', 'Return'])),
  iptablesMarkMask: opt(int(0, 0xffffffff)),
  iptablesNATOutgoingInterfaceFilter: opt(str()),
  iptablesPostWriteCheckInterval: opt(durationField()),
  iptablesRefreshInterval: opt(durationField()),
  ipv4ElevatedRoutePriority: opt(anyInt()),
  ipv4NormalRoutePriority: opt(anyInt()),
  ipv6ElevatedRoutePriority: opt(anyInt()),
  ipv6NormalRoutePriority: opt(anyInt()),
  ipv6Support: opt(bool()),
  istioAmbientMode: opt(oneOf(ENABLED)),
  istioDSCPMark: opt(intOrString()),
  kubeNodePortRanges: opt(list(portField())),
  liveMigrationRouteConvergenceTime: opt(durationField()),
  localSubnetL2Reachability: opt(oneOf(['Disabled', 'PodsAndLoadBalancers'] as const)),
  localSubnetL2ReachabilityRefreshInterval: opt(durationField()),
  logActionRateLimit: opt(v.pipe(str(), check('format', (s: string) => (/^[1-9]\d{0,3}\/(?:second|minute|hour|day)$/.test(s) ? undefined : 'write "N/unit", e.g. "10/second" (unit second, minute, hour or day)')))),
  logActionRateLimitBurst: opt(int(0, 9999)),
  logDebugFilenameRegex: opt(str()),
  logFilePath: opt(str()),
  logPrefix: opt(v.pipe(str(), check('format', (s: string) => (/^[a-zA-Z0-9%: /_-]*$/.test(s) ? undefined : 'may contain only letters, digits, "%", ":", " ", "/", "_" and "-"')))),
  logSeverityFile: opt(ciEnum(LOG_LEVELS)),
  logSeverityScreen: opt(ciEnum(LOG_LEVELS)),
  logSeveritySys: opt(ciEnum(LOG_LEVELS)),
  maxIpsetSize: opt(anyInt()),
  metadataAddr: opt(str()),
  metadataPort: opt(anyInt()),
  mtuIfacePattern: opt(str()),
  natOutgoingAddress: opt(str()),
  natOutgoingExclusions: opt(oneOf(['IPPoolsOnly', 'IPPoolsAndHostIPs'] as const)),
  natPortRange: opt(intOrString()),
  netlinkTimeout: opt(durationField()),
  nftablesFilterAllowAction: opt(ciEnum(['Accept', 'Return'])),
  nftablesFilterDenyAction: opt(ciEnum(['Drop', 'Reject'])),
  nftablesMangleAllowAction: opt(ciEnum(['Accept', 'Return'])),
  nftablesMarkMask: opt(int(0, 0xffffffff)),
  nftablesMode: opt(oneOf(['Disabled', 'Enabled', 'Auto'] as const)),
  nftablesRefreshInterval: opt(durationField()),
  nodeSelector: opt(selectorField()),
  openstackRegion: opt(str()),
  policySyncPathPrefix: opt(str()),
  programClusterRoutes: opt(oneOf(['Enabled', 'Disabled', 'EnabledIPIPOnly'] as const)),
  prometheusGoMetricsEnabled: opt(bool()),
  prometheusMetricsCAFile: opt(str()),
  prometheusMetricsCertFile: opt(str()),
  prometheusMetricsClientAuth: opt(str()),
  prometheusMetricsEnabled: opt(bool()),
  prometheusMetricsHost: opt(str()),
  prometheusMetricsKeyFile: opt(str()),
  prometheusMetricsPort: opt(anyInt()),
  prometheusProcessMetricsEnabled: opt(bool()),
  prometheusWireGuardMetricsEnabled: opt(bool()),
  removeExternalRoutes: opt(bool()),
  reportingInterval: opt(durationField()),
  reportingTTL: opt(durationField()),
  requireMTUFile: opt(bool()),
  routeRefreshInterval: opt(durationField()),
  routeSource: opt(ciEnum(['WorkloadIPs', 'CalicoIPAM'])),
  routeSyncDisabled: opt(bool()),
  routeTableRange: opt(RouteTableRange),
  routeTableRanges: opt(list(RouteTableIDRange)),
  serviceLoopPrevention: opt(ciEnum(['Drop', 'Reject', 'Disabled'])),
  sidecarAccelerationEnabled: opt(bool()),
  usageReportingEnabled: opt(bool()),
  usageReportingInitialDelay: opt(durationField()),
  usageReportingInterval: opt(durationField()),
  useInternalDataplaneDriver: opt(bool()),
  vxlanEnabled: opt(bool()),
  vxlanMTU: opt(anyInt()),
  vxlanMTUV6: opt(anyInt()),
  vxlanPort: opt(anyInt()),
  vxlanVNI: opt(anyInt()),
  windowsManageFirewallRules: opt(oneOf(ENABLED)),
  wireguardEnabled: opt(bool()),
  wireguardEnabledV6: opt(bool()),
  wireguardHostEncryptionEnabled: opt(bool()),
  wireguardInterfaceName: opt(str()),
  wireguardInterfaceNameV6: opt(str()),
  wireguardKeepAlive: opt(durationField()),
  wireguardListeningPort: opt(anyInt()),
  wireguardListeningPortV6: opt(anyInt()),
  wireguardMTU: opt(anyInt()),
  wireguardMTUV6: opt(anyInt()),
  wireguardRoutingRulePriority: opt(anyInt()),
  wireguardThreadingEnabled: opt(bool()),
  workloadSourceSpoofing: opt(ciEnum(['Disabled', 'Any'])),
  xdpEnabled: opt(bool()),
  xdpRefreshInterval: opt(durationField()),
});
type FelixSpec = v.InferOutput<typeof FelixConfigurationSpecShape>;

function felixRules(c: FelixSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], rule: string, message: string) => issues.push({ path, rule, message });
  if (c.kubeNodePortRanges !== undefined) {
    if (c.kubeNodePortRanges.length > 7) add(['kubeNodePortRanges'], 'max-items', 'node port ranges list is too long (at most 7)');
    c.kubeNodePortRanges.forEach((p, i) => {
      const r = parsePort(p);
      if (typeof r !== 'string' && r.kind === 'named') add(['kubeNodePortRanges', i], 'named-port', 'node port ranges cannot contain named ports');
    });
  }
  (c.externalNodesList ?? []).forEach((s, i) => {
    const r = parseLooseCIDR(s);
    if (typeof r === 'string') add(['externalNodesList', i], 'cidr', r);
    else if (r.family !== 4) add(['externalNodesList', i], 'cidr-ipv4', `${s} is an IPv6 CIDR; externalNodesList takes IPv4 CIDRs`);
  });
  if (c.openstackRegion !== undefined && c.openstackRegion !== '') {
    if (c.openstackRegion.length > 63 - 'openstack-region-'.length) add(['openstackRegion'], 'too-long', 'openstackRegion is too long (at most 46 characters)');
    else {
      const m = checkDNS1123Label(c.openstackRegion, 'openstackRegion');
      if (m !== undefined) add(['openstackRegion'], 'dns-label', m);
    }
  }
  const ipOf = (field: 'natOutgoingAddress' | 'deviceRouteSourceAddress' | 'deviceRouteSourceAddressIPv6', family: 4 | 6) => {
    const val = c[field];
    if (val !== undefined && val !== '' && ipProblem(val, family) !== undefined) add([field], 'ip', `${field} must be a valid IPv${family} address, not ${JSON.stringify(val)}`);
  };
  ipOf('natOutgoingAddress', 4);
  ipOf('deviceRouteSourceAddress', 4);
  ipOf('deviceRouteSourceAddressIPv6', 6);
  if (c.routeTableRange !== undefined && c.routeTableRanges !== undefined) {
    add(['routeTableRange'], 'route-table-exclusive', 'routeTableRange and routeTableRanges cannot both be set (routeTableRange is deprecated)');
  }
  if (c.routeTableRanges !== undefined) {
    const tables = c.routeTableRanges.reduce((n, r) => n + Math.max(0, r.max - r.min + 1), 0);
    if (tables > 0xffff) add(['routeTableRanges'], 'route-table-count', `routeTableRanges targets ${tables} tables; at most 65535 are allowed`);
  }
  return issues;
}

export const FelixConfigurationSchema = envelope('FelixConfiguration', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(FelixConfigurationSpecShape, felixRules),
  name: (name, r) => {
    const m = checkDNS1123Subdomain(name);
    if (m !== undefined) return { rule: 'name', message: m };
    const spec = (r.spec ?? {}) as FelixSpec;
    const scoped = name === 'default' || (name.startsWith('node.') && name.length > 'node.'.length);
    if (scoped && spec.nodeSelector !== undefined) {
      return { rule: 'felix-config-name', message: `nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration ("${name}")` };
    }
    if (!scoped && spec.nodeSelector === undefined) {
      return { rule: 'felix-config-name', message: `a FelixConfiguration is named "default" (global), "node.<nodename>" (one node), or has a spec.nodeSelector; "${name}" is none of these` };
    }
    return undefined;
  },
});
export type FelixConfiguration = v.InferOutput<typeof FelixConfigurationSchema>;
