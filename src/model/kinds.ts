// The kind registry: every resource kind Tabby stores, with the names calicoctl accepts for it.
//
// One entry per (apiVersion, kind). Lookup is case-insensitive over the kind, its singular and
// plural and calicoctl's short names (calicoctl/resourcemgr/*.go). Calico's NetworkPolicy and
// Kubernetes' networking.k8s.io/v1 NetworkPolicy share a kind name: by name alone the Calico one
// wins (as with calicoctl); give the apiVersion, or a qualified name such as
// "networkpolicies.networking.k8s.io", to reach the Kubernetes one.
// `crd.projectcalico.org/v1` is an input alias of `projectcalico.org/v3`.

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const CALICO_CRD_API_VERSION = 'crd.projectcalico.org/v1';

/** Where a kind's objects live in the datastore (Calico's etcd layout, or Tabby's stand-in for the Kubernetes API). */
export const CALICO_KEY_ROOT = '/calico/resources/v3/projectcalico.org/';
export const K8S_KEY_ROOT = '/tabby/k8s/';

export interface KindInfo {
  readonly kind: string;
  readonly apiVersion: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  /** Datastore key prefix, ending in "/": keys are `<keyPrefix>[<ns>/]<name>`. */
  readonly keyPrefix: string;
  /** True for the Kubernetes kinds Tabby stores as a stand-in for the Kubernetes API. */
  readonly kubernetes: boolean;
}

export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
  readonly code = 'UnknownKind';
  constructor(readonly input: string, readonly apiVersion?: string) {
    super(
      apiVersion === undefined
        ? `unknown resource type "${input}"; known types: ${knownKindNames().join(', ')}`
        : `unknown kind "${input}" in apiVersion "${apiVersion}"; known kinds: ${knownKindsFor(apiVersion)}`,
    );
  }
}

function calico(kind: string, plural: string, namespaced: boolean, shortNames: string[]): KindInfo {
  return {
    kind,
    apiVersion: CALICO_API_VERSION,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    keyPrefix: `${CALICO_KEY_ROOT}${plural}/`,
    kubernetes: false,
  };
}

function k8s(kind: string, apiVersion: string, plural: string, namespaced: boolean, shortNames: string[]): KindInfo {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : 'core';
  return {
    kind,
    apiVersion,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    keyPrefix: `${K8S_KEY_ROOT}${group}/${plural}/`,
    kubernetes: true,
  };
}

/** Every kind, in the order `tabbyctl get all`-style listings should use. */
export const KINDS: readonly KindInfo[] = [
  calico('IPPool', 'ippools', false, ['ipp', 'ipps', 'pool', 'pools']),
  calico('IPReservation', 'ipreservations', false, ['reservation', 'reservations']),
  calico('IPAMConfiguration', 'ipamconfigurations', false, ['ipamconfig', 'ipamconfigs']),
  calico('BGPConfiguration', 'bgpconfigurations', false, ['bgpconfig', 'bgpconfigs']),
  calico('BGPPeer', 'bgppeers', false, ['bgpp', 'bgpps', 'bp', 'bps']),
  calico('BGPFilter', 'bgpfilters', false, ['bgpf', 'bgpfs', 'bf', 'bfs']),
  calico('FelixConfiguration', 'felixconfigurations', false, ['felixconfig', 'felixconfigs']),
  calico('KubeControllersConfiguration', 'kubecontrollersconfigurations', false, ['kubecontrollersconfig', 'kubecontrollersconfigs']),
  calico('ClusterInformation', 'clusterinformations', false, ['clusterinfo', 'clusterinfos']),
  calico('Tier', 'tiers', false, []),
  calico('GlobalNetworkPolicy', 'globalnetworkpolicies', false, ['gnp', 'gnps']),
  calico('NetworkPolicy', 'networkpolicies', true, ['policy', 'np', 'policies', 'pol', 'pols']),
  calico('StagedGlobalNetworkPolicy', 'stagedglobalnetworkpolicies', false, ['sgnp', 'sgnps']),
  calico('StagedNetworkPolicy', 'stagednetworkpolicies', true, ['stagedpolicy', 'snp', 'stagedpolicies', 'spol', 'spols']),
  calico('StagedKubernetesNetworkPolicy', 'stagedkubernetesnetworkpolicies', true, [
    'stagedkubernetespolicy',
    'sknp',
    'stagedkubernetespolicies',
    'skpol',
    'skpols',
  ]),
  calico('GlobalNetworkSet', 'globalnetworksets', false, ['gns', 'gnetset', 'gnetsets']),
  calico('NetworkSet', 'networksets', true, ['netset', 'netsets']),
  calico('HostEndpoint', 'hostendpoints', false, ['hep', 'heps']),
  calico('WorkloadEndpoint', 'workloadendpoints', true, ['wep', 'weps']),
  calico('Node', 'nodes', false, ['no', 'nos']),
  calico('Profile', 'profiles', false, ['pro', 'pros']),
  k8s('Namespace', 'v1', 'namespaces', false, ['ns']),
  k8s('Pod', 'v1', 'pods', true, ['po']),
  k8s('NetworkPolicy', 'networking.k8s.io/v1', 'networkpolicies', true, ['netpol', 'netpols', 'knp', 'knps']),
];

