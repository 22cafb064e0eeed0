// The policy calculation graph (Felix's calc graph, DESIGN.md §6): typed resource updates in,
// per-endpoint plans, policies, profiles and IP set deltas out. Pure and incremental.
//
// Flow of one update:
//   resource → compiled IR (compile-*.ts, endpoints.ts)
//   endpoints' effective labels (own labels over their profiles' labelsToApply) → LabelIndex
//   LabelIndex match started/stopped → IP set members (selector and named-port sets) and the
//   endpoints whose plan must be recomputed (a policy's selector started or stopped matching)
//   flush → events in Felix's EventSequencer order.
// Cost follows what changed: an endpoint's label change evaluates only the selectors filed
// under its labels; a policy change touches its own selectors and the endpoints they match.
//
// Invariants:
// - A selector is in the index while anything refers to it (policy applied-to selectors and
//   rule selectors, counted); it has an IP set while a rule refers to it.
// - An endpoint contributes its current nets/ports to exactly the sets of the selectors it
//   matches now.
// - A Pod and the WorkloadEndpoint the CNI plugin wrote for it share an ID; the
//   WorkloadEndpoint wins while it exists, but its labels are the Pod's while the Pod exists
//   (a label change after CNI ADD takes effect, see workloadOf).
// - "Local" endpoints (on `localNode`, or all workload and host endpoints when no node is
//   given, as the CLI wants) get plans; every endpoint feeds the IP sets.

import { createHash } from 'node:crypto';
import {
  K8S_NETWORK_POLICY_PREFIX,
  type FelixConfiguration,
  type IPPool,
  type Node,
  type GlobalNetworkPolicy,
  type GlobalNetworkSet,
  type HostEndpoint,
  type K8sNetworkPolicy,
  type Namespace,
  type NetworkPolicy,
  type NetworkSet,
  type Pod,
  type Profile,
  type StagedGlobalNetworkPolicy,
  type StagedKubernetesNetworkPolicy,
  type StagedNetworkPolicy,
  type Tier,
  type WorkloadEndpoint,
} from '../model/index.js';
import type { LabelRecord, Selector } from '../selector/index.js';
import {
  compileConvertedKubernetesNetworkPolicy,
  compileGlobalNetworkPolicy,
  compileKubernetesNetworkPolicy,
  compileNetworkPolicy,
  compileProfile,
  compileStagedGlobalNetworkPolicy,
  compileStagedKubernetesNetworkPolicy,
  compileStagedNetworkPolicy,
  compileTier,
} from './compile-policies.js';
import { ruleSelectors } from './compile-rules.js';
import { globalNetworkSetIR, hostEndpointIR, namespaceProfile, networkSetIR, podEndpointIR, workloadEndpointIR } from './endpoints.js';
import { type FailsafePorts, DEFAULT_FAILSAFE, failsafeFrom } from './failsafe.js';
import { type OverlayAllow, nodeAddresses, overlayAllowOf, sameOverlay } from './overlay.js';
import { type ResourceUpdate, inputKind } from './input.js';
import { IPSets, namedPortMember } from './ipsets.js';
import type { CompiledPolicy, CompiledProfile, CompiledRule, CompiledTier, EndpointIR } from './ir.js';
import { LabelIndex } from './label-index.js';
import { type EndpointPlan, buildPlan, plansEqual } from './plan.js';
import { isAllInterfaces } from './host-endpoints.js';
import type { GraphEvent } from './events.js';

/**
 * Calico's built-in profile (libcalico-go resources/static.go): allows everything both ways. It
 * always exists and cannot be changed; kube-controllers' automatic host endpoints (`interfaceName:
 * "*"`) carry it, so a host endpoint naming it is open unless a policy says otherwise.
 */
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';
const BUILTIN_PROFILES: ReadonlyMap<string, CompiledProfile> = new Map([
  [
    DEFAULT_ALLOW_PROFILE,
    compileProfile({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: DEFAULT_ALLOW_PROFILE }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } } as Profile),
  ],
]);

export interface GraphOptions {
  /** Only endpoints on this node get plans (the agent); undefined: every workload and host endpoint (the CLI). */
  readonly localNode?: string;
}

/** A named-port set: which selector, protocol (undefined = any) and port name. */
export interface NamedPortSetInfo {
  readonly selector: string;
  readonly protocol?: number;
  readonly name: string;
}

