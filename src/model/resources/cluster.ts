// Cluster-wide singletons and address sets: KubeControllersConfiguration, ClusterInformation,
// IPAMConfiguration (all named "default"), IPReservation, GlobalNetworkSet, NetworkSet.
//
// IPAMConfiguration (calico-internals §2.4, SetIPAMConfig): strictAffinity false with
// autoAllocateBlocks false is refused (no way left to get addresses). (The reference's
// "maxBlocksPerHost > 0 requires strictAffinity" is not applied: Calico's own documented sample
// sets maxBlocksPerHost: 4 with strictAffinity: false.)
// Network sets may not carry the projectcalico.org/namespace label (Calico adds it itself).

import * as v from 'valibot';
import { type DefaultRule, defaultRule } from '../defaults.js';
import { CALICO_API_VERSION } from '../kinds.js';
import { checkDNS1123Subdomain } from '../names.js';
import { type RuleIssue, bool, check, withRules, int, list, obj, oneOf, opt, str, strMap } from '../schema-kit.js';
import { selectorField } from './ippool.js';
import { type NameRule, envelope, envelopeWithStatus } from './envelope.js';
import { cidrField, durationField, netField } from './fields.js';

const onlyDefault =
  (kind: string): NameRule =>
  (name) =>
    name === 'default' ? undefined : { rule: 'singleton-name', message: `there is one ${kind}, named "default"; "${name}" is not allowed` };

// ---- KubeControllersConfiguration -----------------------------------------------------------

const reconciler = () => opt(obj({ reconcilerPeriod: opt(durationField()) }));
const ENABLED = ['Enabled', 'Disabled'] as const;

const HostEndpointTemplate = obj({
  // A HostEndpoint name is generated from it, so it must itself be a valid (DNS-1123) name.
  generateName: opt(v.pipe(str(), check('name', (s: string) => checkDNS1123Subdomain(s, 'generateName')))),
  annotations: opt(strMap()),
  interfaceCIDRs: opt(list(cidrField())),
  interfacePattern: opt(str()),
  labels: opt(strMap()),
  nodeSelector: opt(selectorField()),
});

const ControllersConfig = obj({
  node: opt(
    obj({
      reconcilerPeriod: opt(durationField()),
      syncLabels: opt(oneOf(ENABLED)),
      hostEndpoint: opt(obj({ autoCreate: opt(oneOf(ENABLED)), createDefaultHostEndpoint: opt(oneOf(ENABLED)), templates: opt(list(HostEndpointTemplate)) })),
      leakGracePeriod: opt(durationField()),
    }),
  ),
  policy: reconciler(),
  workloadEndpoint: reconciler(),
  serviceAccount: reconciler(),
  namespace: reconciler(),
  loadBalancer: opt(obj({ assignIPs: opt(oneOf(['AllServices', 'RequestedServicesOnly'] as const)) })),
  migration: opt(obj({ policyNameMigrator: opt(oneOf(ENABLED)) })),
  policyMigration: opt(obj({ enabled: opt(oneOf(ENABLED)) })),
});

const KubeControllersSpec = obj({
  logSeverityScreen: opt(oneOf(['None', 'Debug', 'Info', 'Warning', 'Error', 'Fatal', 'Panic'] as const)),
  healthChecks: opt(oneOf(ENABLED)),
  etcdV3CompactionPeriod: opt(durationField()),
  prometheusMetricsPort: opt(int(0, 65535)),
  debugProfilePort: opt(int(0, 65535)),
  controllers: opt(ControllersConfig),
});

export const KubeControllersConfigurationSchema = envelopeWithStatus('KubeControllersConfiguration', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: KubeControllersSpec,
  status: obj({ runningConfig: opt(KubeControllersSpec), environmentVars: opt(strMap()) }),
  name: onlyDefault('KubeControllersConfiguration'),
});
export type KubeControllersConfiguration = v.InferOutput<typeof KubeControllersConfigurationSchema>;

