// Policy resources → CompiledPolicy / CompiledProfile / CompiledTier.
//
// - GlobalNetworkPolicy: selector, ANDed with the pcns.-prefixed namespaceSelector and the
//   pcsa.-prefixed serviceAccountSelector (all() when none is given).
// - NetworkPolicy: the same, scoped to its namespace (projectcalico.org/namespace == '<ns>').
// - Kubernetes NetworkPolicy: converted exactly as Calico converts it (model's
//   k8sNetworkPolicyToCalico: tier default, order 1000, knp.default.<name>), then compiled as a
//   NetworkPolicy with ID knp/<ns>/<name>.
// - Staged kinds compile like their enforced kinds, marked staged, and name the enforced policy
//   they shadow (same tier, namespace and name), for what-if evaluation.
// - Tiers: Calico's fixed tiers exist even when no Tier resource was given (default 1e6 Deny,
//   kube-admin 1000 Pass, kube-baseline 1e7 Pass). Policies of an unknown tier sort after every
//   known tier (Felix sorts invalid tiers last) with a Deny default.

import {
  FIXED_TIERS,
  type GlobalNetworkPolicy,
  type K8sNetworkPolicy,
  type NetworkPolicy,
  type Profile,
  type Rule,
  type StagedGlobalNetworkPolicy,
  type StagedKubernetesNetworkPolicy,
  type StagedNetworkPolicy,
  type Tier,
  K8S_NETWORK_POLICY_PREFIX,
  defaultPolicyTypes,
  k8sNetworkPolicyToCalico,
} from '../model/index.js';
import { parseSelector } from '../selector/index.js';
import { LABEL_NAMESPACE, andSelectors, compileRules, namespaceSelectorText } from './compile-rules.js';
import type { CompiledPolicy, CompiledProfile, CompiledTier, Direction, PolicyKindShort } from './ir.js';

type PolicySpec = {
  tier?: string | undefined;
  order?: number | undefined;
  selector?: string | undefined;
  namespaceSelector?: string | undefined;
  serviceAccountSelector?: string | undefined;
  types?: ('Ingress' | 'Egress')[] | undefined;
  ingress?: Rule[] | undefined;
  egress?: Rule[] | undefined;
  preDNAT?: boolean | undefined;
  doNotTrack?: boolean | undefined;
  applyOnForward?: boolean | undefined;
  stagedAction?: 'Set' | 'Delete' | 'Learn' | 'Ignore' | undefined;
};

const ENFORCED_OF: Record<string, PolicyKindShort> = { snp: 'np', sgnp: 'gnp', sknp: 'knp' };

export function policyId(kindShort: PolicyKindShort, namespace: string | undefined, name: string): string {
  return namespace === undefined ? `${kindShort}/${name}` : `${kindShort}/${namespace}/${name}`;
}

function compileSpec(kindShort: PolicyKindShort, kind: string, name: string, namespace: string | undefined, spec: PolicySpec, idName = name): CompiledPolicy {
  const id = policyId(kindShort, namespace, idName);
  const where = `${kind} ${namespace === undefined ? name : `${namespace}/${name}`}`;
  const scope = namespace === undefined ? undefined : `${LABEL_NAMESPACE} == '${namespace}'`;
  const sa = (spec.serviceAccountSelector ?? '') === '' ? undefined : parseSelector(spec.serviceAccountSelector!).withLabelPrefix('pcsa.').toString();
  const ns = (spec.namespaceSelector ?? '') === '' ? undefined : namespaceSelectorText(spec.namespaceSelector!);
  const selector = andSelectors([spec.selector, ns, scope, sa]) ?? parseSelector('all()');
  const types: Direction[] = (spec.types ?? defaultPolicyTypes(spec)).map((t) => (t === 'Ingress' ? 'ingress' : 'egress'));
  const ingress = compileRules(spec.ingress, namespace, `${where} spec.ingress`);
  const egress = compileRules(spec.egress, namespace, `${where} spec.egress`);
  const problems = [...ingress, ...egress].flatMap((r) => (r.refused === undefined ? [] : [r.refused]));
  const staged = kindShort in ENFORCED_OF;
  return {
    id,
    kindShort,
    kind,
    name,
    ...(namespace === undefined ? {} : { namespace }),
    tier: spec.tier ?? 'default',
    ...(spec.order === undefined ? {} : { order: spec.order }),
    staged,
    ...(staged ? { stagedAction: spec.stagedAction ?? 'Set', shadows: policyId(ENFORCED_OF[kindShort]!, namespace, idName) } : {}),
    selector,
    types,
    ingress,
    egress,
    preDNAT: spec.preDNAT === true,
    doNotTrack: spec.doNotTrack === true,
    applyOnForward: spec.applyOnForward === true,
    problems,
  };
}