/**
 * A pod's endpoint from its two records: the CNI plugin's WorkloadEndpoint (interface, addresses,
 * profiles) wins over the pod's conversion, except for labels. The WEP's labels are a copy made
 * at CNI ADD; Kubernetes owns them, and Calico's kube-controllers copies a pod's label changes
 * into its WEP (etcd mode) or derives the WEP from the pod (Kubernetes datastore). Tabby has no
 * such copier, so labels come from the Pod while it exists: the state Calico converges to.
 */
function workloadOf(wep: EndpointIR | undefined, pod: EndpointIR | undefined): EndpointIR | undefined {
  if (wep === undefined || pod === undefined) return wep ?? pod;
  return { ...wep, labels: pod.labels };
}

export class PolicyGraph {
  private readonly index: LabelIndex;
  private readonly ipsets = new IPSets();
  private readonly endpoints = new Map<string, EndpointIR>();
  private readonly podEndpoints = new Map<string, EndpointIR>();
  private readonly wepEndpoints = new Map<string, EndpointIR>();
  private readonly endpointIdOfKey = new Map<string, string>();
  private readonly ipIndex = new Map<string, Set<string>>();
  private readonly profileUsers = new Map<string, Set<string>>();
  /** node → its all-interfaces host endpoints (`interfaceName: "*"`). */
  private readonly allInterfaceHeps = new Map<string, Set<string>>();
  private readonly explicitProfiles = new Map<string, CompiledProfile>();
  private readonly namespaceProfiles = new Map<string, CompiledProfile>();
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly policyOfKey = new Map<string, string>();
  private readonly kubernetesPolicies = new Map<string, { k8s?: CompiledPolicy | undefined; converted?: CompiledPolicy | undefined }>();
  private readonly tiers = new Map<string, CompiledTier>();
  private readonly tierPolicies = new Map<string, Set<string>>();
  private readonly felixConfigs = new Map<string, FelixConfiguration>();
  private failsafe: FailsafePorts = DEFAULT_FAILSAFE;
  private failsafeChanged = false;
  private readonly nodes = new Map<string, Node>();
  private readonly pools = new Map<string, IPPool>();
  /** Underlay address (normalised text) → node. */
  private readonly nodeByAddress = new Map<string, string>();
  private overlayNow: OverlayAllow | undefined;
  private overlayDirty = false;
  /** selector canonical text → parsed selector and reference count */
  private readonly selectorRefs = new Map<string, { selector: Selector; refs: number }>();
  /** applied-to selector → policies */
  private readonly appliedTo = new Map<string, Set<string>>();
  /** rule selector → IP set references */
  private readonly ipsetRefs = new Map<string, number>();
  /** selector → named-port set IDs on it */
  private readonly namedPortSets = new Map<string, Map<string, NamedPortSetInfo>>();
  private readonly namedPortRefs = new Map<string, number>();
  private readonly setIdOfSelector = new Map<string, string>();
  private readonly emittedPlans = new Map<string, EndpointPlan>();
  private readonly emittedPolicies = new Set<string>();
  private readonly emittedProfiles = new Set<string>();
  private readonly dirtyEndpoints = new Set<string>();
  private readonly dirtyPolicies = new Set<string>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly createdSets: string[] = [];
  private readonly removedSets: string[] = [];

  constructor(readonly options: GraphOptions = {}) {
    this.index = new LabelIndex({
      matchStarted: (s, e) => this.onMatch(s, e, true),
      matchStopped: (s, e) => this.onMatch(s, e, false),
    });
    // Built-in profiles exist from the start; each is emitted once an endpoint names it.
    for (const p of BUILTIN_PROFILES.values()) this.acquireRules([...p.ingress, ...p.egress]);
  }

  /** Selector evaluations so far (what the label index keeps small). */
  get evaluations(): number {
    return this.index.evaluations;
  }

  // ---- input --------------------------------------------------------------------------------

  /** Applies a batch of updates and returns the resulting events, in dataplane order. */
  apply(updates: Iterable<ResourceUpdate>): GraphEvent[] {
    const problems: GraphEvent[] = [];
    for (const u of updates) {
      try {
        this.applyOne(u);
      } catch (err) {
        // A resource the engine cannot use (e.g. a pod annotation that does not parse) counts
        // as absent, and the problem is reported rather than stopping every later update.
        problems.push({ type: 'problem', kind: u.kind, key: u.key, message: err instanceof Error ? err.message : String(err) });
        this.applyOne({ ...u, value: undefined });
      }
    }
    return [...problems, ...this.flush()];
  }

