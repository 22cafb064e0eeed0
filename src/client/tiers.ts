// Tiers and derived resources: the rules a write must keep that span more than one resource.
//
// - A policy (GlobalNetworkPolicy, NetworkPolicy and their staged forms) lives in a tier
//   (`spec.tier`, default "default") which must exist, and carries Calico's
//   `projectcalico.org/tier` label so `get gnp -l "projectcalico.org/tier == 'security'"` works.
// - The `default` tier is never deleted, nor a tier that still has policies (Calico: "Cannot
//   delete default tier", "Cannot delete a non-empty tier").
// - `knp.default.<name>` policies and `kns.<namespace>` profiles are conversions of Kubernetes
//   NetworkPolicies and Namespaces: they change with their source only.
// Pure: the client lists the tiers' policies (ResourceClient) and passes them in.

import { type KindInfo, type ResourceObject, K8S_NETWORK_POLICY_PREFIX, kindInfo, profileNameToNamespace, resourceKey } from '../model/index.js';
import { type ResourceRef, describeRef } from './errors.js';

export const TIER_LABEL = 'projectcalico.org/tier';
export const DEFAULT_TIER = 'default';

/** The Calico kinds that live in a tier. */
export const TIERED_KINDS = ['GlobalNetworkPolicy', 'NetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedNetworkPolicy'] as const;
const isTiered = (r: ResourceObject): boolean =>
  r.apiVersion === 'projectcalico.org/v3' && (TIERED_KINDS as readonly string[]).includes(r.kind);

export const tierKey = (name: string): string => resourceKey(kindInfo('Tier'), undefined, name);

/** The tier a (validated, defaulted) resource is a policy in, or undefined for other kinds. */
export function tierOf(r: ResourceObject): string | undefined {
  if (!isTiered(r)) return undefined;
  const tier = (r.spec as { tier?: unknown } | undefined)?.tier;
  return typeof tier === 'string' && tier !== '' ? tier : DEFAULT_TIER;
}

/** The resource with Calico's tier label set to its tier (policies only). */
export function withTierLabel(r: ResourceObject): ResourceObject {
  const tier = tierOf(r);
  if (tier === undefined || r.metadata.labels?.[TIER_LABEL] === tier) return r;
  return { ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, [TIER_LABEL]: tier } } } as ResourceObject;
}

/** Why a direct write or delete of `ref` is refused (it is a conversion), or undefined. */
export function derivedSourceProblem(kind: KindInfo, ref: ResourceRef): string | undefined {
  if (kind.kubernetes) return undefined;
  if (kind.kind === 'NetworkPolicy' && ref.name.startsWith(K8S_NETWORK_POLICY_PREFIX)) {
    const source = ref.name.slice(K8S_NETWORK_POLICY_PREFIX.length);
    return `this policy is converted from the Kubernetes NetworkPolicy ${ref.namespace}/${source} and changes only with it; edit or delete that instead (apiVersion networking.k8s.io/v1, kind NetworkPolicy, name ${source}, namespace ${ref.namespace})`;
  }
  const namespace = kind.kind === 'Profile' ? profileNameToNamespace(ref.name) : undefined;
  if (namespace !== undefined) {
    return `this profile is converted from the Kubernetes Namespace ${namespace} and changes only with it; edit or delete that instead (apiVersion v1, kind Namespace, name ${namespace})`;
  }
  return undefined;
}

/** Each tier's policies: tier name → the policies in it (key and reference). */
export type TierUse = ReadonlyMap<string, readonly { readonly key: string; readonly ref: ResourceRef }[]>;

/** Why the tier `name` may not be deleted, or undefined; policies in `deleting` are going too. */
export function tierDeleteProblem(name: string, use: TierUse | undefined, deleting: ReadonlySet<string>): string | undefined {
  if (name === DEFAULT_TIER) return 'Cannot delete default tier';
  const left = (use?.get(name) ?? []).filter((p) => !deleting.has(p.key));
  if (left.length === 0) return undefined;
  const shown = left.slice(0, 5).map((p) => describeRef(p.ref)).join(', ');
  return `Cannot delete a non-empty tier: it has ${left.length} polic${left.length === 1 ? 'y' : 'ies'} (${shown}${left.length > 5 ? ', …' : ''}); delete or move them first`;
}