const nameOf = (r: { metadata: { name?: string | undefined } }): string => r.metadata.name ?? '';
const nsOf = (r: { metadata: { namespace?: string | undefined } }): string => r.metadata.namespace ?? 'default';

export function compileGlobalNetworkPolicy(p: GlobalNetworkPolicy): CompiledPolicy {
  return compileSpec('gnp', 'GlobalNetworkPolicy', nameOf(p), undefined, p.spec);
}

export function compileNetworkPolicy(p: NetworkPolicy): CompiledPolicy {
  return compileSpec('np', 'NetworkPolicy', nameOf(p), nsOf(p), p.spec);
}

export function compileStagedGlobalNetworkPolicy(p: StagedGlobalNetworkPolicy): CompiledPolicy {
  return compileSpec('sgnp', 'StagedGlobalNetworkPolicy', nameOf(p), undefined, p.spec);
}

export function compileStagedNetworkPolicy(p: StagedNetworkPolicy): CompiledPolicy {
  return compileSpec('snp', 'StagedNetworkPolicy', nameOf(p), nsOf(p), p.spec);
}

export function compileKubernetesNetworkPolicy(p: K8sNetworkPolicy): CompiledPolicy {
  const calico = k8sNetworkPolicyToCalico({ ...p, metadata: { ...p.metadata, namespace: nsOf(p) } });
  return compileSpec('knp', 'KubernetesNetworkPolicy', calico.metadata.name ?? '', nsOf(p), calico.spec, nameOf(p));
}

/**
 * A Calico NetworkPolicy named knp.default.<name>: the stored conversion of Kubernetes policy
 * <name> (what kube-controllers, or Tabby's client, writes beside it). It gets the Kubernetes
 * policy's ID, so the pair counts once.
 */
export function compileConvertedKubernetesNetworkPolicy(p: NetworkPolicy): CompiledPolicy {
  const name = nameOf(p);
  return compileSpec('knp', 'KubernetesNetworkPolicy', name, nsOf(p), p.spec, name.slice(K8S_NETWORK_POLICY_PREFIX.length));
}

export function compileStagedKubernetesNetworkPolicy(p: StagedKubernetesNetworkPolicy): CompiledPolicy {
  const { stagedAction, ...k8sSpec } = p.spec as StagedKubernetesNetworkPolicy['spec'] & { stagedAction?: 'Set' | 'Delete' | 'Learn' | 'Ignore' };
  const asK8s = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { ...p.metadata, namespace: nsOf(p) }, spec: k8sSpec } as unknown as K8sNetworkPolicy;
  const calico = k8sNetworkPolicyToCalico(asK8s);
  return compileSpec('sknp', 'StagedKubernetesNetworkPolicy', calico.metadata.name ?? '', nsOf(p), { ...calico.spec, ...(stagedAction === undefined ? {} : { stagedAction }) }, nameOf(p));
}

export function compileProfile(p: Profile): CompiledProfile {
  const name = nameOf(p);
  return {
    id: `pro/${name}`,
    name,
    labelsToApply: Object.freeze({ ...(p.spec.labelsToApply ?? {}) }),
    ingress: compileRules(p.spec.ingress, undefined, `Profile ${name} spec.ingress`),
    egress: compileRules(p.spec.egress, undefined, `Profile ${name} spec.egress`),
  };
}

export function compileTier(t: Tier): CompiledTier {
  const name = nameOf(t);
  const fixed = FIXED_TIERS[name];
  const order = t.spec.order ?? fixed?.order;
  return { name, ...(order === undefined ? {} : { order }), defaultAction: t.spec.defaultAction ?? fixed?.defaultAction ?? 'Deny' };
}

/** A tier no Tier resource describes: Calico's fixed tiers, or an unknown one (sorted last). */
export function implicitTier(name: string): CompiledTier & { readonly known: boolean } {
  const fixed = FIXED_TIERS[name];
  if (fixed !== undefined) return { name, order: fixed.order, defaultAction: fixed.defaultAction, known: true };
  return { name, defaultAction: 'Deny', known: false };
}

const orderValue = (o: number | undefined): number => (o === undefined ? Number.POSITIVE_INFINITY : o);
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Felix's policy order inside a tier: order (unset last), then name, namespace and kind. */
export function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
  return orderValue(a.order) - orderValue(b.order) || cmp(a.name, b.name) || cmp(a.namespace ?? '', b.namespace ?? '') || cmp(a.kindShort, b.kindShort);
}

/** Felix's tier order: known tiers first, then order (unset last), then name. */
export function compareTiers(a: CompiledTier & { known?: boolean }, b: CompiledTier & { known?: boolean }): number {
  const ka = a.known === false ? 1 : 0;
  const kb = b.known === false ? 1 : 0;
  return ka - kb || orderValue(a.order) - orderValue(b.order) || cmp(a.name, b.name);
}