  private applyOne(u: ResourceUpdate): void {
    const kind = inputKind(u.kind, u.apiVersion ?? u.value?.apiVersion);
    const v = u.value as never;
    switch (kind) {
      case 'Namespace':
        return this.setNamespace(u.key, v === undefined ? undefined : compileProfile(namespaceProfile(v as Namespace)));
      case 'Profile':
        return this.setProfile(u.key, v === undefined ? undefined : compileProfile(v as Profile));
      case 'Pod':
        return this.setEndpointSource('pod', u.key, v === undefined ? undefined : podEndpointIR(v as Pod) ?? null);
      case 'WorkloadEndpoint':
        return this.setEndpointSource('wep', u.key, v === undefined ? undefined : workloadEndpointIR(v as WorkloadEndpoint));
      case 'HostEndpoint':
        return this.setEndpointSource('hep', u.key, v === undefined ? undefined : hostEndpointIR(v as HostEndpoint));
      case 'NetworkSet':
        return this.setEndpointSource('netset', u.key, v === undefined ? undefined : networkSetIR(v as NetworkSet));
      case 'GlobalNetworkSet':
        return this.setEndpointSource('gnetset', u.key, v === undefined ? undefined : globalNetworkSetIR(v as GlobalNetworkSet));
      case 'Tier':
        return this.setTier(u.key, v === undefined ? undefined : compileTier(v as Tier));
      case 'GlobalNetworkPolicy':
        return this.setPolicy(`gnp:${u.key}`, v === undefined ? undefined : compileGlobalNetworkPolicy(v as GlobalNetworkPolicy));
      case 'NetworkPolicy': {
        const slash = u.key.indexOf('/');
        const name = u.key.slice(slash + 1);
        if (name.startsWith(K8S_NETWORK_POLICY_PREFIX)) {
          const knpKey = `${u.key.slice(0, slash)}/${name.slice(K8S_NETWORK_POLICY_PREFIX.length)}`;
          return this.setKubernetesPolicySource('converted', knpKey, v === undefined ? undefined : compileConvertedKubernetesNetworkPolicy(v as NetworkPolicy));
        }
        return this.setPolicy(`np:${u.key}`, v === undefined ? undefined : compileNetworkPolicy(v as NetworkPolicy));
      }
      case 'KubernetesNetworkPolicy':
        return this.setKubernetesPolicySource('k8s', u.key, v === undefined ? undefined : compileKubernetesNetworkPolicy(v as K8sNetworkPolicy));
      case 'StagedGlobalNetworkPolicy':
        return this.setPolicy(`sgnp:${u.key}`, v === undefined ? undefined : compileStagedGlobalNetworkPolicy(v as StagedGlobalNetworkPolicy));
      case 'StagedNetworkPolicy':
        return this.setPolicy(`snp:${u.key}`, v === undefined ? undefined : compileStagedNetworkPolicy(v as StagedNetworkPolicy));
      case 'StagedKubernetesNetworkPolicy':
        return this.setPolicy(`sknp:${u.key}`, v === undefined ? undefined : compileStagedKubernetesNetworkPolicy(v as StagedKubernetesNetworkPolicy));
      case 'FelixConfiguration':
        if (v === undefined) this.felixConfigs.delete(u.key);
        else this.felixConfigs.set(u.key, v as FelixConfiguration);
        {
          const next = failsafeFrom(this.felixConfigs, this.options.localNode);
          if (JSON.stringify(next) !== JSON.stringify(this.failsafe)) this.failsafeChanged = true;
          this.failsafe = next;
        }
        this.overlayDirty = true;
        return;
      case 'Node': {
        const before = this.nodes.get(u.key);
        if (before !== undefined) for (const a of nodeAddresses(before)) if (this.nodeByAddress.get(a.text) === u.key) this.nodeByAddress.delete(a.text);
        if (v === undefined) this.nodes.delete(u.key);
        else {
          this.nodes.set(u.key, v as Node);
          for (const a of nodeAddresses(v as Node)) this.nodeByAddress.set(a.text, u.key);
        }
        this.overlayDirty = true;
        return;
      }
      case 'IPPool':
        if (v === undefined) this.pools.delete(u.key);
        else this.pools.set(u.key, v as IPPool);
        this.overlayDirty = true;
        return;
      default:
        return;
    }
  }

