// The flow evaluator: for one flow, which stage, tier, policy and rule decides, every policy
// consulted on the way and why it did not decide, and what each staged policy would change.
// `policy matrix` and `policy explain` both call evaluateFlow; the plans and IP sets it reads are
// the calculation graph's, the same the dataplane programs.
//
// Semantics (Felix's per-endpoint chains, calico-internals §2.2 and §6.3):
// - A flow passes the source endpoint's egress stage and the destination's ingress stage.
//   Addresses that are no endpoint have no stage (Tabby does not police them).
// - In a stage, tiers run in order; a tier takes part only if one of its enforced policies
//   selects the endpoint. Rules run in order: Allow and Deny decide, Pass leaves the tier, Log
//   notes and goes on. A tier nobody decided in drops the packet (end of tier) unless its
//   defaultAction is Pass.
// - After the tiers (none took part, or all passed), the endpoint's profiles run in order; a
//   missing profile denies (fail closed); if none decides the packet is dropped.
// - Host endpoints (Calico's "summary of host endpoint policies"): failsafe ports are allowed
//   first; then untracked, then preDNAT policy. Neither has a default drop: what they neither
//   allow nor deny goes on. An Allow there accepts the packet for that host endpoint, skipping
//   its later stages (untracked skips preDNAT and normal; preDNAT skips normal). Traffic
//   forwarded through a host endpoint sees only its applyOnForward policies, no profiles, and is
//   allowed when none applies; the destination workload's own policy still runs.
// - VXLAN (UDP to the overlay port, while a family has it in use: overlay.ts) to a node's address
//   is allowed from another node's address and denied from any other, after the destination's
//   untracked and preDNAT stages and instead of its failsafe ports and normal policy (Felix's
//   static INPUT rules); from a node's address to another node's it is allowed after the
//   source's untracked stage, instead of its failsafe ports and normal policy (static OUTPUT).
//   A pod's own UDP to the VXLAN port is denied before its egress policy while VXLAN is in use,
//   unless FelixConfiguration allowVXLANPacketsFromWorkloads.
// - IPv6 neighbour discovery and MLD (ICMPv6 130-133, 135, 136) to or from a host endpoint skip
//   every host endpoint stage of that side.
// - An all-interfaces host endpoint (`interfaceName: "*"`) of a node governs what no specific
//   host endpoint does: a flow to or from the node's addresses it holds, and the workload side of
//   every flow forwarded to or from the node's pods (its applyOnForward policy only; a flow
//   between a pod and its own node is not forwarded). It has no doNotTrack stage (Felix).
// - Staged policies never decide. For each one selecting an endpoint on the path, the flow is
//   evaluated again as if it were enforced (stagedAction Set: replacing the enforced policy it
//   shadows; Delete: with that policy gone) and the what-if verdict is reported.

import { type IPAddr, cidrContainsIP, formatIP, parseCIDR, parseIP } from '../ip/index.js';
import { comparePolicies } from './compile-policies.js';
import type { PolicyGraph } from './graph.js';
import type { CompiledRule, Direction, EndpointIR } from './ir.js';
import { type FlowPackets, protocolName, ruleMatches, rulesOf } from './match.js';
import type { EndpointPlan, Stage, TierPlan } from './plan.js';
import { isAllInterfaces } from './host-endpoints.js';

export interface FlowPeer {
  readonly ip: string;
  /** Filled in by the evaluator: "ns/pod", "host endpoint <name>", ... */
  readonly name?: string;
  /** The endpoint the address belongs to (found from the address when not given). */
  readonly endpoint?: string;
  readonly port?: number;
}