export const kubeControllersDefaults: readonly DefaultRule<KubeControllersConfiguration>[] = [
  defaultRule('spec.healthChecks', () => 'Enabled'),
  defaultRule('spec.controllers.loadBalancer.assignIPs', () => 'AllServices'),
  defaultRule('spec.controllers.policyMigration.enabled', () => 'Enabled'),
];

// ---- ClusterInformation ---------------------------------------------------------------------

export const ClusterInformationSchema = envelope('ClusterInformation', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: obj({ clusterGUID: opt(str()), clusterType: opt(str()), calicoVersion: opt(str()), datastoreReady: opt(bool()), variant: opt(str()) }),
  name: onlyDefault('ClusterInformation'),
});
export type ClusterInformation = v.InferOutput<typeof ClusterInformationSchema>;

// ---- IPAMConfiguration ----------------------------------------------------------------------

const IPAMConfigurationSpecShape = obj({
  strictAffinity: opt(bool()),
  autoAllocateBlocks: opt(bool()),
  maxBlocksPerHost: opt(int(0, 1_000_000)),
  kubeVirtVMAddressPersistence: opt(oneOf(ENABLED)),
  ipCooldownSeconds: opt(int(0, 1200)),
  minIPReclaimAgeSeconds: opt(int(0, 2147483647)),
});
type IPAMConfigurationSpec = v.InferOutput<typeof IPAMConfigurationSpecShape>;

function ipamConfigRules(s: IPAMConfigurationSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const strict = s.strictAffinity ?? false;
  const auto = s.autoAllocateBlocks ?? true;
  if (!strict && !auto) {
    issues.push({ path: ['autoAllocateBlocks'], rule: 'strict-or-auto', message: "cannot disable both strictAffinity and autoAllocateBlocks: set strictAffinity: true or autoAllocateBlocks: true" });
  }
  return issues;
}

export const IPAMConfigurationSchema = envelope('IPAMConfiguration', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(IPAMConfigurationSpecShape, ipamConfigRules),
  name: onlyDefault('IPAMConfiguration'),
});
export type IPAMConfiguration = v.InferOutput<typeof IPAMConfigurationSchema>;

export const ipamConfigurationDefaults: readonly DefaultRule<IPAMConfiguration>[] = [
  defaultRule('spec.strictAffinity', () => false),
  defaultRule('spec.autoAllocateBlocks', () => true),
  defaultRule('spec.maxBlocksPerHost', () => 0),
];

// ---- IPReservation, GlobalNetworkSet, NetworkSet -------------------------------------------

export const IPReservationSchema = envelope('IPReservation', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: obj({ reservedCIDRs: opt(list(cidrField())) }),
});
export type IPReservation = v.InferOutput<typeof IPReservationSchema>;

const noNamespaceLabel = (r: { metadata: { labels?: Record<string, string> | undefined } }): RuleIssue[] =>
  r.metadata.labels !== undefined && 'projectcalico.org/namespace' in r.metadata.labels
    ? [{ path: ['metadata', 'labels', 'projectcalico.org/namespace'], rule: 'reserved-label', message: 'projectcalico.org/namespace is not a valid label here: Calico sets it itself from the namespace' }]
    : [];

export const GlobalNetworkSetSchema = envelope('GlobalNetworkSet', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: obj({ nets: opt(list(netField())) }),
  rules: (r) => noNamespaceLabel(r as never),
});
export type GlobalNetworkSet = v.InferOutput<typeof GlobalNetworkSetSchema>;

export const NetworkSetSchema = envelope('NetworkSet', {
  apiVersion: CALICO_API_VERSION,
  namespaced: true,
  spec: obj({ nets: opt(list(netField(), 100000)) }),
  rules: (r) => noNamespaceLabel(r as never),
});
export type NetworkSet = v.InferOutput<typeof NetworkSetSchema>;

