// What applies to one endpoint: per stage, the tiers in order with their policies in order
// (Felix's PolicyResolver + PolicySorter output), and the profiles.
//
// Stages: workloads have ingress and egress. Host endpoints also have untracked (doNotTrack
// policies), preDNAT (preDNAT policies, ingress only) and forward (applyOnForward policies,
// for traffic forwarded through the host) stages; their normal stages hold every policy that is
// neither preDNAT nor doNotTrack. preDNAT and doNotTrack policies never apply to workloads.
// Staged policies are listed beside the enforced ones of their tier, never among them.
// An all-interfaces host endpoint (`interfaceName: "*"`) has no untracked stages: Felix ignores
// doNotTrack policy for it (with a warning), so its plan never lists one.

import { compareTiers, comparePolicies, implicitTier } from './compile-policies.js';
import type { CompiledPolicy, CompiledTier, EndpointKind } from './ir.js';

export const STAGES = ['ingress', 'egress', 'preDNAT', 'untrackedIngress', 'untrackedEgress', 'forwardIngress', 'forwardEgress'] as const;
export type Stage = (typeof STAGES)[number];

export interface TierPlan {
  readonly tier: string;
  readonly defaultAction: 'Deny' | 'Pass';
  /** Enforced policies, in order. */
  readonly policies: readonly string[];
  /** Staged policies of this tier selecting the endpoint, in order. */
  readonly staged: readonly string[];
}

export interface EndpointPlan {
  readonly stages: Partial<Record<Stage, readonly TierPlan[]>>;
  readonly profiles: readonly string[];
}

function stagesOf(p: CompiledPolicy, kind: EndpointKind, allInterfaces: boolean): Stage[] {
  const ingress = p.types.includes('ingress');
  const egress = p.types.includes('egress');
  const out: Stage[] = [];
  if (kind === 'workload') {
    if (p.preDNAT || p.doNotTrack) return out;
    if (ingress) out.push('ingress');
    if (egress) out.push('egress');
    return out;
  }
  if (p.doNotTrack) {
    if (allInterfaces) return out;
    if (ingress) out.push('untrackedIngress');
    if (egress) out.push('untrackedEgress');
    return out;
  }
  if (p.preDNAT) return ingress ? ['preDNAT'] : out;
  if (ingress) out.push('ingress');
  if (egress) out.push('egress');
  if (p.applyOnForward && ingress) out.push('forwardIngress');
  if (p.applyOnForward && egress) out.push('forwardEgress');
  return out;
}

/** The plan for an endpoint of `kind` selected by `policies`, with the tiers known today. */
export function buildPlan(kind: EndpointKind, policies: Iterable<CompiledPolicy>, tiers: ReadonlyMap<string, CompiledTier>, profiles: readonly string[], allInterfaces = false): EndpointPlan {
  const byStage = new Map<Stage, Map<string, CompiledPolicy[]>>();
  for (const p of policies) {
    for (const stage of stagesOf(p, kind, allInterfaces)) {
      let byTier = byStage.get(stage);
      if (byTier === undefined) byStage.set(stage, (byTier = new Map()));
      let list = byTier.get(p.tier);
      if (list === undefined) byTier.set(p.tier, (list = []));
      list.push(p);
    }
  }
  const stages: Partial<Record<Stage, TierPlan[]>> = {};
  for (const stage of STAGES) {
    const byTier = byStage.get(stage);
    if (byTier === undefined) continue;
    const tierInfos = [...byTier.keys()].map((t) => tiers.get(t) ?? implicitTier(t));
    tierInfos.sort(compareTiers);
    stages[stage] = tierInfos.map((t) => {
      const list = byTier.get(t.name)!.sort(comparePolicies);
      return { tier: t.name, defaultAction: t.defaultAction, policies: list.filter((p) => !p.staged).map((p) => p.id), staged: list.filter((p) => p.staged).map((p) => p.id) };
    });
  }
  return { stages, profiles: [...profiles] };
}

export function plansEqual(a: EndpointPlan | undefined, b: EndpointPlan | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