export interface Flow {
  readonly src: FlowPeer;
  readonly dst: FlowPeer;
  readonly protocol: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Host endpoint the flow arrives through and is forwarded on (applyOnForward, preDNAT). */
  readonly viaHostEndpoint?: string;
  /** Host endpoint a forwarded flow leaves by (its applyOnForward egress policy applies). */
  readonly leavesHostEndpoint?: string;
  /**
   * Where DNAT sends the flow (a node port to a pod): untracked and preDNAT policy see `dst`,
   * every later stage sees this. The host endpoint owning `dst` becomes the one the flow
   * arrives through when `viaHostEndpoint` is not given.
   */
  readonly dnat?: { readonly ip: string; readonly port?: number };
}

export type Decision =
  | { readonly by: 'rule'; readonly tier: string; readonly policy: string; readonly rule: number; readonly action: 'Allow' | 'Deny' | 'Pass'; readonly ruleText: unknown }
  | { readonly by: 'end-of-tier'; readonly tier: string }
  | { readonly by: 'profile'; readonly profile: string; readonly rule: number; readonly action: 'Allow' | 'Deny'; readonly ruleText: unknown }
  | { readonly by: 'missing-profile'; readonly profile: string }
  | { readonly by: 'no-profile-allowed' }
  | { readonly by: 'failsafe'; readonly protocol: string; readonly port: number }
  /** VXLAN to or from a node, ahead of host endpoint policy: `peer` says whether the other end is another node. */
  | { readonly by: 'overlay'; readonly port: number; readonly peer: boolean }
  /** IPv6 neighbour discovery or MLD to or from a host, ahead of host endpoint policy. */
  | { readonly by: 'neighbour-discovery'; readonly icmpType: number }
  | { readonly by: 'no-policy' };

export interface PolicyTrace {
  readonly policy: string;
  readonly outcome: 'allow' | 'deny' | 'pass' | 'no-match';
  readonly rule?: number;
  readonly logged: readonly number[];
  /** Why each rule did not match, in rule order (only for rules before the deciding one). */
  readonly misses: readonly { readonly rule: number; readonly reason: string }[];
}

export interface TierTrace {
  readonly tier: string;
  readonly defaultAction: 'Deny' | 'Pass';
  readonly policies: readonly PolicyTrace[];
  readonly outcome: 'allow' | 'deny' | 'pass' | 'end-of-tier-deny' | 'end-of-tier-pass';
}

export interface StageVerdict {
  readonly stage: Stage;
  readonly endpoint: string;
  /** What a person calls the endpoint: "ns/pod", "host endpoint <name>". */
  readonly endpointName: string;
  /** allow / deny decide; continue means the stage let the packet on to the next one. */
  readonly result: 'allow' | 'deny' | 'continue';
  readonly decision: Decision;
  readonly tiers: readonly TierTrace[];
}

export interface StagedVerdict {
  readonly policy: string;
  readonly stagedAction: string;
  readonly allowed: boolean;
  /** True when enforcing the staged policy would change the verdict. */
  readonly changes: boolean;
  readonly decision?: Decision;
}

export interface FlowVerdict {
  readonly allowed: boolean;
  readonly flow: {
    readonly src: FlowPeer;
    readonly dst: FlowPeer;
    readonly protocol: string;
    readonly icmpType?: number;
    readonly icmpCode?: number;
    readonly dnat?: { readonly ip: string; readonly port?: number };
    /** As given (Flow.viaHostEndpoint, Flow.leavesHostEndpoint). */
    readonly viaHostEndpoint?: string;
    readonly leavesHostEndpoint?: string;
  };
  readonly stages: readonly StageVerdict[];
  /** The stage that decided (the first deny, or the last allow). */
  readonly decidedBy?: StageVerdict;
  readonly staged: readonly StagedVerdict[];
}

/** Overrides for what-if evaluation of a staged policy. */
interface WhatIf {
  readonly add?: string;
  readonly remove?: string;
}