  /**
   * A Kubernetes NetworkPolicy and its stored Calico conversion (knp.default.<name>) are one
   * policy: the Kubernetes object wins while it exists, the conversion stands alone otherwise.
   */
  private setKubernetesPolicySource(source: 'k8s' | 'converted', key: string, p: CompiledPolicy | undefined): void {
    let pair = this.kubernetesPolicies.get(key);
    if (pair === undefined) this.kubernetesPolicies.set(key, (pair = {}));
    pair[source] = p;
    const effective = pair.k8s ?? pair.converted;
    if (effective === undefined) this.kubernetesPolicies.delete(key);
    if (this.policies.get(effective?.id ?? '') === effective && effective !== undefined) return;
    this.setPolicy(`knp:${key}`, effective);
  }

  // ---- endpoints ----------------------------------------------------------------------------

  /** `ir` undefined: deleted; null: the resource exists but is no endpoint (host-network pod). */
  private setEndpointSource(source: 'pod' | 'wep' | 'hep' | 'netset' | 'gnetset', key: string, ir: EndpointIR | undefined | null): void {
    const sourceKey = `${source}:${key}`;
    const oldId = this.endpointIdOfKey.get(sourceKey);
    const value = ir ?? undefined;
    if (value === undefined) this.endpointIdOfKey.delete(sourceKey);
    else this.endpointIdOfKey.set(sourceKey, value.id);
    const ids = new Set<string>();
    if (oldId !== undefined) ids.add(oldId);
    if (value !== undefined) ids.add(value.id);
    for (const id of ids) {
      const mine = value !== undefined && value.id === id ? value : undefined;
      if (source === 'pod') this.setOrDelete(this.podEndpoints, id, mine);
      else if (source === 'wep') this.setOrDelete(this.wepEndpoints, id, mine);
      const effective = source === 'pod' || source === 'wep' ? workloadOf(this.wepEndpoints.get(id), this.podEndpoints.get(id)) : mine;
      this.setEndpoint(id, effective);
    }
  }

  private setOrDelete<V>(m: Map<string, V>, id: string, v: V | undefined): void {
    if (v === undefined) m.delete(id);
    else m.set(id, v);
  }

  private effectiveLabels(ep: EndpointIR): LabelRecord {
    if (ep.profiles.length === 0) return ep.labels;
    const out: Record<string, string> = {};
    for (const p of ep.profiles) Object.assign(out, this.profile(p)?.labelsToApply);
    return Object.assign(out, ep.labels);
  }

  private setEndpoint(id: string, next: EndpointIR | undefined): void {
    const old = this.endpoints.get(id);
    if (old === next) return;
    const addressingChanged = old === undefined || next === undefined || !sameAddressing(old, next);
    if (old !== undefined && addressingChanged) {
      for (const s of this.index.selectorsMatching(id)) this.contribute(s, old, false);
      for (const n of old.nets) removeFromMap(this.ipIndex, n, id);
    }
    for (const p of old?.profiles ?? []) removeFromMap(this.profileUsers, p, id);
    for (const p of next?.profiles ?? []) if (BUILTIN_PROFILES.has(p) && !this.emittedProfiles.has(p)) this.dirtyProfiles.add(p);
    if (old !== undefined && isAllInterfaces(old)) removeFromMap(this.allInterfaceHeps, old.node ?? '', id);
    if (next !== undefined && isAllInterfaces(next)) addToMap(this.allInterfaceHeps, next.node ?? '', id);
    if (next === undefined) this.endpoints.delete(id);
    else {
      this.endpoints.set(id, next);
      for (const p of next.profiles) addToMap(this.profileUsers, p, id);
      if (addressingChanged) {
        if (next.kind !== 'networkset') for (const n of next.nets) addToMap(this.ipIndex, n, id);
        if (old !== undefined) for (const s of this.index.selectorsMatching(id)) this.contribute(s, next, true);
      }
    }
    this.index.updateEndpoint(id, next === undefined ? undefined : this.effectiveLabels(next));
    if (this.isLocal(old) || this.isLocal(next)) this.dirtyEndpoints.add(id);
  }

  private isLocal(ep: EndpointIR | undefined): boolean {
    if (ep === undefined || ep.kind === 'networkset') return false;
    return this.options.localNode === undefined || ep.node === this.options.localNode;
  }

