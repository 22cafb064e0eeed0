// The policy renderer: the calculation graph's events in, nftables deltas out. Pure (no I/O):
// it keeps the desired content of table `inet tabby` and, per batch of events, returns the
// `nft -f` script carrying only what changed; `fullScript()` is the whole table for a start.
//
// Layout (Felix's chains, in nftables form):
// - Base chains forward/input/output accept established/related first and drop invalid, then
//   dispatch `cali*` interfaces through verdict maps (to_wl/from_wl: interface → endpoint chain;
//   an unknown `cali*` interface is dropped, as Felix does).
// - Endpoint chains `to_<if>` (the pod's ingress) and `from_<if>` (egress): per tier that has an
//   enforced policy selecting the endpoint, a jump to each policy chain; an Allow sets MARK_ACCEPT
//   and returns (the endpoint chain returns: the other endpoint's chain still runs), a Pass sets
//   MARK_PASS (the tier's later policies are skipped), and a tier nobody decided in drops unless
//   its defaultAction is Pass. Then the profiles; then a drop (workload isolation: an endpoint no
//   policy and no profile allows gets nothing).
// - One chain per policy and direction (`pi_…`/`po_…`), shared by every endpoint; one per profile.
// - Each graph IP set is one nft set per family, element by element. Selector sets are interval
//   sets holding only members no wider member covers (nft refuses overlapping intervals).
// - Host endpoints (by interface), Calico's stages (calico-internals §6.3), each dispatched by its
//   own verdict map from its own hook:
//   - untracked (doNotTrack): `raw_pre`/`raw_out` base chains at raw priority → `hri_`/`hro_`:
//     failsafe ports (to/from the host itself) go on tracked; an Allow marks the packet
//     MARK_HEP_DONE and `notrack`s it; Deny drops; no default drop (unmatched goes on).
//   - preDNAT: `pre_dnat` at mangle priority (before the dstnat hook's DNAT) → `hpre_`: only new
//     connections, failsafe inbound, Allow marks MARK_HEP_DONE, no default drop.
//   - normal: input (`hin_`) and output (`hout_`) as before: failsafe, tiers, profiles, drop.
//   - forward (applyOnForward): the forward chain jumps `hfi_` (arriving on the host endpoint)
//     before the workload chains and `hfo_` (leaving by it) after them: tiers with their default
//     drop, no profiles, no failsafe; no applyOnForward policy means allowed.
//   MARK_HEP_DONE (set by an untracked or preDNAT Allow) skips the host endpoint's later ingress
//   stages (and, set by an untracked egress Allow, its output stage), as evaluateFlow does.
// - Which host endpoint holds which interface is Felix's resolution (policy's
//   resolveHostInterfaces): by name, or by an `expectedIPs` address on the interface when the
//   endpoint names none (the interfaces and addresses come from `setHostInterfaces`; the
//   alphabetically earliest endpoint wins an interface). The chains are per interface.
// - An all-interfaces host endpoint (`interfaceName: "*"`) gets chains `hinall`, `houtall`,
//   `hpreall`, `hfiall`, `hfoall` (no raw ones: Felix ignores doNotTrack for it) and is each
//   stage's default: after the stage's verdict map, input/output/preDNAT `goto` it for any
//   non-`cali*` interface (a pod's traffic to or from its own host never meets it) and the forward
//   dispatch for every interface, workload ones included (Felix's forward dispatch default). An
//   interface a specific endpoint holds gets a `return` element in the preDNAT and forward maps
//   where that endpoint has no such stage, so the default never reaches it.
// - The overlay ahead of host endpoint policy (Felix's static INPUT/OUTPUT rules; `setOverlay`):
//   while a family has VXLAN in use, input accepts UDP to the VXLAN port of a local address from
//   the other nodes' underlay addresses (sets `vxlan_peers4`/`vxlan_peers6`, element by element)
//   and drops it from any other source (pods included: they never reach the workload dispatch),
//   and output accepts it from a local address to those nodes, all before the workload and host
//   endpoint dispatch and their failsafe ports. The raw and preDNAT stages still see it first
//   (Felix's untracked and preDNAT policy can drop VXLAN too). A pod's own UDP to the VXLAN port
//   is dropped before its egress policy (forward and input) while VXLAN is in use (Felix: always),
//   unless FelixConfiguration allowVXLANPacketsFromWorkloads (encapsulation would bypass policy).
// - IPv6 neighbour discovery and MLD (ICMPv6 130-133, 135, 136) are accepted to and from the host
//   ahead of every host endpoint stage, as Felix's BPF dataplane does for every interface and its
//   iptables one for pods only; without it a deny-all host endpoint cuts the interface's IPv6.
// - Staged policies are rendered as counting chains (`pi_`/`po_` like the others) jumped at their
//   place in their tier: each rule counts and returns, never marks or drops, so the verdict is
//   unchanged and the counters show what the policy would have matched.
// - Denied-flow logs: every Deny rule, end-of-tier drop and no-profile drop is a counted `goto`
//   to a shared chain `dl_<digest>` per log prefix (`tby:D:<digest>`): a rate-limited
//   `log group N`, then drop; a Log rule logs to the same group (`tby:L:<digest>`) and goes on.
//   `logEntry(prefix)` maps a prefix back to tier, policy, rule and direction (DeniedFlowLog
//   reads the group).