function resolvePeer(graph: PolicyGraph, p: FlowPeer): { ip: string; endpoint?: EndpointIR; port?: number } {
  const ip = formatIP(parseIP(p.ip));
  let ep = p.endpoint === undefined ? undefined : graph.endpoint(p.endpoint);
  if (ep === undefined && p.endpoint === undefined) {
    // An interface-specific host endpoint wins over an all-interfaces one holding the same
    // address (Felix: the named or address-matched endpoint governs its interface).
    const eps = graph.endpointsWithNet(`${ip}/${ip.includes(':') ? 128 : 32}`).map((id) => graph.endpoint(id)!);
    ep = eps.find((e) => !isAllInterfaces(e)) ?? eps[0];
  }
  return { ip, ...(ep === undefined ? {} : { endpoint: ep }), ...(p.port === undefined ? {} : { port: p.port }) };
}

export function evaluateFlow(graph: PolicyGraph, flow: Flow): FlowVerdict {
  const src = resolvePeer(graph, flow.src);
  const original = resolvePeer(graph, flow.dst);
  const dst = flow.dnat === undefined ? original : resolvePeer(graph, { ip: flow.dnat.ip, ...(flow.dnat.port === undefined ? {} : { port: flow.dnat.port }) });
  const packets: FlowPackets = {
    src: { ip: src.ip, ...(src.port === undefined ? {} : { port: src.port }) },
    dst: { ip: dst.ip, ...(dst.port === undefined ? {} : { port: dst.port }) },
    protocol: flow.protocol,
    ...(flow.icmpType === undefined ? {} : { icmpType: flow.icmpType }),
    ...(flow.icmpCode === undefined ? {} : { icmpCode: flow.icmpCode }),
  };
  const preDnat: FlowPackets = flow.dnat === undefined ? packets : { ...packets, dst: { ip: original.ip, ...(original.port === undefined ? {} : { port: original.port }) } };
  const sameNode = (a: EndpointIR | undefined, b: EndpointIR | undefined): boolean => a !== undefined && b !== undefined && a.node === b.node;
  // A pod's packet to a node port of its own node comes in on the pod's interface, where no
  // host endpoint's untracked or preDNAT policy applies (Felix skips workload interfaces there).
  const via =
    flow.viaHostEndpoint !== undefined
      ? graph.endpoint(flow.viaHostEndpoint)
      : flow.dnat !== undefined && original.endpoint?.kind === 'host' && !(src.endpoint?.kind === 'workload' && sameNode(src.endpoint, original.endpoint))
        ? original.endpoint
        : undefined;
  let out = flow.leavesHostEndpoint === undefined ? undefined : graph.endpoint(flow.leavesHostEndpoint);
  // A workload's side of a forwarded flow: its interface is held by no specific host endpoint,
  // so the node's all-interfaces endpoint (if any) applies its applyOnForward policy there —
  // arriving from the source pod, leaving to the destination pod. Traffic between a pod and its
  // own node (input/output) is not forwarded and never sees it.
  let viaFwd = via;
  const local = (a: EndpointIR | undefined, b: EndpointIR | undefined): boolean => a?.kind === 'host' && sameNode(a, b);
  if (viaFwd === undefined && src.endpoint?.kind === 'workload' && !local(dst.endpoint, src.endpoint)) viaFwd = graph.allInterfacesEndpoint(src.endpoint.node ?? '');
  if (out === undefined && dst.endpoint?.kind === 'workload' && !local(src.endpoint, dst.endpoint)) out = graph.allInterfacesEndpoint(dst.endpoint.node ?? '');
  // Between a pod and its own node no host endpoint policy applies: the host's packet leaves by
  // the pod's interface, the pod's arrives on it (Felix: workload interfaces never reach the host
  // endpoint dispatch); only the pod's own policy runs.
  const pathSrc = src.endpoint?.kind === 'host' && dst.endpoint?.kind === 'workload' && sameNode(src.endpoint, dst.endpoint) ? undefined : src.endpoint;
  const pathDst = dst.endpoint?.kind === 'host' && src.endpoint?.kind === 'workload' && sameNode(src.endpoint, dst.endpoint) ? undefined : dst.endpoint;
  const run = (whatIf: WhatIf): StageVerdict[] => evaluatePath(graph, packets, preDnat, pathSrc, pathDst, via, viaFwd, out, whatIf);
  const stages = run({});
  const allowed = verdictOf(stages);
  const staged: StagedVerdict[] = [];
  const seen = new Set<string>();
  for (const ep of [src.endpoint, dst.endpoint, via, viaFwd, out]) {
    if (ep === undefined) continue;
    const plan = graph.planFor(ep.id);
    for (const tiers of Object.values(plan?.stages ?? {})) {
      for (const t of tiers) {
        for (const id of t.staged) {
          if (seen.has(id)) continue;
          seen.add(id);
          const p = graph.policy(id)!;
          const whatIf: WhatIf = p.stagedAction === 'Delete' ? { remove: p.shadows! } : p.stagedAction === 'Set' ? { add: id, remove: p.shadows! } : {};
          const again = run(whatIf);
          const a = verdictOf(again);
          const d = decidingStage(again)?.decision;
          staged.push({ policy: id, stagedAction: p.stagedAction ?? 'Set', allowed: a, changes: a !== allowed, ...(d === undefined ? {} : { decision: d }) });
        }
      }
    }
  }
  const decided = decidingStage(stages);
  return {
    allowed,
    flow: {
      src: { ip: src.ip, ...(src.endpoint ? { endpoint: src.endpoint.id, name: displayName(src.endpoint) } : {}), ...(src.port === undefined ? {} : { port: src.port }) },
      // What the client addressed (before any DNAT; `dnat` says where the flow went).
      dst: { ip: original.ip, ...(original.endpoint ? { endpoint: original.endpoint.id, name: displayName(original.endpoint) } : {}), ...(original.port === undefined ? {} : { port: original.port }) },
      protocol: protocolName(flow.protocol),
      ...(flow.icmpType === undefined ? {} : { icmpType: flow.icmpType }),
      ...(flow.icmpCode === undefined ? {} : { icmpCode: flow.icmpCode }),
      ...(flow.dnat === undefined ? {} : { dnat: { ...flow.dnat } }),
      ...(flow.viaHostEndpoint === undefined ? {} : { viaHostEndpoint: flow.viaHostEndpoint }),
      ...(flow.leavesHostEndpoint === undefined ? {} : { leavesHostEndpoint: flow.leavesHostEndpoint }),
    },
    stages,
    ...(decided === undefined ? {} : { decidedBy: decided }),
    staged,
  };
}