  private onMatch(selector: string, endpointId: string, started: boolean): void {
    const ep = this.endpoints.get(endpointId);
    if (ep !== undefined) this.contribute(selector, ep, started);
    // A deleted endpoint was already marked by setEndpoint.
    if (this.appliedTo.has(selector) && this.isLocal(ep)) this.dirtyEndpoints.add(endpointId);
  }

  /** Adds or removes what `ep` puts in the sets of `selector`. */
  private contribute(selector: string, ep: EndpointIR, add: boolean): void {
    const setId = this.setIdOfSelector.get(selector);
    if (setId !== undefined) for (const n of ep.nets) (add ? this.ipsets.add(setId, n) : this.ipsets.delete(setId, n));
    const named = this.namedPortSets.get(selector);
    if (named === undefined || ep.ports.length === 0) return;
    for (const [npId, info] of named) {
      for (const port of ep.ports) {
        if (port.name !== info.name || (info.protocol !== undefined && info.protocol !== port.protocol)) continue;
        for (const n of ep.nets) {
          const m = namedPortMember(n, port.protocol, port.port);
          if (add) this.ipsets.add(npId, m);
          else this.ipsets.delete(npId, m);
        }
      }
    }
  }

  // ---- profiles -----------------------------------------------------------------------------

  /** A Namespace is the source of truth for its kns.<ns> profile; a stored copy stands in without it. */
  profile(name: string): CompiledProfile | undefined {
    return BUILTIN_PROFILES.get(name) ?? this.namespaceProfiles.get(name) ?? this.explicitProfiles.get(name);
  }

  private setNamespace(name: string, p: CompiledProfile | undefined): void {
    this.replaceProfile(`kns.${name}`, () => this.setOrDelete(this.namespaceProfiles, `kns.${name}`, p));
  }

  private setProfile(name: string, p: CompiledProfile | undefined): void {
    this.replaceProfile(name, () => this.setOrDelete(this.explicitProfiles, name, p));
  }

  private replaceProfile(name: string, change: () => void): void {
    const old = this.profile(name);
    change();
    const next = this.profile(name);
    if (old === next) return;
    if (next !== undefined) this.acquireRules([...next.ingress, ...next.egress]);
    if (old !== undefined) this.releaseRules([...old.ingress, ...old.egress]);
    this.dirtyProfiles.add(name);
    if (!sameLabels(old?.labelsToApply, next?.labelsToApply)) {
      for (const id of [...(this.profileUsers.get(name) ?? [])]) {
        const ep = this.endpoints.get(id)!;
        this.index.updateEndpoint(id, this.effectiveLabels(ep));
      }
    }
  }

  // ---- policies and tiers -------------------------------------------------------------------

  private setTier(name: string, t: CompiledTier | undefined): void {
    this.setOrDelete(this.tiers, name, t);
    for (const p of this.tierPolicies.get(name) ?? []) this.markPolicyEndpoints(this.policies.get(p)!);
  }

  private setPolicy(key: string, next: CompiledPolicy | undefined): void {
    const oldId = this.policyOfKey.get(key);
    const old = oldId === undefined ? undefined : this.policies.get(oldId);
    if (next === undefined) this.policyOfKey.delete(key);
    else this.policyOfKey.set(key, next.id);
    if (next !== undefined) {
      this.policies.set(next.id, next);
      addToMap(this.tierPolicies, next.tier, next.id);
      const sel = this.acquireSelector(next.selector);
      addToMap(this.appliedTo, sel, next.id);
      this.acquireRules([...next.ingress, ...next.egress]);
      this.dirtyPolicies.add(next.id);
    }
    if (old !== undefined) {
      if (next === undefined || next.id !== old.id) {
        this.policies.delete(old.id);
        this.dirtyPolicies.add(old.id);
      }
      if (next === undefined || next.id !== old.id || next.tier !== old.tier) removeFromMap(this.tierPolicies, old.tier, old.id);
      const sel = old.selector.toString();
      if (next === undefined || next.id !== old.id || next.selector.toString() !== sel) removeFromMap(this.appliedTo, sel, old.id);
      this.releaseRules([...old.ingress, ...old.egress]);
      if (next === undefined || !samePlacement(old, next)) this.markPolicyEndpoints(old);
      this.releaseSelector(old.selector);
    }
    if (next !== undefined && (old === undefined || !samePlacement(old, next))) this.markPolicyEndpoints(next);
  }

