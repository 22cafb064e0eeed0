// Tabby's resource model (DESIGN.md §4), the one place that knows what the datastore holds:
// kinds, every key (resources and IPAM), schemas, validation, defaults, decoding of stored
// values (`decodeStored`, `decodeStoredKV`), manifests, Calico's pod annotations, and the
// Kubernetes → Calico conversions. Pure: no I/O, no clock, no randomness.

export * from './kinds.js';
export * from './keys.js';
export * from './ipam-keys.js';
export * from './stored.js';
export * from './ipam-records.js';
export * from './annotations.js';
export * from './issues.js';
export type { ObjectMeta, ResourceObject } from './types.js';
export { ObjectMetaSchema } from './meta.js';
export { kindOfDocument, validateResource, applyDefaults, stripDefaults } from './validate.js';
export { loadManifests, type ManifestDocument, type LoadedManifests } from './manifests.js';
export { deepEqual } from './defaults.js';
export { kindsWithoutModel } from './registry.js';

// Per-kind schemas (runtime source of truth) and the types derived from them.
export { IPPoolSchema, type IPPool } from './resources/ippool.js';
export {
  NetworkPolicySchema,
  GlobalNetworkPolicySchema,
  StagedNetworkPolicySchema,
  StagedGlobalNetworkPolicySchema,
  StagedKubernetesNetworkPolicySchema,
  TierSchema,
  ProfileSchema,
  FIXED_TIERS,
  defaultPolicyTypes,
  type NetworkPolicy,
  type GlobalNetworkPolicy,
  type StagedNetworkPolicy,
  type StagedGlobalNetworkPolicy,
  type StagedKubernetesNetworkPolicy,
  type Tier,
  type Profile,
} from './resources/policies.js';
export type { Rule, EntityRule } from './resources/rules.js';
export { BGPConfigurationSchema, BGPPeerSchema, BGPFilterSchema, parsePeerIP, type BGPConfiguration, type BGPPeer, type BGPFilter } from './resources/bgp.js';
export { FelixConfigurationSchema, type FelixConfiguration } from './resources/felix.js';
export {
  KubeControllersConfigurationSchema,
  ClusterInformationSchema,
  IPAMConfigurationSchema,
  IPReservationSchema,
  GlobalNetworkSetSchema,
  NetworkSetSchema,
  type KubeControllersConfiguration,
  type ClusterInformation,
  type IPAMConfiguration,
  type IPReservation,
  type GlobalNetworkSet,
  type NetworkSet,
} from './resources/cluster.js';
export { HostEndpointSchema, WorkloadEndpointSchema, NodeSchema, type HostEndpoint, type WorkloadEndpoint, type Node } from './resources/endpoints.js';
export {
  NamespaceSchema,
  PodSchema,
  K8sNetworkPolicySchema,
  LabelSelectorSchema,
  type Namespace,
  type Pod,
  type K8sNetworkPolicy,
  type LabelSelector,
} from './resources/k8s.js';
export { parsePort, protocolNumber, protocolSupportsPorts, type ParsedPort } from './resources/fields.js';

// Kubernetes → Calico conversions and the names Calico derives.
export { namespaceToProfile, serviceAccountToProfile } from './convert/profiles.js';
export { k8sNetworkPolicyToCalico, simplifyPorts } from './convert/network-policy.js';
export { podToWorkloadEndpoint, isCalicoPod, type PodToWorkloadEndpointOptions } from './convert/workload-endpoint.js';
export {
  ConversionError,
  K8S_POLICY_ORDER,
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL_PREFIX,
} from './convert/common.js';
export {
  workloadEndpointName,
  parseWorkloadEndpointName,
  vethNameForWorkload,
  vethNameForContainer,
  namespaceProfileName,
  serviceAccountProfileName,
  profileNameToNamespace,
  profileNameToServiceAccount,
  derivedUID,
  WorkloadEndpointNameError,
  K8S_NETWORK_POLICY_PREFIX,
  type WorkloadEndpointIdentifiers,
} from './convert/names.js';
export { checkUpdate } from './immutable.js';
export { ETCD_MAX_REQUEST_BYTES, MAX_RESOURCE_BYTES, sizeProblem, storedSize } from './limits.js';