function verdictOf(stages: readonly StageVerdict[]): boolean {
  return !stages.some((s) => s.result === 'deny');
}

function decidingStage(stages: readonly StageVerdict[]): StageVerdict | undefined {
  return stages.find((s) => s.result === 'deny') ?? [...stages].reverse().find((s) => s.result === 'allow');
}

/**
 * Every stage on the flow's path, stopping at the first deny. `preDnat` is the flow as the
 * untracked and preDNAT stages of the arrival host endpoint see it (before any DNAT).
 */
function evaluatePath(graph: PolicyGraph, flow: FlowPackets, preDnat: FlowPackets, src: EndpointIR | undefined, dst: EndpointIR | undefined, via: EndpointIR | undefined, viaFwd: EndpointIR | undefined, out: EndpointIR | undefined, whatIf: WhatIf): StageVerdict[] {
  const verdicts: StageVerdict[] = [];
  /** [endpoint, stage, direction, packets] or a verdict decided ahead of policy (overlay). */
  const steps: ([EndpointIR | undefined, Stage, Direction, FlowPackets?] | StageVerdict)[] = [];
  if (via !== undefined) steps.push([via, 'untrackedIngress', 'ingress', preDnat], [via, 'preDNAT', 'ingress', preDnat]);
  if (viaFwd !== undefined) steps.push([viaFwd, 'forwardIngress', 'ingress']);
  // Neighbour discovery to or from a host skips that side's host endpoint stages altogether.
  const srcNd = src?.kind === 'host' ? neighbourDiscoveryHit(flow, src, 'egress') : undefined;
  const dstNd = dst?.kind === 'host' ? neighbourDiscoveryHit(flow, dst, 'ingress') : undefined;
  // VXLAN from a node: after its untracked stage, instead of its failsafe ports and policy.
  const srcOverlay = srcNd === undefined ? overlayHit(graph, flow, src, 'egress') : undefined;
  // Failsafe rules come before every policy stage of a host endpoint, untracked and preDNAT too.
  const srcFailsafe = src?.kind === 'host' && srcOverlay === undefined && srcNd === undefined ? failsafeHit(graph, flow, src, 'egress') : undefined;
  if (srcNd !== undefined) verdicts.push(srcNd);
  else if (srcOverlay !== undefined) {
    if (src?.kind === 'host') steps.push([src, 'untrackedEgress', 'egress']);
    steps.push(srcOverlay);
  } else if (srcFailsafe !== undefined) verdicts.push(srcFailsafe);
  else {
    if (src?.kind === 'host') steps.push([src, 'untrackedEgress', 'egress']);
    // A pod's own VXLAN is dropped before its egress policy (Felix).
    const o = graph.overlay();
    if (src?.kind === 'workload' && o?.workloadDrop === true && flow.protocol === 17 && flow.dst.port === o.port) {
      steps.push({ stage: 'egress', endpoint: src.id, endpointName: displayName(src), result: 'deny', decision: { by: 'overlay', port: o.port, peer: false }, tiers: [] });
    }
    steps.push([src, 'egress', 'egress']);
  }
  // VXLAN to a node: after its untracked and preDNAT stages, instead of failsafe ports and policy.
  const dstOverlay = dstNd === undefined ? overlayHit(graph, flow, dst, 'ingress') : undefined;
  const dstFailsafe = dst?.kind === 'host' && dstOverlay === undefined && dstNd === undefined ? failsafeHit(graph, flow, dst, 'ingress') : undefined;
  if (dstOverlay !== undefined) {
    if (dst?.kind === 'host') steps.push([dst, 'untrackedIngress', 'ingress'], [dst, 'preDNAT', 'ingress']);
    steps.push(dstOverlay);
  } else if (dstFailsafe === undefined && dstNd === undefined) {
    if (dst?.kind === 'host') steps.push([dst, 'untrackedIngress', 'ingress'], [dst, 'preDNAT', 'ingress']);
    steps.push([dst, 'ingress', 'ingress']);
  }
  // Leaving by a host endpoint after the workload chains (Felix's to-hep-forward comes last).
  if (out !== undefined) steps.push([out, 'forwardEgress', 'egress']);
  // An untracked or preDNAT Allow accepts the packet at that host endpoint: its later stages of
  // the same direction do not run (leaving by it, forwardEgress, still does: Felix's
  // to-host-endpoint forward dispatch does not look at the accept mark). The overlay rules do
  // not look at it either.
  const accepted = new Set<string>();
  for (const step of steps) {
    if (!Array.isArray(step)) {
      verdicts.push(step);
      if (step.result === 'deny') return verdicts;
      continue;
    }
    const [ep, stage, direction, packets] = step;
    if (ep === undefined || ep.kind === 'networkset' || accepted.has(`${ep.id}|${direction}`)) continue;
    const v = evaluateStage(graph, packets ?? flow, ep, stage, direction, whatIf);
    if (v === undefined) continue;
    verdicts.push(v);
    if (v.result === 'deny') return verdicts;
    if (v.result === 'allow' && (stage === 'preDNAT' || stage.startsWith('untracked'))) accepted.add(`${ep.id}|${direction}`);
  }
  if (dstFailsafe !== undefined) verdicts.push(dstFailsafe);
  if (dstNd !== undefined) verdicts.push(dstNd);
  return verdicts;
}