import { type CIDR, type IPAddr, cidrContains, formatIP, parseCIDR, tryParseIP } from '../../ip/index.js';
import type { CompiledPolicy, CompiledProfile, CompiledRule, EndpointIR, EndpointPlan, FailsafePorts, GraphEvent, OverlayAllow, Stage, TierPlan } from '../../policy/index.js';
import { DEFAULT_FAILSAFE, WORKLOAD_INTERFACE_PREFIX, comparePolicies, resolveHostInterfaces } from '../../policy/index.js';
import * as N from './names.js';
import { renderMatches, renderVerdict } from './rules.js';
import { Change, type ChainRank, DesiredState, rankOf } from './state.js';

const RANK_POLICY: ChainRank = 0;
const RANK_ENDPOINT: ChainRank = 1;
const RANK_BASE: ChainRank = 2;

export interface RendererOptions {
  /** NFLOG group of the denied-flow and Log-action rules (default DEFAULT_LOG_GROUP). */
  readonly logGroup?: number;
  /** nft `limit rate` argument per logging rule (default DEFAULT_LOG_RATE). */
  readonly logRate?: string;
  /** false: no log statements at all (Log rules only count). Default true. */
  readonly logDenied?: boolean;
}

/** ICMPv6 types let through ahead of host endpoint policy (Felix: MLD 130-132, RS 133, NS 135, NA 136). */
export const NDP_TYPES = 'icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert }';

/** What a log prefix stands for (DeniedFlowLog's records carry it). */
export interface LogEntry {
  /** The policy's tier; `__PROFILE__` for a profile rule (Calico's flow-log spelling). */
  readonly tier: string | null;
  /** Policy or profile ID (`knp/ns/name`, `pro/kns.ns`); null for an endpoint's own drops. */
  readonly policy: string | null;
  /** Rule index, or `end-of-tier` / `no-profile-allowed` / `missing-profile`. */
  readonly rule: number | string;
  readonly direction: 'ingress' | 'egress';
  readonly action: 'deny' | 'log';
  /** Set for staged policies' would-be verdicts (never logged; kept for symmetry). */
  readonly staged?: boolean;
}

export interface RenderedDelta {
  /** The `nft -f` script ("" when the events changed nothing in the kernel). */
  readonly script: string;
}

interface EndpointState {
  readonly ep: EndpointIR;
  readonly plan: EndpointPlan;
  readonly chains: readonly string[];
  readonly mapKeys: readonly [string, string][];
}

/** What is rendered for one host interface (or `*`): the endpoint holding it, chains, map keys. */
interface HostBinding {
  readonly endpoint: string;
  readonly chains: readonly string[];
  readonly mapKeys: readonly [string, string][];
}

/** Host stages whose dispatch falls back to the all-interfaces endpoint, with their maps. */
const DEFAULTED_STAGES: readonly [Stage, string][] = [
  ['preDNAT', N.MAP_HOST_PRE],
  ['forwardIngress', N.MAP_HOST_FWD_IN],
  ['forwardEgress', N.MAP_HOST_FWD_OUT],
];

