// The calculation graph's input: typed resource updates, as a syncer delivers them (a snapshot
// is a batch of updates with values; a deletion is an update without one).
//
// `kind` is the model's kind name; Kubernetes' networking.k8s.io NetworkPolicy is told apart from
// Calico's NetworkPolicy by its apiVersion. `key` identifies the object within its kind:
// "<namespace>/<name>" for namespaced kinds, "<name>" otherwise (the tail of its datastore key).
// Values are validated model objects with Calico's defaults applied (model.validateResource).

import { type ResourceObject, parseResourceKey } from '../model/index.js';

export interface ResourceUpdate {
  readonly kind: string;
  readonly apiVersion?: string;
  readonly key: string;
  /** The object, or undefined when it was deleted. */
  readonly value: ResourceObject | undefined;
}

/** The kinds the policy engine reads; every other kind is ignored. */
export const POLICY_INPUT_KINDS = [
  'Namespace',
  'Pod',
  'WorkloadEndpoint',
  'HostEndpoint',
  'NetworkSet',
  'GlobalNetworkSet',
  'Profile',
  'Tier',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
  'FelixConfiguration',
  // For the VXLAN overlay let through ahead of host endpoint policy (overlay.ts).
  'Node',
  'IPPool',
] as const;
export type PolicyInputKind = (typeof POLICY_INPUT_KINDS)[number];

/** The engine's name for a resource's kind: Kubernetes' NetworkPolicy becomes KubernetesNetworkPolicy. */
export function inputKind(kind: string, apiVersion: string | undefined): PolicyInputKind | undefined {
  if (kind === 'NetworkPolicy' && apiVersion !== undefined && apiVersion.startsWith('networking.k8s.io')) return 'KubernetesNetworkPolicy';
  return (POLICY_INPUT_KINDS as readonly string[]).includes(kind) ? (kind as PolicyInputKind) : undefined;
}

export function keyOf(r: ResourceObject): string {
  const name = r.metadata.name ?? '';
  const ns = r.metadata.namespace;
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

/** The update that sets `r`. */
export function updateFor(r: ResourceObject): ResourceUpdate {
  return { kind: r.kind, apiVersion: r.apiVersion, key: keyOf(r), value: r };
}

/** The update that deletes the object of `kind` at `key`. */
export function deletionOf(kind: string, key: string, apiVersion?: string): ResourceUpdate {
  return { kind, key, value: undefined, ...(apiVersion === undefined ? {} : { apiVersion }) };
}

/**
 * The update for a datastore key and its value (undefined: deleted), as a watch or a listing
 * delivers them; undefined for keys that are not resources. The adapter from a syncer.
 */
export function updateFromDatastore(key: string, value: ResourceObject | undefined): ResourceUpdate | undefined {
  const parsed = parseResourceKey(key);
  if (parsed === undefined) return undefined;
  const k = parsed.namespace === undefined ? parsed.name : `${parsed.namespace}/${parsed.name}`;
  return { kind: parsed.kind.kind, apiVersion: parsed.kind.apiVersion, key: k, value };
}