/** ICMPv6 types a host endpoint never stops (renderer NDP_TYPES): MLD, RS, NS, NA. */
const NEIGHBOUR_DISCOVERY = new Set([130, 131, 132, 133, 135, 136]);

function neighbourDiscoveryHit(flow: FlowPackets, ep: EndpointIR, direction: Direction): StageVerdict | undefined {
  if (flow.protocol !== 58 || flow.icmpType === undefined || !NEIGHBOUR_DISCOVERY.has(flow.icmpType)) return undefined;
  return { stage: direction, endpoint: ep.id, endpointName: displayName(ep), result: 'allow', decision: { by: 'neighbour-discovery', icmpType: flow.icmpType }, tiers: [] };
}

/**
 * VXLAN between nodes (overlay.ts): arriving at a node (its underlay address, or a host
 * endpoint's address on it), allowed from another node's address and denied from anything
 * else; leaving a node for another node's address, allowed. undefined when it is not VXLAN.
 */
function overlayHit(graph: PolicyGraph, flow: FlowPackets, ep: EndpointIR | undefined, direction: Direction): StageVerdict | undefined {
  const o = graph.overlay();
  if (o === undefined || flow.protocol !== 17 || flow.dst.port !== o.port) return undefined;
  const [mine, other] = direction === 'ingress' ? [flow.dst.ip, flow.src.ip] : [flow.src.ip, flow.dst.ip];
  const family = mine.includes(':') ? 6 : 4;
  if (!o.families.includes(family)) return undefined;
  const node = graph.nodeOfAddress(mine) ?? (ep?.kind === 'host' ? ep.node : undefined);
  if (node === undefined) return undefined;
  const otherNode = graph.nodeOfAddress(other);
  const peer = otherNode !== undefined && otherNode !== node;
  if (direction === 'egress' && !peer) return undefined;
  return {
    stage: direction,
    endpoint: ep?.id ?? `node/${node}`,
    endpointName: ep === undefined ? `node ${node}` : displayName(ep),
    result: peer ? 'allow' : 'deny',
    decision: { by: 'overlay', port: o.port, peer },
    tiers: [],
  };
}