  private markPolicyEndpoints(p: CompiledPolicy): void {
    for (const ep of this.index.membersOf(p.selector.toString())) if (this.isLocal(this.endpoints.get(ep))) this.dirtyEndpoints.add(ep);
  }

  private acquireSelector(s: Selector): string {
    const text = s.toString();
    const entry = this.selectorRefs.get(text);
    if (entry !== undefined) entry.refs++;
    else {
      this.selectorRefs.set(text, { selector: s, refs: 1 });
      this.index.addSelector(text, s);
    }
    return text;
  }

  private releaseSelector(s: Selector): void {
    const text = s.toString();
    const entry = this.selectorRefs.get(text);
    if (entry === undefined) return;
    if (--entry.refs === 0) {
      this.selectorRefs.delete(text);
      this.index.removeSelector(text);
    }
  }

  private acquireRules(rules: readonly CompiledRule[]): void {
    for (const s of ruleSelectors(rules)) {
      const text = this.acquireSelector(s);
      const refs = this.ipsetRefs.get(text) ?? 0;
      this.ipsetRefs.set(text, refs + 1);
      if (refs === 0) {
        const id = s.uniqueId();
        this.setIdOfSelector.set(text, id);
        this.ipsets.create(id);
        this.createdSets.push(id);
        for (const ep of this.index.membersOf(text)) for (const n of this.endpoints.get(ep)!.nets) this.ipsets.add(id, n);
      }
    }
    for (const np of namedPortUses(rules)) {
      const text = this.acquireSelector(np.selectorObj);
      const id = namedPortSetId(np);
      const refs = this.namedPortRefs.get(id) ?? 0;
      this.namedPortRefs.set(id, refs + 1);
      if (refs > 0) continue;
      let onSel = this.namedPortSets.get(text);
      if (onSel === undefined) this.namedPortSets.set(text, (onSel = new Map()));
      onSel.set(id, { selector: text, ...(np.protocol === undefined ? {} : { protocol: np.protocol }), name: np.name });
      this.ipsets.create(id);
      this.createdSets.push(id);
      const only = new Map([[id, onSel.get(id)!]]);
      for (const ep of this.index.membersOf(text)) this.contributeNamed(only, this.endpoints.get(ep)!);
    }
  }

  private contributeNamed(sets: ReadonlyMap<string, NamedPortSetInfo>, ep: EndpointIR): void {
    for (const [npId, info] of sets) {
      for (const port of ep.ports) {
        if (port.name !== info.name || (info.protocol !== undefined && info.protocol !== port.protocol)) continue;
        for (const n of ep.nets) this.ipsets.add(npId, namedPortMember(n, port.protocol, port.port));
      }
    }
  }

  private releaseRules(rules: readonly CompiledRule[]): void {
    for (const np of namedPortUses(rules)) {
      const id = namedPortSetId(np);
      const refs = this.namedPortRefs.get(id)! - 1;
      if (refs > 0) this.namedPortRefs.set(id, refs);
      else {
        this.namedPortRefs.delete(id);
        const text = np.selectorObj.toString();
        const onSel = this.namedPortSets.get(text)!;
        onSel.delete(id);
        if (onSel.size === 0) this.namedPortSets.delete(text);
        this.ipsets.remove(id);
        this.removedSets.push(id);
      }
      this.releaseSelector(np.selectorObj);
    }
    for (const s of ruleSelectors(rules)) {
      const text = s.toString();
      const refs = this.ipsetRefs.get(text)! - 1;
      if (refs > 0) this.ipsetRefs.set(text, refs);
      else {
        this.ipsetRefs.delete(text);
        const id = this.setIdOfSelector.get(text)!;
        this.setIdOfSelector.delete(text);
        this.ipsets.remove(id);
        this.removedSets.push(id);
      }
      this.releaseSelector(s);
    }
  }

  // ---- queries (the evaluator's view) -------------------------------------------------------

  endpoint(id: string): EndpointIR | undefined {
    return this.endpoints.get(id);
  }

  allEndpoints(): IterableIterator<EndpointIR> {
    return this.endpoints.values();
  }

  /**
   * The all-interfaces host endpoint (`interfaceName: "*"`) in force on a node: the
   * alphabetically earliest, as Felix picks it.
   */
  allInterfacesEndpoint(node: string): EndpointIR | undefined {
    const ids = this.allInterfaceHeps.get(node);
    if (ids === undefined || ids.size === 0) return undefined;
    return this.endpoints.get([...ids].sort()[0]!);
  }