/** Names that reach a kind; the Kubernetes kinds also answer to "<plural>.<group>" forms. */
function namesOf(k: KindInfo): string[] {
  const names = [k.kind.toLowerCase(), k.singular, k.plural, ...k.shortNames];
  if (k.kubernetes) {
    const group = k.apiVersion.includes('/') ? k.apiVersion.slice(0, k.apiVersion.indexOf('/')) : '';
    if (group !== '') names.push(`${k.plural}.${group}`, `${k.singular}.${group}`);
  }
  if (!k.kubernetes) names.push(`${k.plural}.projectcalico.org`, `${k.singular}.projectcalico.org`);
  return names;
}

// layer: frozen — filled from KINDS below while the module loads, only read afterwards.
const byName = new Map<string, KindInfo>();
for (const k of KINDS) {
  for (const n of namesOf(k)) {
    // First registration wins: the Calico NetworkPolicy keeps "networkpolicy".
    if (!byName.has(n)) byName.set(n, k);
  }
}

/** Normalises an input apiVersion: `crd.projectcalico.org/v1` → `projectcalico.org/v3`. */
export function normaliseApiVersion(apiVersion: string): string {
  return apiVersion === CALICO_CRD_API_VERSION ? CALICO_API_VERSION : apiVersion;
}

/**
 * The kind reached by a name or alias (`IPPool`, `ippool`, `ippools`, `ipp`, `pool`, ...).
 * With `apiVersion`, the kind must also belong to that apiVersion (after normalising the CRD alias).
 */
export function kindInfo(nameOrAlias: string, apiVersion?: string): KindInfo {
  const found = lookupKind(nameOrAlias, apiVersion);
  if (found === undefined) throw new UnknownKindError(nameOrAlias, apiVersion);
  return found;
}

/** Like kindInfo, but returns undefined instead of throwing. */
export function lookupKind(nameOrAlias: string, apiVersion?: string): KindInfo | undefined {
  const name = nameOrAlias.toLowerCase();
  if (apiVersion === undefined) return byName.get(name);
  const version = normaliseApiVersion(apiVersion);
  return KINDS.find((k) => k.apiVersion === version && namesOf(k).includes(name));
}

function knownKindNames(): string[] {
  return KINDS.map((k) => (k.kubernetes && k.kind === 'NetworkPolicy' ? `networkpolicies.networking.k8s.io` : k.kind));
}

function knownKindsFor(apiVersion: string): string {
  const version = normaliseApiVersion(apiVersion);
  const kinds = KINDS.filter((k) => k.apiVersion === version).map((k) => k.kind);
  if (kinds.length > 0) return kinds.join(', ');
  const versions = [...new Set(KINDS.map((k) => k.apiVersion))];
  return `none (apiVersion must be one of ${versions.join(', ')}, or ${CALICO_CRD_API_VERSION})`;
}
