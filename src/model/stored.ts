// Reading what the datastore holds: every key names its kind, and every stored value decodes
// through the kind's schema into a typed, validated value — or a StoredValueError naming the key.
//
// Readers never spell a key root or check a stored object's shape by hand: they name a typed
// kind (`STORED.Node`) and call `decodeStored`, or hand any key to `decodeStoredKV`.
// Invariants: decoding never mutates its input; the value keeps the stored field order (new
// fields, i.e. defaults, come after), so a reader that writes a decoded object back changes
// only what it meant to change.

import { type ValidationIssue, ValidationError, formatIssue } from './issues.js';
import { CALICO_KEY_ROOT, K8S_KEY_ROOT, type KindInfo, kindInfo } from './kinds.js';
import { parseResourceKey, resourceKey } from './keys.js';
import type { ResourceObject } from './types.js';
import { validateResource } from './validate.js';
import type { BGPConfiguration, BGPFilter, BGPPeer } from './resources/bgp.js';
import type { ClusterInformation, GlobalNetworkSet, IPAMConfiguration, IPReservation, KubeControllersConfiguration, NetworkSet } from './resources/cluster.js';
import type { HostEndpoint, Node, WorkloadEndpoint } from './resources/endpoints.js';
import type { FelixConfiguration } from './resources/felix.js';
import type { IPPool } from './resources/ippool.js';
import type { K8sNetworkPolicy, Namespace, Pod } from './resources/k8s.js';
import type {
  GlobalNetworkPolicy,
  NetworkPolicy,
  Profile,
  StagedGlobalNetworkPolicy,
  StagedKubernetesNetworkPolicy,
  StagedNetworkPolicy,
  Tier,
} from './resources/policies.js';

/** A kind together with the TypeScript type its stored values decode to. */
export type TypedKind<T> = KindInfo & { readonly __value?: T };

const typed = <T>(name: string, apiVersion?: string): TypedKind<T> => kindInfo(name, apiVersion) as TypedKind<T>;

/** Every stored kind, typed. Keys are the kinds' names (the Kubernetes NetworkPolicy is `K8sNetworkPolicy`). */
export const STORED = {
  IPPool: typed<IPPool>('IPPool'),
  IPReservation: typed<IPReservation>('IPReservation'),
  IPAMConfiguration: typed<IPAMConfiguration>('IPAMConfiguration'),
  BGPConfiguration: typed<BGPConfiguration>('BGPConfiguration'),
  BGPPeer: typed<BGPPeer>('BGPPeer'),
  BGPFilter: typed<BGPFilter>('BGPFilter'),
  FelixConfiguration: typed<FelixConfiguration>('FelixConfiguration'),
  KubeControllersConfiguration: typed<KubeControllersConfiguration>('KubeControllersConfiguration'),
  ClusterInformation: typed<ClusterInformation>('ClusterInformation'),
  Tier: typed<Tier>('Tier'),
  GlobalNetworkPolicy: typed<GlobalNetworkPolicy>('GlobalNetworkPolicy'),
  NetworkPolicy: typed<NetworkPolicy>('NetworkPolicy', 'projectcalico.org/v3'),
  StagedGlobalNetworkPolicy: typed<StagedGlobalNetworkPolicy>('StagedGlobalNetworkPolicy'),
  StagedNetworkPolicy: typed<StagedNetworkPolicy>('StagedNetworkPolicy'),
  StagedKubernetesNetworkPolicy: typed<StagedKubernetesNetworkPolicy>('StagedKubernetesNetworkPolicy'),
  GlobalNetworkSet: typed<GlobalNetworkSet>('GlobalNetworkSet'),
  NetworkSet: typed<NetworkSet>('NetworkSet'),
  HostEndpoint: typed<HostEndpoint>('HostEndpoint'),
  WorkloadEndpoint: typed<WorkloadEndpoint>('WorkloadEndpoint'),
  Node: typed<Node>('Node'),
  Profile: typed<Profile>('Profile'),
  Namespace: typed<Namespace>('Namespace', 'v1'),
  Pod: typed<Pod>('Pod', 'v1'),
  K8sNetworkPolicy: typed<K8sNetworkPolicy>('NetworkPolicy', 'networking.k8s.io/v1'),
} as const;