function failsafeHit(graph: PolicyGraph, flow: FlowPackets, ep: EndpointIR, direction: Direction): StageVerdict | undefined {
  const list = direction === 'ingress' ? graph.failsafePorts().inbound : graph.failsafePorts().outbound;
  const peer = parseIP(direction === 'ingress' ? flow.src.ip : flow.dst.ip);
  const hit = list.find((f) => f.protocol === flow.protocol && f.port === flow.dst.port && (f.net === undefined || netContains(f.net, peer)));
  if (hit === undefined) return undefined;
  return { stage: direction, endpoint: ep.id, endpointName: displayName(ep), result: 'allow', decision: { by: 'failsafe', protocol: protocolName(hit.protocol), port: hit.port }, tiers: [] };
}

export function displayName(ep: EndpointIR): string {
  if (ep.kind === 'workload') return `${ep.namespace}/${ep.pod ?? ep.name}`;
  if (ep.kind === 'host') return `host endpoint ${ep.name}`;
  return ep.namespace === undefined ? `global network set ${ep.name}` : `network set ${ep.namespace}/${ep.name}`;
}

function netContains(net: string, ip: IPAddr): boolean {
  const c = parseCIDR(net, { lenient: true });
  return c.family === ip.family && cidrContainsIP(c, ip);
}

function applyWhatIf(t: TierPlan, graph: PolicyGraph, whatIf: WhatIf): string[] {
  let list = t.policies.filter((id) => id !== whatIf.remove);
  if (whatIf.add !== undefined && t.staged.includes(whatIf.add)) {
    list = [...list, whatIf.add].sort((a, b) => comparePolicies(graph.policy(a)!, graph.policy(b)!));
  }
  return list;
}