/** `comment "<label> #<hash>"`: the drift check and the per-rule counters find rules by it. */
export function withComment(chain: string, index: number, body: string, label: string): string {
  const safe = label.replace(/["\\]/g, '').slice(0, 100);
  return `${body} comment "${safe} #${N.ruleHash(`${chain}|${index}|${body}`)}"`;
}

export class NftPolicyRenderer {
  readonly state = new DesiredState();
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly profiles = new Map<string, CompiledProfile>();
  private readonly endpoints = new Map<string, EndpointState>();
  /** This node's host endpoints (rendered per interface they hold, not per endpoint). */
  private readonly hosts = new Map<string, { ep: EndpointIR; plan: EndpointPlan }>();
  /** Interface → addresses (setHostInterfaces); undefined: only named interfaces are known. */
  private hostInterfaces: ReadonlyMap<string, readonly string[]> | undefined;
  private hostBindings = new Map<string, HostBinding>();
  /** VXLAN between nodes ahead of host endpoint policy; undefined: no overlay rules. */
  private overlay: OverlayAllow | undefined;
  /** Stages the all-interfaces endpoint has (their dispatch defaults to it). */
  private allIfaceStages = new Set<Stage>();
  /** graph IP set ID → members (CIDRs or named-port members) */
  private readonly members = new Map<string, Set<string>>();
  private readonly wide = new Map<string, number>();
  private failsafe: FailsafePorts = DEFAULT_FAILSAFE;
  private readonly logGroup: number;
  private readonly logRate: string;
  private readonly logDenied: boolean;
  /** log prefix → what it stands for, with the chains using it (an entry lives while one does) */
  private readonly logs = new Map<string, { entry: LogEntry; chains: Set<string> }>();
  private readonly chainLogs = new Map<string, string[]>();

  constructor(options: RendererOptions = {}) {
    this.logGroup = options.logGroup ?? N.DEFAULT_LOG_GROUP;
    this.logRate = options.logRate ?? N.DEFAULT_LOG_RATE;
    this.logDenied = options.logDenied ?? true;
    const c = new Change(this.state);
    this.base(c);
    c.script();
  }

  /** The whole table, for a start with no table in place. */
  fullScript(): string {
    const fresh = new Change(new DesiredState());
    for (const [name, s] of this.state.sets) {
      fresh.putSet(name, s.spec);
      for (const e of s.elems) fresh.addElem(name, e);
    }
    for (const [name, m] of this.state.maps) {
      fresh.putMap(name, m.type);
      for (const [k, v] of m.elems) fresh.putMapElem(name, k, v);
    }
    for (const [name, spec] of this.state.chains) fresh.putChain(name, spec, rankOf(name, spec.header));
    return `add table ${N.TABLE_REF}\n` + fresh.script();
  }

  /** Applies one batch of graph events; returns the delta script. */
  apply(events: readonly GraphEvent[]): RenderedDelta {
    const c = new Change(this.state);
    const touchedProfiles = new Set<string>();
    let hostsChanged = false;
    for (const e of events) {
      switch (e.type) {
        case 'problem':
          break;
        case 'failsafe-updated':
          this.failsafe = e.failsafe;
          hostsChanged = true;
          break;
        case 'overlay-updated':
          this.putOverlay(c, e.overlay);
          break;
        case 'ipset-added':
          this.addSet(c, e.id);
          break;
        case 'ipset-delta':
          this.setDelta(c, e.id, e.added, e.removed);
          break;
        case 'ipset-removed':
          this.removeSet(c, e.id);
          break;
        case 'policy-updated':
          this.putPolicy(c, e.policy);
          break;
        case 'policy-removed':
          this.policies.delete(e.id);
          for (const d of ['i', 'o'] as const) this.drop(c, N.policyChain(e.id, d));
          break;
        case 'profile-updated':
          this.putProfile(c, e.profile);
          touchedProfiles.add(e.profile.name);
          break;
        case 'profile-removed':
          this.profiles.delete(e.id.slice(4));
          for (const d of ['i', 'o'] as const) this.drop(c, N.profileChain(e.id, d));
          touchedProfiles.add(e.id.slice(4));
          break;
        case 'endpoint-updated':
          if (e.endpoint.kind === 'host') {
            this.hosts.set(e.endpoint.id, { ep: e.endpoint, plan: e.plan });
            hostsChanged = true;
          } else this.putEndpoint(c, e.endpoint, e.plan);
          break;
        case 'endpoint-removed':
          if (this.hosts.delete(e.id)) hostsChanged = true;
          else this.removeEndpoint(c, e.id);
          break;
      }
    }
    // A profile appearing or going changes the endpoint chains naming it (missing → drop).
    if (touchedProfiles.size > 0) {
      for (const ep of this.endpoints.values()) if (ep.plan.profiles.some((p) => touchedProfiles.has(p))) this.putEndpoint(c, ep.ep, ep.plan);
      for (const h of this.hosts.values()) if (h.plan.profiles.some((p) => touchedProfiles.has(p))) hostsChanged = true;
    }
    if (hostsChanged) this.renderHosts(c);
    this.baseChains(c);
    return { script: c.script() };
  }

  /**
   * The host's interfaces and their addresses (plain address text), as the kernel has them:
   * address-only host endpoints are resolved to interfaces by them. Returns the delta ("" when
   * no interface changed hands).
   */
  setHostInterfaces(interfaces: ReadonlyMap<string, readonly string[]>): RenderedDelta {
    this.hostInterfaces = new Map([...interfaces].map(([k, v]) => [k, [...v]]));
    const c = new Change(this.state);
    this.renderHosts(c);
    this.baseChains(c);
    return { script: c.script() };
  }

  /**
   * VXLAN between nodes (Felix's static rules): per family in `families`, the set of the other
   * nodes' addresses follows `peers` element by element, and input/output accept VXLAN from/to
   * them ahead of the workload and host endpoint dispatch (input drops it from anyone else).
   * undefined (or no family) removes the rules and the sets. Returns the delta. The graph's
   * `overlay-updated` event does the same inside `apply`.
   */
  setOverlay(overlay: OverlayAllow | undefined): RenderedDelta {
    const c = new Change(this.state);
    this.putOverlay(c, overlay);
    this.baseChains(c);
    return { script: c.script() };
  }

  private putOverlay(c: Change, overlay: OverlayAllow | undefined): void {
    const peers: IPAddr[] = [];
    if (overlay !== undefined) {
      if (!Number.isInteger(overlay.port) || overlay.port < 1 || overlay.port > 65535) throw new RangeError(`overlay VXLAN port ${overlay.port} is not a UDP port (1-65535)`);
      for (const p of overlay.peers) {
        const a = tryParseIP(p);
        if (a === undefined) throw new RangeError(`overlay peer ${JSON.stringify(p)} is not an IP address`);
        peers.push(a);
      }
    }
    const families = new Set(overlay?.families ?? []);
    for (const f of [4, 6] as const) {
      const name = N.overlayPeersSet(f);
      if (!families.has(f)) {
        c.dropSet(name);
        continue;
      }
      c.putSet(name, { type: f === 4 ? 'ipv4_addr' : 'ipv6_addr', interval: false });
      const want = new Set(peers.filter((a) => a.family === f).map(formatIP));
      const have = this.state.sets.get(name)!.elems;
      for (const e of [...have]) if (!want.has(e)) c.delElem(name, e);
      for (const e of want) c.addElem(name, e);
    }
    this.overlay = families.size === 0 ? undefined : overlay;
  }

  /** Interface (or `*`) → the host endpoint ID holding it, as rendered. */
  hostInterfaceBindings(): ReadonlyMap<string, string> {
    return new Map([...this.hostBindings].map(([k, b]) => [k, b.endpoint]));
  }

  /** Every chain of the desired table (per-rule counters are read chain by chain). */
  knownChains(): string[] {
    return [...this.state.chains.keys()];
  }

  private base(c: Change): void {
    for (const m of [N.MAP_TO_WL, N.MAP_FROM_WL, N.MAP_HOST_IN, N.MAP_HOST_OUT, N.MAP_HOST_FWD_IN, N.MAP_HOST_FWD_OUT, N.MAP_HOST_PRE, N.MAP_HOST_RAW_IN, N.MAP_HOST_RAW_OUT]) c.putMap(m, 'ifname');
    const dispatch = (name: string, key: string, map: string, dropUnknown: boolean): void => {
      const rules = [`${key} vmap @${map}`, ...(dropUnknown ? ['counter drop'] : [])];
      c.putChain(name, { rules: rules.map((r, i) => withComment(name, i, r, i === 0 ? `dispatch ${map}` : 'unknown workload interface')) }, RANK_BASE);
    };
    dispatch('from_wl_dispatch', 'iifname', N.MAP_FROM_WL, true);
    dispatch('to_wl_dispatch', 'oifname', N.MAP_TO_WL, true);
    this.baseChains(c);
  }

  /**
   * The hooked chains. Host endpoint stages are dispatched only while some host endpoint has that
   * stage, so a node without them pays nothing per packet for them.
   */
  private baseChains(c: Change): void {
    const star = (s: Stage): boolean => this.allIfaceStages.has(s);
    const has = (map: string): boolean => this.state.maps.get(map)!.elems.size > 0 || DEFAULTED_STAGES.some(([s, m]) => m === map && star(s));
    const starNormal = this.hostBindings.has(N.ALL_IFACES);
    // Forward dispatch: the verdict map, then (all-interfaces endpoint) its chain for any interface.
    for (const [name, key, map, stage, d] of [['hep_fwd_in_dispatch', 'iifname', N.MAP_HOST_FWD_IN, 'forwardIngress', 'i'], ['hep_fwd_out_dispatch', 'oifname', N.MAP_HOST_FWD_OUT, 'forwardEgress', 'o']] as const) {
      const rules = [`${key} vmap @${map}`, ...(star(stage) ? [`goto ${N.hostForwardChain(N.ALL_IFACES, d)}`] : [])];
      c.putChain(name, { rules: rules.map((r, i) => withComment(name, i, r, i === 0 ? `dispatch ${map}` : 'all-interfaces host endpoint')) }, RANK_BASE);
    }
    const notWl = (key: string): string => `${key} != "${WORKLOAD_INTERFACE_PREFIX}*" `;
    const D = N.hex(N.MARK_HEP_DONE);
    const notDone = `meta mark and ${D} == 0 `;
    const conntrack = ['ct state established,related counter accept', 'ct state invalid counter drop'];
    const nd = `${NDP_TYPES} counter accept`;
    // Pods' own VXLAN, ahead of their egress policy (Felix: allowVXLANPacketsFromWorkloads false).
    const podVxlanDrop = this.overlay?.workloadDrop === true ? [`iifname "${WORKLOAD_INTERFACE_PREFIX}*" udp dport ${this.overlay.port} counter drop`] : [];
    // VXLAN between nodes (setOverlay), per family in use: [input rules, output rules].
    const overlayIn: string[] = [];
    const overlayOut: string[] = [];
    for (const f of this.overlay?.families ?? []) {
      const [ipk, nfp] = f === 4 ? ['ip', 'ipv4'] : ['ip6', 'ipv6'];
      const udp = `udp dport ${this.overlay!.port}`;
      overlayIn.push(`${ipk} saddr @${N.overlayPeersSet(f)} ${udp} fib daddr type local counter accept`, `meta nfproto ${nfp} ${udp} fib daddr type local counter drop`);
      overlayOut.push(`${ipk} daddr @${N.overlayPeersSet(f)} ${udp} fib saddr type local counter accept`);
    }
    const chain = (name: string, hook: string, priority: string, rules: string[]): void => {
      c.putChain(name, { header: `type filter hook ${hook} priority ${priority}; policy accept;`, rules: rules.map((r, i) => withComment(name, i, r, `base ${name}`)) }, RANK_BASE);
    };
    chain('forward', 'forward', 'filter', [
      ...conntrack,
      ...(has(N.MAP_HOST_FWD_IN) ? [`${notDone}jump hep_fwd_in_dispatch`] : []),
      ...podVxlanDrop,
      'iifname "cali*" jump from_wl_dispatch',
      'oifname "cali*" jump to_wl_dispatch',
      ...(has(N.MAP_HOST_FWD_OUT) ? ['jump hep_fwd_out_dispatch'] : []),
    ]);
    chain('input', 'input', 'filter', [
      ...conntrack,
      ...overlayIn,
      nd,
      ...podVxlanDrop,
      'iifname "cali*" jump from_wl_dispatch',
      `${notDone}iifname vmap @${N.MAP_HOST_IN}`,
      ...(starNormal ? [`${notDone}${notWl('iifname')}goto ${N.hostChain(N.ALL_IFACES, 'i')}`] : []),
    ]);
    chain('output', 'output', 'filter', [
      ...conntrack,
      nd,
      'oifname "cali*" jump to_wl_dispatch',
      ...overlayOut,
      `${notDone}oifname vmap @${N.MAP_HOST_OUT}`,
      ...(starNormal ? [`${notDone}${notWl('oifname')}goto ${N.hostChain(N.ALL_IFACES, 'o')}`] : []),
    ]);
    // Before conntrack (raw) and before DNAT (mangle, ahead of the dstnat hook's NAT).
    chain('raw_pre', 'prerouting', 'raw', has(N.MAP_HOST_RAW_IN) ? [nd, `iifname vmap @${N.MAP_HOST_RAW_IN}`] : []);
    chain('raw_out', 'output', 'raw', has(N.MAP_HOST_RAW_OUT) ? [nd, `oifname vmap @${N.MAP_HOST_RAW_OUT}`] : []);
    chain(
      'pre_dnat',
      'prerouting',
      'mangle',
      has(N.MAP_HOST_PRE)
        ? ['ct state established,related accept', `meta mark and ${D} == ${D} accept`, nd, `iifname vmap @${N.MAP_HOST_PRE}`, ...(star('preDNAT') ? [`${notWl('iifname')}goto ${N.hostPreDnatChain(N.ALL_IFACES)}`] : [])]
        : [],
    );
  }

  // ---- IP sets ------------------------------------------------------------------------------

  private addSet(c: Change, id: string): void {
    if (this.members.has(id)) return;
    this.members.set(id, new Set());
    for (const f of [4, 6] as const) {
      const addr = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
      if (id.startsWith('n:')) c.putSet(N.setName(id, f), { type: `${addr} . inet_proto . inet_service`, interval: false });
      else c.putSet(N.setName(id, f), { type: addr, interval: true });
    }
  }

  private removeSet(c: Change, id: string): void {
    this.members.delete(id);
    this.wide.delete(id);
    for (const f of [4, 6] as const) c.dropSet(N.setName(id, f));
  }

  private setDelta(c: Change, id: string, added: readonly string[], removed: readonly string[]): void {
    const members = this.members.get(id);
    if (members === undefined) return;
    if (id.startsWith('n:')) {
      for (const m of removed) if (members.delete(m)) c.delElem(N.setName(id, fam(m)), namedPortElem(m));
      for (const m of added) if (!members.has(m)) members.add(m), c.addElem(N.setName(id, fam(m)), namedPortElem(m));
      return;
    }
    let wide = this.wide.get(id) ?? 0;
    const hadWide = wide > 0;
    for (const m of removed) if (members.delete(m) && !isHost(m)) wide--;
    for (const m of added) if (!members.has(m) && (members.add(m), !isHost(m))) wide++;
    this.wide.set(id, wide);
    if (!hadWide && wide === 0) {
      // Only host addresses: nothing covers anything, members are the elements.
      for (const m of removed) c.delElem(N.setName(id, fam(m)), hostElem(m));
      for (const m of added) c.addElem(N.setName(id, fam(m)), hostElem(m));
      return;
    }
    const want = visibleElements(members);
    for (const f of [4, 6] as const) {
      const name = N.setName(id, f);
      const have = this.state.sets.get(name)!.elems;
      for (const e of [...have]) if (!want[f].has(e)) c.delElem(name, e);
      for (const e of want[f]) if (!have.has(e)) c.addElem(name, e);
    }
  }

  // ---- policies and profiles ----------------------------------------------------------------

  /** `limit … log group … prefix …` for one log entry (registered with the chain's lines). */
  private logStatement(lines: ChainLines, kind: 'D' | 'L', key: string, entry: LogEntry): string | undefined {
    if (!this.logDenied) return undefined;
    const prefix = N.logPrefix(kind, key);
    lines.logs.set(prefix, entry);
    return this.logText(prefix);
  }

  private logText(prefix: string): string {
    return `limit rate ${this.logRate} log group ${this.logGroup} prefix "${prefix}"`;
  }

  /**
   * A deny: the counted drop, or (logging) a counted `goto` to the prefix's shared log chain
   * (`dl_<digest>`: the rate-limited log, then drop), so a deny stays one rule and its match is
   * evaluated once.
   */
  private denyLines(lines: ChainLines, match: string, label: string, key: string, entry: LogEntry): void {
    const m = match === '' ? '' : `${match} `;
    if (!this.logDenied) {
      lines.push([`${m}counter drop`, label]);
      return;
    }
    const prefix = N.logPrefix('D', key);
    lines.logs.set(prefix, entry);
    lines.push([`${m}counter goto ${logChainOf(prefix)}`, label]);
  }

  private rulesChain(name: string, rules: readonly CompiledRule[], label: string, ctx: { tier: string; policy: string; direction: 'ingress' | 'egress'; staged: boolean; inProfile: boolean }): ChainLines {
    const lines = newLines();
    for (const r of rules) {
      const ruleLabel = `${label} ${r.index}`;
      const key = `${ctx.policy}|${ctx.direction}|${r.index}|${ctx.tier}`;
      const entry = (action: 'deny' | 'log'): LogEntry => ({ tier: ctx.tier, policy: ctx.policy, rule: r.index, direction: ctx.direction, action });
      for (const m of renderMatches(r)) {
        if (ctx.staged) lines.push([`${m} ${r.action === 'Log' ? 'counter' : 'counter return'}`, `staged ${ruleLabel}`]);
        else if (r.action === 'Deny') this.denyLines(lines, m, ruleLabel, key, entry('deny'));
        else if (r.action === 'Log') {
          const log = this.logStatement(lines, 'L', key, entry('log'));
          lines.push([`${m} counter${log === undefined ? '' : ` ${log}`}`, ruleLabel]);
        } else lines.push([`${m} ${renderVerdict(r.action, ctx.inProfile)}`, ruleLabel]);
      }
    }
    return byFamily(lines);
  }

  /** Writes a chain from its lines (comments added) and keeps its log prefixes registered. */
  private put(c: Change, name: string, lines: ChainLines, rank: ChainRank): void {
    c.putChain(name, { rules: lines.map(([body, label], i) => withComment(name, i, body, label)) }, rank);
    this.registerLogs(c, name, lines.logs);
  }

  private drop(c: Change, name: string): void {
    c.dropChain(name);
    this.registerLogs(c, name, new Map());
  }

  /** Keeps prefix → entry while a chain uses the prefix, and a deny prefix's log chain with it. */
  private registerLogs(c: Change, chain: string, logs: ReadonlyMap<string, LogEntry>): void {
    for (const p of this.chainLogs.get(chain) ?? []) {
      const e = this.logs.get(p);
      if (e === undefined || logs.has(p)) continue;
      e.chains.delete(chain);
      if (e.chains.size === 0) {
        this.logs.delete(p);
        if (e.entry.action === 'deny') c.dropChain(logChainOf(p));
      }
    }
    if (logs.size === 0) {
      this.chainLogs.delete(chain);
      return;
    }
    this.chainLogs.set(chain, [...logs.keys()]);
    for (const [p, entry] of logs) {
      let e = this.logs.get(p);
      if (e === undefined) {
        this.logs.set(p, (e = { entry, chains: new Set() }));
        if (entry.action === 'deny') {
          const name = logChainOf(p);
          const rules = [this.logText(p), 'drop'].map((r, i) => withComment(name, i, r, `log and drop ${p}`));
          c.putChain(name, { rules }, RANK_POLICY);
        }
      }
      e.chains.add(chain);
    }
  }

  /** What a log prefix (`tby:D:…`, `tby:L:…`) stands for, while a chain of the table uses it. */
  logEntry(prefix: string): LogEntry | undefined {
    return this.logs.get(prefix)?.entry;
  }

  /** The NFLOG group the rules log to. */
  get nflogGroup(): number {
    return this.logGroup;
  }

  private putPolicy(c: Change, p: CompiledPolicy): void {
    this.policies.set(p.id, p);
    for (const d of ['i', 'o'] as const) {
      const name = N.policyChain(p.id, d);
      const direction = d === 'i' ? 'ingress' : 'egress';
      this.put(c, name, this.rulesChain(name, d === 'i' ? p.ingress : p.egress, `${p.id} ${direction}`, { tier: p.tier, policy: p.id, direction, staged: p.staged, inProfile: false }), RANK_POLICY);
    }
  }

  private putProfile(c: Change, p: CompiledProfile): void {
    this.profiles.set(p.name, p);
    for (const d of ['i', 'o'] as const) {
      const name = N.profileChain(p.id, d);
      const direction = d === 'i' ? 'ingress' : 'egress';
      this.put(c, name, this.rulesChain(name, d === 'i' ? p.ingress : p.egress, `${p.id} ${direction}`, { tier: PROFILE_TIER, policy: p.id, direction, staged: false, inProfile: true }), RANK_POLICY);
    }
  }

  // ---- endpoints ----------------------------------------------------------------------------

  /** A tier's enforced and staged policies in Felix's order. */
  private tierOrder(t: TierPlan): { id: string; staged: boolean }[] {
    const all = [...t.policies.map((id) => ({ id, staged: false })), ...t.staged.map((id) => ({ id, staged: true }))];
    if (t.staged.length === 0) return all;
    return all.sort((a, b) => {
      const pa = this.policies.get(a.id);
      const pb = this.policies.get(b.id);
      return pa === undefined || pb === undefined ? 0 : comparePolicies(pa, pb);
    });
  }

  private endpointRules(plan: EndpointPlan, stage: Stage, d: N.Dir, style: StageStyle): ChainLines {
    const A = N.hex(N.MARK_ACCEPT);
    const P = N.hex(N.MARK_PASS);
    const direction = d === 'i' ? 'ingress' : 'egress';
    const clear = `meta mark set meta mark and ${N.hex(N.MARK_CLEAR)}`;
    const rules = newLines();
    for (const r of style.pre) rules.push([r, 'failsafe']);
    rules.push([clear, 'reset marks']);
    for (const t of plan.stages[stage] ?? []) {
      const order = this.tierOrder(t);
      if (order.length === 0) continue;
      order.forEach(({ id, staged }, k) => {
        const cond = k === 0 ? '' : `meta mark and ${P} == 0 `;
        rules.push([`${cond}jump ${N.policyChain(id, d)}`, `tier ${t.tier} ${staged ? 'staged ' : ''}policy ${id}`]);
        if (!staged) rules.push([`meta mark and ${A} == ${A} ${style.onAccept}`, `allowed by ${id}`]);
      });
      // A tier of only staged policies has no end-of-tier drop (Felix).
      if (style.tierDrop && t.defaultAction === 'Deny' && t.policies.length > 0) {
        this.denyLines(rules, `meta mark and ${P} == 0`, `end of tier ${t.tier}`, `eot|${t.tier}|${direction}`, { tier: t.tier, policy: null, rule: 'end-of-tier', direction, action: 'deny' });
      }
      rules.push([clear, `after tier ${t.tier}`]);
    }
    if (!style.profiles) return rules;
    for (const name of plan.profiles) {
      const prof = this.profiles.get(name);
      if (prof === undefined) {
        this.denyLines(rules, '', `missing profile ${name}`, `missing|${name}|${direction}`, { tier: PROFILE_TIER, policy: `pro/${name}`, rule: 'missing-profile', direction, action: 'deny' });
        return rules;
      }
      rules.push([`jump ${N.profileChain(prof.id, d)}`, `profile ${name}`]);
      rules.push([`meta mark and ${A} == ${A} return`, `allowed by profile ${name}`]);
    }
    this.denyLines(rules, '', 'no policy or profile allowed', `noprofile|${direction}`, { tier: null, policy: null, rule: 'no-profile-allowed', direction, action: 'deny' });
    return rules;
  }

  /** The chains one endpoint needs: [chain, stage, direction, map, style]. */
  private endpointChains(ep: EndpointIR, plan: EndpointPlan, iface: string): [string, Stage, N.Dir, string, StageStyle][] {
    const normal = (pre: string[]): StageStyle => ({ pre, onAccept: 'return', tierDrop: true, profiles: true });
    if (ep.kind === 'workload') {
      return [
        [N.workloadChain(iface, 'i'), 'ingress', 'i', N.MAP_TO_WL, normal([])],
        [N.workloadChain(iface, 'o'), 'egress', 'o', N.MAP_FROM_WL, normal([])],
      ];
    }
    const D = N.hex(N.MARK_HEP_DONE);
    const early = (notrack: boolean): string => `meta mark set meta mark or ${D}${notrack ? ' notrack' : ''} accept`;
    // Failsafes in raw and prerouting only for the host itself (forwarded traffic has none).
    const local = 'fib daddr type local ';
    const out: [string, Stage, N.Dir, string, StageStyle][] = [
      [N.hostChain(iface, 'i'), 'ingress', 'i', N.MAP_HOST_IN, normal(failsafeRules(this.failsafe, 'i'))],
      [N.hostChain(iface, 'o'), 'egress', 'o', N.MAP_HOST_OUT, normal(failsafeRules(this.failsafe, 'o'))],
    ];
    const has = (s: Stage): boolean => (plan.stages[s] ?? []).length > 0;
    if (has('forwardIngress')) out.push([N.hostForwardChain(iface, 'i'), 'forwardIngress', 'i', N.MAP_HOST_FWD_IN, { pre: [], onAccept: 'return', tierDrop: true, profiles: false }]);
    if (has('forwardEgress')) out.push([N.hostForwardChain(iface, 'o'), 'forwardEgress', 'o', N.MAP_HOST_FWD_OUT, { pre: [], onAccept: 'return', tierDrop: true, profiles: false }]);
    if (has('preDNAT')) out.push([N.hostPreDnatChain(iface), 'preDNAT', 'i', N.MAP_HOST_PRE, { pre: failsafeRules(this.failsafe, 'i').map((r) => local + r), onAccept: early(false), tierDrop: false, profiles: false }]);
    if (has('untrackedIngress')) out.push([N.hostRawChain(iface, 'i'), 'untrackedIngress', 'i', N.MAP_HOST_RAW_IN, { pre: failsafeRules(this.failsafe, 'i').map((r) => local + r), onAccept: early(true), tierDrop: false, profiles: false }]);
    if (has('untrackedEgress')) out.push([N.hostRawChain(iface, 'o'), 'untrackedEgress', 'o', N.MAP_HOST_RAW_OUT, { pre: failsafeRules(this.failsafe, 'o'), onAccept: early(true), tierDrop: false, profiles: false }]);
    return out;
  }

  private putEndpoint(c: Change, ep: EndpointIR, plan: EndpointPlan): void {
    const before = this.endpoints.get(ep.id);
    const iface = ep.interfaceName;
    const chains: string[] = [];
    const mapKeys: [string, string][] = [];
    if (iface !== undefined && (ep.kind === 'workload' || ep.kind === 'host')) {
      for (const [name, stage, d, map, style] of this.endpointChains(ep, plan, iface)) {
        this.put(c, name, this.endpointRules(plan, stage, d, style), RANK_ENDPOINT);
        c.putMapElem(map, iface, `goto ${name}`);
        chains.push(name);
        mapKeys.push([map, iface]);
      }
    }
    if (before !== undefined) {
      for (const [map, key] of before.mapKeys) if (!mapKeys.some(([m, k]) => m === map && k === key)) c.dropMapElem(map, key);
      for (const ch of before.chains) if (!chains.includes(ch)) this.drop(c, ch);
    }
    this.endpoints.set(ep.id, { ep, plan, chains, mapKeys });
  }

  /**
   * Resolves the host endpoints onto interfaces and renders each interface's chains and map
   * keys; what no longer applies (an interface changed hands, an endpoint went) is removed.
   */
  private renderHosts(c: Change): void {
    const res = resolveHostInterfaces([...this.hosts.values()].map((h) => h.ep), this.hostInterfaces);
    const star = res.allInterfaces === undefined ? undefined : this.hosts.get(res.allInterfaces);
    const starStages = new Set<Stage>();
    if (star !== undefined) for (const [s] of DEFAULTED_STAGES) if ((star.plan.stages[s] ?? []).length > 0) starStages.add(s);
    const want = new Map<string, HostBinding>();
    for (const [iface, id] of res.byInterface) {
      const h = this.hosts.get(id)!;
      const chains: string[] = [];
      const mapKeys: [string, string][] = [];
      for (const [name, stage, d, map, style] of this.endpointChains(h.ep, h.plan, iface)) {
        this.put(c, name, this.endpointRules(h.plan, stage, d, style), RANK_ENDPOINT);
        c.putMapElem(map, iface, `goto ${name}`);
        chains.push(name);
        mapKeys.push([map, iface]);
      }
      // The all-interfaces default must not reach an interface a specific endpoint holds.
      for (const [stage, map] of DEFAULTED_STAGES) {
        if (!starStages.has(stage) || mapKeys.some(([m]) => m === map)) continue;
        c.putMapElem(map, iface, 'return');
        mapKeys.push([map, iface]);
      }
      want.set(iface, { endpoint: id, chains, mapKeys });
    }
    if (star !== undefined) {
      const chains: string[] = [];
      for (const [name, stage, d, , style] of this.endpointChains(star.ep, star.plan, N.ALL_IFACES)) {
        this.put(c, name, this.endpointRules(star.plan, stage, d, style), RANK_ENDPOINT);
        chains.push(name);
      }
      want.set(N.ALL_IFACES, { endpoint: star.ep.id, chains, mapKeys: [] });
    }
    for (const [key, before] of this.hostBindings) {
      const now = want.get(key);
      for (const [map, k] of before.mapKeys) if (now === undefined || !now.mapKeys.some(([m, kk]) => m === map && kk === k)) c.dropMapElem(map, k);
      for (const ch of before.chains) if (now === undefined || !now.chains.includes(ch)) this.drop(c, ch);
    }
    this.hostBindings = want;
    this.allIfaceStages = starStages;
  }

  private removeEndpoint(c: Change, id: string): void {
    const before = this.endpoints.get(id);
    if (before === undefined) return;
    this.endpoints.delete(id);
    for (const [map, key] of before.mapKeys) c.dropMapElem(map, key);
    for (const ch of before.chains) this.drop(c, ch);
  }
}

/**
 * A rule of one family never matches a packet of the other, so a chain's IPv4 rules go first (in
 * their order), then an IPv4 packet returns, then the IPv6 rules: an IPv4 packet never walks the
 * IPv6 half of a policy (the common case pays half the rules of a dual-stack policy).
 */
function byFamily(lines: ChainLines): ChainLines {
  const v6 = lines.filter(([b]) => b.startsWith('meta nfproto ipv6 '));
  if (v6.length === 0) return lines;
  const v4 = lines.filter(([b]) => !b.startsWith('meta nfproto ipv6 '));
  const out = newLines();
  out.push(...v4, ['meta nfproto ipv4 return', 'IPv6 rules below'], ...v6);
  for (const [k, v] of lines.logs) out.logs.set(k, v);
  return out;
}

/** The shared chain a deny with this log prefix goes to: log (rate-limited), then drop. */
const logChainOf = (prefix: string): string => `dl_${prefix.slice(prefix.lastIndexOf(':') + 1)}`;

/** Calico's flow-log tier name for profile rules. */
export const PROFILE_TIER = '__PROFILE__';

interface StageStyle {
  /** Rules before the policy (failsafe ports). */
  readonly pre: readonly string[];
  /** What follows an Allow (MARK_ACCEPT set by a policy chain). */
  readonly onAccept: string;
  /** Does a tier's Deny defaultAction drop at its end? (not in untracked and preDNAT) */
  readonly tierDrop: boolean;
  /** Profiles, then the final drop (normal stages only). */
  readonly profiles: boolean;
}

/** A chain's rules as [body, label], with the log prefixes they use. */
type Line = [string, string];
type ChainLines = Line[] & { logs: Map<string, LogEntry> };
const newLines = (): ChainLines => Object.assign([] as Line[], { logs: new Map<string, LogEntry>() });

function failsafeRules(fs: FailsafePorts, d: N.Dir): string[] {
  const list = d === 'i' ? fs.inbound : fs.outbound;
  return list.map((f) => {
    const peer = f.net === undefined ? '' : `${f.net.includes(':') ? 'ip6' : 'ip'} ${d === 'i' ? 'saddr' : 'daddr'} ${f.net} `;
    return `meta l4proto ${f.protocol} th dport ${f.port} ${peer}counter accept`;
  });
}

const isHost = (m: string): boolean => m.endsWith('/32') || m.endsWith('/128');
const fam = (m: string): 4 | 6 => (m.includes(':') && !/^[0-9.]+,/.test(m) ? 6 : 4);
const hostElem = (m: string): string => (isHost(m) ? m.slice(0, m.lastIndexOf('/')) : m);
const PROTO_NUM: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** "10.0.0.1,tcp:8080" → "10.0.0.1 . 6 . 8080" (numbers: what the listing is normalised to). */
export function namedPortElem(m: string): string {
  const comma = m.lastIndexOf(',');
  const [proto, port] = m.slice(comma + 1).split(':') as [string, string];
  return `${m.slice(0, comma)} . ${PROTO_NUM[proto] ?? Number(proto)} . ${port}`;
}

/** Members no other (wider) member covers, per family, as nft elements. */
function visibleElements(members: ReadonlySet<string>): Record<4 | 6, Set<string>> {
  const wide: CIDR[] = [];
  for (const m of members) if (!isHost(m)) wide.push(parseCIDR(m));
  const out: Record<4 | 6, Set<string>> = { 4: new Set(), 6: new Set() };
  for (const m of members) {
    const c = parseCIDR(m);
    if (wide.some((w) => w !== c && w.prefix < c.prefix && cidrContains(w, c))) continue;
    out[c.family].add(hostElem(m));
  }
  return out;
}
