// Policy kinds (calico-internals §2.2): NetworkPolicy, GlobalNetworkPolicy, their staged forms,
// StagedKubernetesNetworkPolicy, Tier and Profile.
//
// Names: NetworkPolicy "label" or "label.label" (or knp.default./ossg.default. + subdomain);
// GlobalNetworkPolicy "label" or "label.label"; Tier a DNS label (≤ 63). Types: Ingress/Egress,
// no repeats; when absent Calico fills them from the rules present (both when both, Egress when
// only egress, else Ingress). GNP: preDNAT and doNotTrack exclude each other and need
// applyOnForward; preDNAT takes no egress. Staged policies with stagedAction Delete carry
// nothing but the tier. Tier: default (order 1e6, Deny), kube-admin (1000, Pass) and
// kube-baseline (1e7, Pass) are fixed.

import * as v from 'valibot';
import { type DefaultRule, defaultRule } from '../defaults.js';
import { CALICO_API_VERSION } from '../kinds.js';
import { checkDNS1123Label, checkDNS1123Subdomain, checkLabelKey, checkLabelValue } from '../names.js';
import { type RuleIssue, bool, check, withRules, list, num, obj, oneOf, opt, str, strMap } from '../schema-kit.js';
import { type NameRule, envelope, envelopeWithStatus } from './envelope.js';
import { EgressRule, IngressRule, type Rule, policySelectorField } from './rules.js';
import { K8sNetworkPolicySpecShape, k8sNetworkPolicySpecRules } from './k8s.js';

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
const NP_NAME = new RegExp(`^((${LABEL})(\\.${LABEL})?|((knp|ossg)\\.default\\.(${SUBDOMAIN})))$`);
const GNP_NAME = new RegExp(`^(${LABEL}\\.)?${LABEL}$`);

function policyName(regex: RegExp, what: string): NameRule {
  return (name) => {
    if (name.length > 253) return { rule: 'name', message: `name is too long by ${name.length - 253} characters (at most 253)` };
    if (!regex.test(name)) {
      return { rule: 'name', message: `${what} name ${JSON.stringify(name)} must be a DNS label of lower-case letters, digits and "-", optionally with one "." (e.g. "allow-web" or "tier1.allow-web")` };
    }
    return undefined;
  };
}

const PolicyTypes = ['Ingress', 'Egress'] as const;
const StagedActions = ['Set', 'Delete', 'Learn', 'Ignore'] as const;

const tierName = () =>
  v.pipe(
    str(),
    check('tier-name', (s: string) => checkDNS1123Label(s, 'tier')),
  );

const PolicyStatus = obj({ conditions: opt(list(v.looseObject({}))) });

/** Fields every policy spec shares. */
const commonSpec = {
  tier: opt(tierName()),
  order: opt(num()),
  selector: opt(policySelectorField()),
  types: opt(list(oneOf(PolicyTypes), 2)),
  ingress: opt(list(IngressRule, 1024)),
  egress: opt(list(EgressRule, 1024)),
  serviceAccountSelector: opt(policySelectorField()),
  performanceHints: opt(list(oneOf(['AssumeNeededOnEveryNode'] as const))),
};

interface CommonSpec {
  tier?: string | undefined;
  types?: ('Ingress' | 'Egress')[] | undefined;
  ingress?: Rule[] | undefined;
  egress?: Rule[] | undefined;
  performanceHints?: string[] | undefined;
}

function commonRules(s: CommonSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const seen = new Set<string>();
  (s.types ?? []).forEach((t, i) => {
    if (seen.has(t)) issues.push({ path: ['types', i], rule: 'duplicate-type', message: `'${t}' type specified more than once` });
    seen.add(t);
  });
  if (s.types !== undefined && s.types.length === 0) {
    issues.push({ path: ['types'], rule: 'types-empty', message: 'types must list Ingress, Egress or both (or be left out to have it filled in)' });
  }
  const hints = new Set<string>();
  (s.performanceHints ?? []).forEach((h, i) => {
    if (hints.has(h)) issues.push({ path: ['performanceHints', i], rule: 'duplicate', message: `${h} is listed twice` });
    hints.add(h);
  });
  return issues;
}

interface GlobalSpec extends CommonSpec {
  doNotTrack?: boolean | undefined;
  preDNAT?: boolean | undefined;
  applyOnForward?: boolean | undefined;
}