  /** Workload and host endpoints holding this address (canonical /32 or /128 text). */
  endpointsWithNet(net: string): readonly string[] {
    return [...(this.ipIndex.get(net) ?? [])].sort();
  }

  policy(id: string): CompiledPolicy | undefined {
    return this.policies.get(id);
  }

  allPolicies(): IterableIterator<CompiledPolicy> {
    return this.policies.values();
  }

  /** VXLAN between nodes let through ahead of host endpoint policy (undefined: not in use). */
  overlay(): OverlayAllow | undefined {
    return this.overlayNow;
  }

  /** The node whose underlay address `ip` (normalised text) is, if any. */
  nodeOfAddress(ip: string): string | undefined {
    return this.nodeByAddress.get(ip);
  }

  failsafePorts(): FailsafePorts {
    return this.failsafe;
  }

  /** Effective labels (own over profiles'), as selectors see them. */
  labelsOf(id: string): LabelRecord | undefined {
    return this.index.labelsOf(id);
  }

  /** The plan for an endpoint: the one last emitted for a local endpoint (current between applies), else computed. */
  planFor(id: string): EndpointPlan | undefined {
    return this.emittedPlans.get(id) ?? this.computePlan(id);
  }

  private computePlan(id: string): EndpointPlan | undefined {
    const ep = this.endpoints.get(id);
    if (ep === undefined || ep.kind === 'networkset') return undefined;
    const policies: CompiledPolicy[] = [];
    for (const s of this.index.selectorsMatching(id)) for (const p of this.appliedTo.get(s) ?? []) policies.push(this.policies.get(p)!);
    return buildPlan(ep.kind, policies, this.tiers, ep.profiles, isAllInterfaces(ep));
  }

  /** Is the address in the IP set of this (rule) selector? */
  selectorContains(s: Selector, ip: string): boolean {
    const id = this.setIdOfSelector.get(s.toString());
    return id !== undefined && this.ipsets.containsAddress(id, ip);
  }

  /** Is (address, protocol, port) in the named-port set of this selector and port name? */
  namedPortContains(s: Selector, protocol: number | undefined, name: string, ip: string, flowProtocol: number, port: number): boolean {
    const id = namedPortSetId({ selectorObj: s, name, ...(protocol === undefined ? {} : { protocol }) });
    return this.ipsets.members(id)?.has(namedPortMember(`${ip}/x`, flowProtocol, port)) === true;
  }

