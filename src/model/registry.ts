// Which schema, defaults and normalisation belong to each kind.
//
// Every entry of KINDS has a model here; a test checks that none is missing.

import type * as v from 'valibot';
import { type DefaultRule, defaultRule } from './defaults.js';
import { KINDS, type KindInfo } from './kinds.js';
import { BGPConfigurationSchema, BGPFilterSchema, BGPPeerSchema, bgpConfigurationDefaults } from './resources/bgp.js';
import {
  ClusterInformationSchema,
  GlobalNetworkSetSchema,
  IPAMConfigurationSchema,
  IPReservationSchema,
  KubeControllersConfigurationSchema,
  NetworkSetSchema,
  ipamConfigurationDefaults,
  kubeControllersDefaults,
} from './resources/cluster.js';
import { HostEndpointSchema, NodeSchema, WorkloadEndpointSchema } from './resources/endpoints.js';
import { FelixConfigurationSchema } from './resources/felix.js';
import { IPPoolSchema, ipPoolDefaults, normaliseIPPool } from './resources/ippool.js';
import { K8sNetworkPolicySchema, NamespaceSchema, PodSchema } from './resources/k8s.js';
import {
  GlobalNetworkPolicySchema,
  NetworkPolicySchema,
  ProfileSchema,
  StagedGlobalNetworkPolicySchema,
  StagedKubernetesNetworkPolicySchema,
  StagedNetworkPolicySchema,
  TierSchema,
  policyDefaults,
  tierDefaults,
} from './resources/policies.js';

export interface KindModel {
  readonly schema: v.GenericSchema;
  /** Defaults in application order (containers before their fields). */
  readonly defaults: readonly DefaultRule<any>[];
  /** Canonical forms Calico writes (e.g. an IPPool CIDR's text); applied after validation. */
  readonly normalise?: (r: any) => any;
}

/** A missing spec reads back as an empty one; an empty spec is the same as none. */
const emptySpec: DefaultRule<any> = defaultRule('spec', () => ({}));

function model(schema: v.GenericSchema, defaults: readonly DefaultRule<any>[] = [], normalise?: (r: any) => any): KindModel {
  return normalise === undefined ? { schema, defaults: [emptySpec, ...defaults] } : { schema, defaults: [emptySpec, ...defaults], normalise };
}

const V3 = 'projectcalico.org/v3';
const byKind = new Map<string, KindModel>([
  [`${V3}/IPPool`, model(IPPoolSchema, ipPoolDefaults, normaliseIPPool)],
  [`${V3}/IPReservation`, model(IPReservationSchema)],
  [`${V3}/IPAMConfiguration`, model(IPAMConfigurationSchema, ipamConfigurationDefaults)],
  [`${V3}/BGPConfiguration`, model(BGPConfigurationSchema, bgpConfigurationDefaults)],
  [`${V3}/BGPPeer`, model(BGPPeerSchema)],
  [`${V3}/BGPFilter`, model(BGPFilterSchema)],
  [`${V3}/FelixConfiguration`, model(FelixConfigurationSchema)],
  [`${V3}/KubeControllersConfiguration`, model(KubeControllersConfigurationSchema, kubeControllersDefaults)],
  [`${V3}/ClusterInformation`, model(ClusterInformationSchema)],
  [`${V3}/Tier`, model(TierSchema, tierDefaults)],
  [`${V3}/GlobalNetworkPolicy`, model(GlobalNetworkPolicySchema, policyDefaults)],
  [`${V3}/NetworkPolicy`, model(NetworkPolicySchema, policyDefaults)],
  [`${V3}/StagedGlobalNetworkPolicy`, model(StagedGlobalNetworkPolicySchema, policyDefaults)],
  [`${V3}/StagedNetworkPolicy`, model(StagedNetworkPolicySchema, policyDefaults)],
  [`${V3}/StagedKubernetesNetworkPolicy`, model(StagedKubernetesNetworkPolicySchema)],
  [`${V3}/GlobalNetworkSet`, model(GlobalNetworkSetSchema)],
  [`${V3}/NetworkSet`, model(NetworkSetSchema)],
  [`${V3}/HostEndpoint`, model(HostEndpointSchema)],
  [`${V3}/WorkloadEndpoint`, model(WorkloadEndpointSchema)],
  [`${V3}/Node`, model(NodeSchema)],
  [`${V3}/Profile`, model(ProfileSchema)],
  ['v1/Namespace', model(NamespaceSchema)],
  ['v1/Pod', model(PodSchema)],
  ['networking.k8s.io/v1/NetworkPolicy', model(K8sNetworkPolicySchema)],
]);

export function modelOf(kind: KindInfo): KindModel | undefined {
  return byKind.get(`${kind.apiVersion}/${kind.kind}`);
}

/** Kinds without a model (must be empty once the model is complete). */
export function kindsWithoutModel(): string[] {
  return KINDS.filter((k) => modelOf(k) === undefined).map((k) => `${k.apiVersion} ${k.kind}`);
}