function globalRules(s: GlobalSpec): RuleIssue[] {
  const issues = commonRules(s);
  const add = (path: (string | number)[], rule: string, message: string) => issues.push({ path, rule, message });
  if (s.doNotTrack && s.preDNAT) add(['preDNAT'], 'prednat-donottrack', 'preDNAT and doNotTrack cannot both be true');
  if (s.preDNAT && (s.egress ?? []).length > 0) add(['egress'], 'prednat-egress', 'a preDNAT policy cannot have egress rules');
  if (s.preDNAT && (s.types ?? []).includes('Egress')) add(['types'], 'prednat-egress', "a preDNAT policy cannot have the 'Egress' type");
  if (!s.applyOnForward && (s.doNotTrack || s.preDNAT)) {
    add(['applyOnForward'], 'apply-on-forward', 'applyOnForward must be true when preDNAT or doNotTrack is true');
  }
  // Global policies have no namespace of their own: a service named in a rule needs one.
  (s.egress ?? []).forEach((r, i) => {
    if (r.destination?.services !== undefined && (r.destination.services.namespace ?? '') === '') {
      add(['egress', i, 'destination', 'services', 'namespace'], 'services-namespace', 'a global policy must give the namespace of the service');
    }
  });
  (s.ingress ?? []).forEach((r, i) => {
    if (r.source?.services !== undefined && (r.source.services.namespace ?? '') === '') {
      add(['ingress', i, 'source', 'services', 'namespace'], 'services-namespace', 'a global policy must give the namespace of the service');
    }
  });
  return issues;
}

/** Staged Delete: the spec says only which policy (and tier) to delete. */
function stagedDeleteRules(s: Record<string, unknown>): RuleIssue[] {
  if (s.stagedAction !== 'Delete') return [];
  return Object.keys(s)
    .filter((k) => k !== 'stagedAction' && k !== 'tier')
    .map((k) => ({ path: [k], rule: 'staged-delete', message: 'with stagedAction Delete, every spec field except tier must be empty' }));
}

const NetworkPolicySpecShape = obj({ ...commonSpec });
const GlobalNetworkPolicySpecShape = obj({
  ...commonSpec,
  doNotTrack: opt(bool()),
  preDNAT: opt(bool()),
  applyOnForward: opt(bool()),
  namespaceSelector: opt(policySelectorField()),
});
const StagedNetworkPolicySpecShape = obj({ ...commonSpec, stagedAction: opt(oneOf(StagedActions)) });
const StagedGlobalNetworkPolicySpecShape = obj({
  ...GlobalNetworkPolicySpecShape.entries,
  stagedAction: opt(oneOf(StagedActions)),
});

export const NetworkPolicySchema = envelopeWithStatus('NetworkPolicy', {
  apiVersion: CALICO_API_VERSION,
  namespaced: true,
  spec: withRules(NetworkPolicySpecShape, commonRules),
  status: PolicyStatus,
  name: policyName(NP_NAME, 'NetworkPolicy'),
});

export const GlobalNetworkPolicySchema = envelope('GlobalNetworkPolicy', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(GlobalNetworkPolicySpecShape, globalRules),
  name: policyName(GNP_NAME, 'GlobalNetworkPolicy'),
});

export const StagedNetworkPolicySchema = envelope('StagedNetworkPolicy', {
  apiVersion: CALICO_API_VERSION,
  namespaced: true,
  spec: withRules(StagedNetworkPolicySpecShape, (s: v.InferOutput<typeof StagedNetworkPolicySpecShape>) =>
      s.stagedAction === 'Delete' ? stagedDeleteRules(s) : commonRules(s),),
  name: policyName(NP_NAME, 'StagedNetworkPolicy'),
});

export const StagedGlobalNetworkPolicySchema = envelope('StagedGlobalNetworkPolicy', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: withRules(StagedGlobalNetworkPolicySpecShape, (s: v.InferOutput<typeof StagedGlobalNetworkPolicySpecShape>) =>
      s.stagedAction === 'Delete' ? stagedDeleteRules(s) : globalRules(s),),
  name: policyName(GNP_NAME, 'StagedGlobalNetworkPolicy'),
});

const StagedKNPSpecShape = obj({ ...K8sNetworkPolicySpecShape.entries, stagedAction: opt(oneOf(StagedActions)) });
export const StagedKubernetesNetworkPolicySchema = envelope('StagedKubernetesNetworkPolicy', {
  apiVersion: CALICO_API_VERSION,
  namespaced: true,
  spec: withRules(StagedKNPSpecShape, (s: v.InferOutput<typeof StagedKNPSpecShape>) => {
      if (s.stagedAction !== 'Delete') return k8sNetworkPolicySpecRules(s);
      return Object.keys(s)
        .filter((k) => k !== 'stagedAction')
        .map((k) => ({ path: [k], rule: 'staged-delete', message: 'with stagedAction Delete, every other spec field must be empty' }));
    }),
});