export type StoredKindName = keyof typeof STORED;
/** The decoded value of a typed kind. */
export type ValueOf<K> = K extends TypedKind<infer T> ? T : never;

/** The key roots the resource kinds live under (IPAM's are in ipam-keys.ts). */
export const RESOURCE_KEY_ROOTS: readonly string[] = [CALICO_KEY_ROOT, K8S_KEY_ROOT];

// Well-known objects and the keys readers look up by name. Plain concatenation (no segment
// checks): callers pass names they already validated, and a lookup of a bad name finds nothing.
export const CLUSTER_INFORMATION_KEY = resourceKey(STORED.ClusterInformation, undefined, 'default');
export const KUBE_CONTROLLERS_CONFIGURATION_KEY = resourceKey(STORED.KubeControllersConfiguration, undefined, 'default');
export const nodeKey = (name: string): string => `${STORED.Node.keyPrefix}${name}`;
export const workloadEndpointKey = (namespace: string, name: string): string => `${STORED.WorkloadEndpoint.keyPrefix}${namespace}/${name}`;
export const podKey = (namespace: string, name: string): string => `${STORED.Pod.keyPrefix}${namespace}/${name}`;
export const namespaceKey = (name: string): string => `${STORED.Namespace.keyPrefix}${name}`;

export class StoredValueError extends Error {
  override readonly name = 'StoredValueError';
  readonly code = 'InvalidStoredValue';
  constructor(readonly key: string, readonly issues: readonly string[], options?: ErrorOptions) {
    super(`the value stored at ${key} is not valid: ${issues.join('; ')}`, options);
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `out` with its object keys in the order `like` has them (keys `like` lacks come last). */
function inOrderOf(out: unknown, like: unknown): unknown {
  if (Array.isArray(out)) return Array.isArray(like) ? out.map((x, i) => inOrderOf(x, like[i])) : out;
  if (!isObj(out) || !isObj(like)) return out;
  const ordered: Obj = {};
  for (const k of Object.keys(like)) if (k in out) ordered[k] = inOrderOf(out[k], like[k]);
  for (const k of Object.keys(out)) if (!(k in ordered)) ordered[k] = out[k];
  return ordered;
}

/** The stored value at `key` as a validated `kind`; throws StoredValueError naming the key. */
export function decodeStored<T>(kind: TypedKind<T>, key: string, value: unknown): T {
  if (!isObj(value) || value['apiVersion'] !== kind.apiVersion || value['kind'] !== kind.kind) {
    const got = isObj(value) ? `apiVersion ${JSON.stringify(value['apiVersion'])} kind ${JSON.stringify(value['kind'])}` : JSON.stringify(value);
    throw new StoredValueError(key, [`expected a ${kind.apiVersion} ${kind.kind}, found ${got}`]);
  }
  let decoded: ResourceObject;
  try {
    decoded = validateResource(value);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new StoredValueError(key, err.issues.map((i: ValidationIssue) => formatIssue(i)), { cause: err });
  }
  return inOrderOf(decoded, value) as T;
}

/** One decoded datastore entry: which object it is, and its typed value. */
export interface StoredResource<T = ResourceObject> {
  readonly kind: KindInfo;
  readonly key: string;
  readonly name: string;
  readonly namespace?: string;
  readonly value: T;
}

/**
 * Decodes any resource key and its value; undefined when the key is not a resource key (IPAM
 * keys, for instance). A resource key with an invalid value throws StoredValueError.
 */
export function decodeStoredKV(key: string, value: unknown): StoredResource | undefined {
  const parsed = parseResourceKey(key);
  if (parsed === undefined) return undefined;
  const decoded = decodeStored(parsed.kind as TypedKind<ResourceObject>, key, value);
  return { kind: parsed.kind, key, name: parsed.name, ...(parsed.namespace === undefined ? {} : { namespace: parsed.namespace }), value: decoded };
}