  /** Every IP set and its members, sorted (tests, the property test's comparison). */
  ipsetSnapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const ids = [...this.setIdOfSelector.values(), ...this.namedPortRefs.keys()].sort();
    for (const id of ids) out[id] = [...(this.ipsets.members(id)?.keys() ?? [])].sort();
    return out;
  }

  /** Selector IP set ID → the selector's canonical text. */
  selectorSets(): Map<string, string> {
    return new Map([...this.setIdOfSelector].map(([text, id]) => [id, text]));
  }

  /** Named-port set ID → its selector, protocol and port name. */
  namedPortSetInfo(): Map<string, NamedPortSetInfo> {
    const out = new Map<string, NamedPortSetInfo>();
    for (const sets of this.namedPortSets.values()) for (const [id, info] of sets) out.set(id, info);
    return out;
  }

  /** Plans of every local endpoint, sorted by ID. */
  planSnapshot(): Record<string, EndpointPlan> {
    const out: Record<string, EndpointPlan> = {};
    for (const id of [...this.endpoints.keys()].sort()) if (this.isLocal(this.endpoints.get(id))) out[id] = this.computePlan(id)!;
    return out;
  }

  // ---- output -------------------------------------------------------------------------------

  private flush(): GraphEvent[] {
    const events: GraphEvent[] = [];
    if (this.failsafeChanged) events.push({ type: 'failsafe-updated', failsafe: this.failsafe });
    this.failsafeChanged = false;
    if (this.overlayDirty) {
      this.overlayDirty = false;
      const next = overlayAllowOf({ nodename: this.options.localNode, nodes: this.nodes, pools: this.pools, felix: this.felixConfigs });
      if (!sameOverlay(next, this.overlayNow)) events.push({ type: 'overlay-updated', overlay: next });
      this.overlayNow = next;
    }
    const removed = new Set(this.removedSets);
    const created = this.createdSets.filter((id) => this.ipsets.has(id));
    for (const id of new Set(created)) if (!removed.has(id)) events.push({ type: 'ipset-added', id });
    const deltas = this.ipsets.takeDeltas();
    for (const [id, d] of [...deltas].sort(([a], [b]) => (a < b ? -1 : 1))) events.push({ type: 'ipset-delta', id, added: d.added, removed: d.removed });
    const policyRemovals: GraphEvent[] = [];
    for (const id of [...this.dirtyPolicies].sort()) {
      const p = this.policies.get(id);
      if (p !== undefined) {
        events.push({ type: 'policy-updated', id, policy: p });
        this.emittedPolicies.add(id);
      } else if (this.emittedPolicies.delete(id)) policyRemovals.push({ type: 'policy-removed', id });
    }
    const profileRemovals: GraphEvent[] = [];
    for (const name of [...this.dirtyProfiles].sort()) {
      const p = this.profile(name);
      if (p !== undefined) {
        events.push({ type: 'profile-updated', id: p.id, profile: p });
        this.emittedProfiles.add(name);
      } else if (this.emittedProfiles.delete(name)) profileRemovals.push({ type: 'profile-removed', id: `pro/${name}` });
    }
    const endpointRemovals: GraphEvent[] = [];
    for (const id of [...this.dirtyEndpoints].sort()) {
      const ep = this.endpoints.get(id);
      const plan = this.isLocal(ep) ? this.computePlan(id) : undefined;
      const before = this.emittedPlans.get(id);
      if (plan === undefined) {
        if (before !== undefined) {
          this.emittedPlans.delete(id);
          endpointRemovals.push({ type: 'endpoint-removed', id });
        }
      } else if (!plansEqual(before, plan)) {
        this.emittedPlans.set(id, plan);
        events.push({ type: 'endpoint-updated', id, endpoint: ep!, plan });
      }
    }
    events.push(...endpointRemovals, ...profileRemovals, ...policyRemovals);
    for (const id of new Set(this.removedSets)) if (!this.ipsets.has(id)) events.push({ type: 'ipset-removed', id });
    this.dirtyEndpoints.clear();
    this.dirtyPolicies.clear();
    this.dirtyProfiles.clear();
    this.createdSets.length = 0;
    this.removedSets.length = 0;
    return events;
  }
}

interface NamedPortUse {
  readonly selectorObj: Selector;
  readonly protocol?: number;
  readonly name: string;
}

/** Named ports a rule list matches: per entity, its selector, the rule's protocol and the name. */
function namedPortUses(rules: readonly CompiledRule[]): NamedPortUse[] {
  const out: NamedPortUse[] = [];
  for (const r of rules) {
    for (const e of [r.source, r.destination]) {
      for (const p of [...(e.ports ?? []), ...(e.notPorts ?? [])]) {
        if (p.kind === 'named') out.push({ selectorObj: e.namedPortSelector, name: p.name, ...(r.protocol === undefined ? {} : { protocol: r.protocol }) });
      }
    }
  }
  return out;
}

/** Calico's named-port IP set ID shape: n: + base64url(SHA-224(selector ID, protocol, port name)). */
function namedPortSetId(np: NamedPortUse): string {
  const text = `n:${np.selectorObj.uniqueId()},${np.protocol ?? 'any'},${np.name}`;
  return `n:${createHash('sha224').update(text, 'utf8').digest('base64url')}`;
}

function sameAddressing(a: EndpointIR, b: EndpointIR): boolean {
  return JSON.stringify(a.nets) === JSON.stringify(b.nets) && JSON.stringify(a.ports) === JSON.stringify(b.ports) && a.kind === b.kind;
}

function sameLabels(a: LabelRecord | undefined, b: LabelRecord | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/** Same endpoints, same place in the plans: only rules differ. */
function samePlacement(a: CompiledPolicy, b: CompiledPolicy): boolean {
  return (
    a.id === b.id &&
    a.tier === b.tier &&
    a.order === b.order &&
    a.selector.toString() === b.selector.toString() &&
    a.types.join() === b.types.join() &&
    a.staged === b.staged &&
    a.preDNAT === b.preDNAT &&
    a.doNotTrack === b.doNotTrack &&
    a.applyOnForward === b.applyOnForward
  );
}

function addToMap(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFromMap(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