// ---- Tier -----------------------------------------------------------------------------------

/** The tiers Calico creates itself, with the order and default action they must keep. */
export const FIXED_TIERS: Readonly<Record<string, { order: number; defaultAction: 'Deny' | 'Pass' }>> = {
  default: { order: 1_000_000, defaultAction: 'Deny' },
  'kube-admin': { order: 1_000, defaultAction: 'Pass' },
  'kube-baseline': { order: 10_000_000, defaultAction: 'Pass' },
};

const TierSpecShape = obj({ order: opt(num()), defaultAction: opt(oneOf(['Deny', 'Pass'] as const)) });

export const TierSchema = envelope('Tier', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: TierSpecShape,
  name: (name) => {
    const m = checkDNS1123Label(name, 'tier name');
    return m === undefined ? undefined : { rule: 'tier-name', message: m };
  },
  rules: (r) => {
    const name = r.metadata.name ?? '';
    const fixed = FIXED_TIERS[name];
    if (fixed === undefined) return [];
    const spec = r.spec as v.InferOutput<typeof TierSpecShape>;
    const issues: RuleIssue[] = [];
    if (spec.order !== fixed.order) {
      issues.push({ path: ['spec', 'order'], rule: 'fixed-tier-order', message: `the '${name}' tier's order must be ${fixed.order}` });
    }
    if ((spec.defaultAction ?? 'Deny') !== fixed.defaultAction) {
      issues.push({ path: ['spec', 'defaultAction'], rule: 'fixed-tier-action', message: `the '${name}' tier must have default action '${fixed.defaultAction}'` });
    }
    return issues;
  },
});

// ---- Profile --------------------------------------------------------------------------------

const ProfileSpecShape = obj({
  ingress: opt(list(IngressRule, 1024)),
  egress: opt(list(EgressRule, 1024)),
  labelsToApply: opt(
    withRules(strMap(), (labels: Record<string, string>) =>
        Object.entries(labels).flatMap(([k, val]) => {
          const bad = checkLabelKey(k) ?? checkLabelValue(val);
          return bad === undefined ? [] : [{ path: [k], rule: 'label', message: bad }];
        }),),
  ),
});

export const ProfileSchema = envelope('Profile', {
  apiVersion: CALICO_API_VERSION,
  namespaced: false,
  spec: ProfileSpecShape,
  name: (name) => {
    const m = checkDNS1123Subdomain(name);
    return m === undefined ? undefined : { rule: 'name', message: m };
  },
});

export type NetworkPolicy = v.InferOutput<typeof NetworkPolicySchema>;
export type GlobalNetworkPolicy = v.InferOutput<typeof GlobalNetworkPolicySchema>;
export type StagedNetworkPolicy = v.InferOutput<typeof StagedNetworkPolicySchema>;
export type StagedGlobalNetworkPolicy = v.InferOutput<typeof StagedGlobalNetworkPolicySchema>;
export type StagedKubernetesNetworkPolicy = v.InferOutput<typeof StagedKubernetesNetworkPolicySchema>;
export type Tier = v.InferOutput<typeof TierSchema>;
export type Profile = v.InferOutput<typeof ProfileSchema>;

// ---- Defaults -------------------------------------------------------------------------------

/** Calico's default for `types`: from the rules present (see the file header). */
export function defaultPolicyTypes(spec: { ingress?: unknown[] | undefined; egress?: unknown[] | undefined }): ('Ingress' | 'Egress')[] {
  const hasIn = (spec.ingress ?? []).length > 0;
  const hasEg = (spec.egress ?? []).length > 0;
  if (hasIn && hasEg) return ['Ingress', 'Egress'];
  if (hasEg) return ['Egress'];
  return ['Ingress'];
}

type AnyPolicy = { spec: { ingress?: unknown[] | undefined; egress?: unknown[] | undefined; stagedAction?: string | undefined } };

export const policyDefaults: readonly DefaultRule<AnyPolicy>[] = [
  defaultRule('spec.tier', () => 'default'),
  defaultRule('spec.types', (r) => (r.spec.stagedAction === 'Delete' ? undefined : defaultPolicyTypes(r.spec))),
];

export const tierDefaults: readonly DefaultRule<Tier>[] = [defaultRule('spec.defaultAction', () => 'Deny')];

