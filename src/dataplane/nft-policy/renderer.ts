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
// - Host endpoints (by interface): failsafe ports accepted first, then the same tier/profile
//   chain as workloads in input (ingress) and output (egress). Untracked, preDNAT and
//   applyOnForward stages are not rendered yet.
// - Staged policies are not rendered (they never decide).

import { type CIDR, cidrContains, parseCIDR } from '../../ip/index.js';
import type { CompiledPolicy, CompiledProfile, CompiledRule, EndpointIR, EndpointPlan, FailsafePorts, GraphEvent, Stage } from '../../policy/index.js';
import { DEFAULT_FAILSAFE } from '../../policy/index.js';
import * as N from './names.js';
import { renderMatches, renderVerdict } from './rules.js';
import { Change, type ChainRank, DesiredState, rankOf } from './state.js';

const RANK_POLICY: ChainRank = 0;
const RANK_ENDPOINT: ChainRank = 1;
const RANK_BASE: ChainRank = 2;

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
  /** graph IP set ID → members (CIDRs or named-port members) */
  private readonly members = new Map<string, Set<string>>();
  private readonly wide = new Map<string, number>();
  private failsafe: FailsafePorts = DEFAULT_FAILSAFE;

  constructor() {
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
    for (const e of events) {
      switch (e.type) {
        case 'problem':
          break;
        case 'failsafe-updated':
          this.failsafe = e.failsafe;
          for (const ep of this.endpoints.values()) if (ep.ep.kind === 'host') this.putEndpoint(c, ep.ep, ep.plan);
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
          for (const d of ['i', 'o'] as const) c.dropChain(N.policyChain(e.id, d));
          break;
        case 'profile-updated':
          this.putProfile(c, e.profile);
          touchedProfiles.add(e.profile.name);
          break;
        case 'profile-removed':
          this.profiles.delete(e.id.slice(4));
          for (const d of ['i', 'o'] as const) c.dropChain(N.profileChain(e.id, d));
          touchedProfiles.add(e.id.slice(4));
          break;
        case 'endpoint-updated':
          this.putEndpoint(c, e.endpoint, e.plan);
          break;
        case 'endpoint-removed':
          this.removeEndpoint(c, e.id);
          break;
      }
    }
    // A profile appearing or going changes the endpoint chains naming it (missing → drop).
    if (touchedProfiles.size > 0) {
      for (const ep of this.endpoints.values()) if (ep.plan.profiles.some((p) => touchedProfiles.has(p))) this.putEndpoint(c, ep.ep, ep.plan);
    }
    return { script: c.script() };
  }

  /** Every chain of the desired table (per-rule counters are read chain by chain). */
  knownChains(): string[] {
    return [...this.state.chains.keys()];
  }

  private base(c: Change): void {
    for (const m of [N.MAP_TO_WL, N.MAP_FROM_WL, N.MAP_HOST_IN, N.MAP_HOST_OUT]) c.putMap(m, 'ifname');
    const conntrack = ['ct state established,related counter accept', 'ct state invalid counter drop'];
    const nd = 'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept';
    const chain = (name: string, hook: string, rules: string[]): void => {
      c.putChain(name, { header: `type filter hook ${hook} priority filter; policy accept;`, rules: rules.map((r, i) => withComment(name, i, r, `base ${name}`)) }, RANK_BASE);
    };
    const dispatch = (name: string, key: string, map: string): void => {
      const rules = [`${key} vmap @${map}`, 'counter drop'];
      c.putChain(name, { rules: rules.map((r, i) => withComment(name, i, r, i === 0 ? `dispatch ${map}` : 'unknown workload interface')) }, RANK_BASE);
    };
    dispatch('from_wl_dispatch', 'iifname', N.MAP_FROM_WL);
    dispatch('to_wl_dispatch', 'oifname', N.MAP_TO_WL);
    chain('forward', 'forward', [...conntrack, 'iifname "cali*" jump from_wl_dispatch', 'oifname "cali*" jump to_wl_dispatch']);
    chain('input', 'input', [...conntrack, `iifname "cali*" ${nd}`, 'iifname "cali*" jump from_wl_dispatch', `iifname vmap @${N.MAP_HOST_IN}`]);
    chain('output', 'output', [...conntrack, `oifname "cali*" ${nd}`, 'oifname "cali*" jump to_wl_dispatch', `oifname vmap @${N.MAP_HOST_OUT}`]);
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

  private rulesChain(name: string, rules: readonly CompiledRule[], label: string, inProfile: boolean): string[] {
    const out: string[] = [];
    for (const r of rules) {
      const verdict = renderVerdict(r.action, inProfile, `tabby ${label} ${r.index}: `);
      for (const m of renderMatches(r)) out.push(withComment(name, out.length, `${m} ${verdict}`, `${label} ${r.index}`));
    }
    return out;
  }

  private putPolicy(c: Change, p: CompiledPolicy): void {
    this.policies.set(p.id, p);
    for (const d of ['i', 'o'] as const) {
      const name = N.policyChain(p.id, d);
      if (p.staged) {
        c.dropChain(name);
        continue;
      }
      c.putChain(name, { rules: this.rulesChain(name, d === 'i' ? p.ingress : p.egress, `${p.id} ${d === 'i' ? 'ingress' : 'egress'}`, false) }, RANK_POLICY);
    }
  }

  private putProfile(c: Change, p: CompiledProfile): void {
    this.profiles.set(p.name, p);
    for (const d of ['i', 'o'] as const) {
      const name = N.profileChain(p.id, d);
      c.putChain(name, { rules: this.rulesChain(name, d === 'i' ? p.ingress : p.egress, `${p.id} ${d === 'i' ? 'ingress' : 'egress'}`, true) }, RANK_POLICY);
    }
  }

  // ---- endpoints ----------------------------------------------------------------------------

  private endpointRules(chain: string, plan: EndpointPlan, stage: Stage, d: N.Dir, pre: string[]): string[] {
    const A = N.hex(N.MARK_ACCEPT);
    const P = N.hex(N.MARK_PASS);
    const clear = `meta mark set meta mark and ${N.hex(N.MARK_CLEAR)}`;
    const rules: [string, string][] = pre.map((r) => [r, 'failsafe']);
    rules.push([clear, 'reset marks']);
    for (const t of plan.stages[stage] ?? []) {
      if (t.policies.length === 0) continue;
      t.policies.forEach((id, k) => {
        const cond = k === 0 ? '' : `meta mark and ${P} == 0 `;
        rules.push([`${cond}jump ${N.policyChain(id, d)}`, `tier ${t.tier} policy ${id}`]);
        rules.push([`meta mark and ${A} == ${A} return`, `allowed by ${id}`]);
      });
      if (t.defaultAction === 'Deny') rules.push([`meta mark and ${P} == 0 counter drop`, `end of tier ${t.tier}`]);
      rules.push([clear, `after tier ${t.tier}`]);
    }
    for (const name of plan.profiles) {
      const prof = this.profiles.get(name);
      if (prof === undefined) {
        rules.push(['counter drop', `missing profile ${name}`]);
        break;
      }
      rules.push([`jump ${N.profileChain(prof.id, d)}`, `profile ${name}`]);
      rules.push([`meta mark and ${A} == ${A} return`, `allowed by profile ${name}`]);
    }
    rules.push(['counter drop', 'no policy or profile allowed']);
    return dedupeAfterDrop(rules).map(([body, label], i) => withComment(chain, i, body, label));
  }

  private putEndpoint(c: Change, ep: EndpointIR, plan: EndpointPlan): void {
    const before = this.endpoints.get(ep.id);
    const iface = ep.interfaceName;
    const chains: string[] = [];
    const mapKeys: [string, string][] = [];
    if (iface !== undefined && (ep.kind === 'workload' || ep.kind === 'host')) {
      const host = ep.kind === 'host';
      for (const d of ['i', 'o'] as const) {
        const name = host ? N.hostChain(iface, d) : N.workloadChain(iface, d);
        const pre = host ? failsafeRules(this.failsafe, d) : [];
        c.putChain(name, { rules: this.endpointRules(name, plan, d === 'i' ? 'ingress' : 'egress', d, pre) }, RANK_ENDPOINT);
        const map = host ? (d === 'i' ? N.MAP_HOST_IN : N.MAP_HOST_OUT) : d === 'i' ? N.MAP_TO_WL : N.MAP_FROM_WL;
        c.putMapElem(map, iface, `goto ${name}`);
        chains.push(name);
        mapKeys.push([map, iface]);
      }
    }
    if (before !== undefined) {
      for (const [map, key] of before.mapKeys) if (!mapKeys.some(([m, k]) => m === map && k === key)) c.dropMapElem(map, key);
      for (const ch of before.chains) if (!chains.includes(ch)) c.dropChain(ch);
    }
    this.endpoints.set(ep.id, { ep, plan, chains, mapKeys });
  }

  private removeEndpoint(c: Change, id: string): void {
    const before = this.endpoints.get(id);
    if (before === undefined) return;
    this.endpoints.delete(id);
    for (const [map, key] of before.mapKeys) c.dropMapElem(map, key);
    for (const ch of before.chains) c.dropChain(ch);
  }
}

/** Nothing after an unconditional drop runs. */
function dedupeAfterDrop(rules: [string, string][]): [string, string][] {
  const i = rules.findIndex(([b]) => b === 'counter drop');
  return i < 0 ? rules : rules.slice(0, i + 1);
}

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