function evaluateStage(graph: PolicyGraph, flow: FlowPackets, ep: EndpointIR, stage: Stage, direction: Direction, whatIf: WhatIf): StageVerdict | undefined {
  const plan: EndpointPlan | undefined = graph.planFor(ep.id);
  if (plan === undefined) return undefined;
  const tiers: TierTrace[] = [];
  const noDefaultDrop = stage === 'preDNAT' || stage.startsWith('untracked');
  for (const t of plan.stages[stage] ?? []) {
    const enforced = applyWhatIf(t, graph, whatIf);
    if (enforced.length === 0) continue;
    const traces: PolicyTrace[] = [];
    let outcome: TierTrace['outcome'] | undefined;
    let decision: Decision | undefined;
    for (const id of enforced) {
      const p = graph.policy(id)!;
      const trace = evaluateRules(graph, rulesOf(p, direction), flow);
      traces.push({ policy: id, ...trace });
      if (trace.outcome === 'no-match') continue;
      const rule = rulesOf(p, direction)[trace.rule!]!;
      decision = { by: 'rule', tier: t.tier, policy: id, rule: trace.rule!, action: rule.action as 'Allow' | 'Deny' | 'Pass', ruleText: rule.original };
      outcome = trace.outcome;
      break;
    }
    if (outcome === 'allow' || outcome === 'deny') {
      tiers.push({ tier: t.tier, defaultAction: t.defaultAction, policies: traces, outcome });
      return { stage, endpoint: ep.id, endpointName: displayName(ep), result: outcome, decision: decision!, tiers };
    }
    // Untracked and preDNAT policy have no default drop: the packet goes on.
    if (outcome === 'pass' || t.defaultAction === 'Pass' || noDefaultDrop) {
      tiers.push({ tier: t.tier, defaultAction: t.defaultAction, policies: traces, outcome: outcome === 'pass' ? 'pass' : 'end-of-tier-pass' });
      continue;
    }
    tiers.push({ tier: t.tier, defaultAction: t.defaultAction, policies: traces, outcome: 'end-of-tier-deny' });
    return { stage, endpoint: ep.id, endpointName: displayName(ep), result: 'deny', decision: { by: 'end-of-tier', tier: t.tier }, tiers };
  }
  if (stage === 'preDNAT' || stage.startsWith('untracked')) return tiers.length === 0 ? undefined : { stage, endpoint: ep.id, endpointName: displayName(ep), result: 'continue', decision: { by: 'no-policy' }, tiers };
  if (stage.startsWith('forward')) return { stage, endpoint: ep.id, endpointName: displayName(ep), result: 'allow', decision: { by: 'no-policy' }, tiers };
  for (const name of plan.profiles) {
    const prof = graph.profile(name);
    if (prof === undefined) return { stage, endpoint: ep.id, endpointName: displayName(ep), result: 'deny', decision: { by: 'missing-profile', profile: name }, tiers };
    const trace = evaluateRules(graph, rulesOf(prof, direction), flow);
    if (trace.outcome === 'allow' || trace.outcome === 'deny') {
      const rule = rulesOf(prof, direction)[trace.rule!]!;
      return { stage, endpoint: ep.id, endpointName: displayName(ep), result: trace.outcome, decision: { by: 'profile', profile: name, rule: trace.rule!, action: rule.action as 'Allow' | 'Deny', ruleText: rule.original }, tiers };
    }
  }
  return { stage, endpoint: ep.id, endpointName: displayName(ep), result: 'deny', decision: { by: 'no-profile-allowed' }, tiers };
}

function evaluateRules(graph: PolicyGraph, rules: readonly CompiledRule[], flow: FlowPackets): Omit<PolicyTrace, 'policy'> {
  const logged: number[] = [];
  const misses: { rule: number; reason: string }[] = [];
  for (const r of rules) {
    const m = ruleMatches(graph, r, flow);
    if (!m.matched) {
      misses.push({ rule: r.index, reason: m.reason });
      continue;
    }
    if (r.action === 'Log') {
      logged.push(r.index);
      continue;
    }
    return { outcome: r.action === 'Allow' ? 'allow' : r.action === 'Deny' ? 'deny' : 'pass', rule: r.index, logged, misses };
  }
  return { outcome: 'no-match', logged, misses };
}
