// Property: after any sequence of updates (pods, namespaces and their labels, network sets,
// profiles, tiers, policies of every kind, deletions), the incremental graph equals a graph
// built from scratch on the final state — plans, IP sets, and the verdict of random flows — and
// the events it emitted, replayed by a consumer, rebuild exactly that state. Every selector IP
// set is also checked against brute-force evaluation over every endpoint. Seeded PRNG.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResourceObject, validateResource } from '../model/index.js';
import { parseSelector } from '../selector/index.js';
import { mulberry32 } from '../util/index.js';
import { type GraphEvent, PolicyGraph, deletionOf, evaluateFlow, keyOf, updateFor } from './index.js';

type Doc = Record<string, unknown>;

function generator(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => next() % n;
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() / 4294967296 < p;
  const NS = ['a', 'b', 'c'];
  const labels = () => {
    const out: Record<string, string> = {};
    for (const k of ['app', 'tier', 'env']) if (chance(0.6)) out[k] = pick(['x', 'y', 'z']);
    return out;
  };
  const SELECTORS = ["app == 'x'", "app in {'x','y'}", "has(tier)", "!has(env)", "env != 'z'", "app == 'y' && tier == 'x'", "app == 'z' || env == 'x'", 'all()', "role == 'db'"];
  const selector = () => pick(SELECTORS);
  const entity = (): Doc => {
    const e: Doc = {};
    if (chance(0.5)) e.selector = selector();
    if (chance(0.2)) e.notSelector = selector();
    if (chance(0.2)) e.namespaceSelector = pick(["team == 'red'", 'all()', 'global()', "projectcalico.org/name == 'a'"]);
    if (chance(0.15)) e.nets = [pick(['10.0.0.0/16', '10.0.1.0/24', '198.18.0.0/15'])];
    return e;
  };
  const rule = (): Doc => {
    const r: Doc = { action: pick(['Allow', 'Allow', 'Deny', 'Pass', 'Log']) };
    if (chance(0.5)) {
      r.protocol = pick(['TCP', 'UDP']);
      if (chance(0.6)) r.destination = { ...entity(), ports: [pick([80, 81, 'http', 'dns', '1000:2000'])] };
    }
    if (chance(0.6)) r.source = entity();
    return r;
  };
  const pod = (i: number): Doc => {
    const ip = `10.0.${int(2)}.${i + 1}`;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: pick(NS), labels: labels() },
      spec: { nodeName: 'n1', containers: [{ name: 'c', ports: chance(0.5) ? [{ name: pick(['http', 'dns']), containerPort: pick([80, 8080, 53]), protocol: pick(['TCP', 'UDP']) }] : [] }], ...(chance(0.3) ? { serviceAccountName: 'sa' } : {}) },
      status: chance(0.9) ? { podIP: ip } : {},
    };
  };
  const policy = (): Doc => {
    const kind = pick(['GlobalNetworkPolicy', 'NetworkPolicy', 'StagedNetworkPolicy', 'KubernetesNetworkPolicy']);
    const name = `pol${int(6)}`;
    if (kind === 'KubernetesNetworkPolicy') {
      const peer = () => (chance(0.5) ? { podSelector: { matchLabels: { app: pick(['x', 'y']) } } } : { namespaceSelector: { matchLabels: { team: 'red' } } });
      return {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name, namespace: pick(NS) },
        spec: { podSelector: chance(0.5) ? {} : { matchLabels: { app: pick(['x', 'y']) } }, ingress: chance(0.7) ? [{ from: [peer()], ...(chance(0.5) ? { ports: [{ port: pick([80, 'http']) }] } : {}) }] : [], ...(chance(0.4) ? { egress: [{ to: [peer()] }] } : {}) },
      };
    }
    const spec: Doc = { tier: pick(['default', 'default', 'sec']), selector: selector(), ingress: Array.from({ length: int(3) }, rule), egress: Array.from({ length: int(2) }, rule) };
    if (chance(0.7)) spec.order = pick([1, 10, 10, 100]);
    // Selectors over inherited labels: namespace labels (pcns.) and service account profile labels (pcsa.).
    if (kind === 'GlobalNetworkPolicy' && chance(0.3)) spec.namespaceSelector = pick(["team == 'red'", "team != 'blue'"]);
    if (chance(0.2)) spec.serviceAccountSelector = pick(["role == 'db'", "has(role)"]);
    return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(kind === 'GlobalNetworkPolicy' ? {} : { namespace: pick(NS) }) }, spec };
  };
  const namespace = (): Doc => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: pick(NS), labels: chance(0.5) ? { team: pick(['red', 'blue']) } : {} }, spec: {} });
  const netset = (): Doc =>
    chance(0.5)
      ? { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: `g${int(3)}`, labels: labels() }, spec: { nets: [pick(['198.18.1.0/24', '10.0.1.0/24', '10.0.0.5/32'])] } }
      : { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: `s${int(3)}`, namespace: pick(NS), labels: labels() }, spec: { nets: [pick(['198.18.2.0/24', '10.0.0.0/24'])] } };
  const tier = (): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'sec' }, spec: { order: pick([10, 2_000_000]), defaultAction: pick(['Deny', 'Pass']) } });
  const profile = (): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'ksa.a.sa' }, spec: { labelsToApply: { 'pcsa.role': pick(['db', 'web']) }, ingress: [rule()] } });
  const hep = (): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'h1', labels: labels() }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: [pick(['10.0.9.1', '10.0.1.200'])] } });
  const makers = [() => pod(int(12)), () => pod(int(12)), namespace, policy, policy, netset, tier, profile, hep];
  return { int, pick, chance, next: () => pick(makers)() };
}

/** A dataplane stand-in: applies events, keeps IP sets and plans. */
function replay(events: readonly GraphEvent[], sets: Map<string, Set<string>>, plans: Map<string, unknown>): void {
  for (const e of events) {
    if (e.type === 'ipset-added') sets.set(e.id, new Set());
    else if (e.type === 'ipset-delta') {
      const s = sets.get(e.id)!;
      assert.ok(s !== undefined, `delta for unknown set ${e.id}`);
      for (const m of e.removed) assert.ok(s.delete(m), `removed ${m} was not in ${e.id}`);
      for (const m of e.added) {
        assert.ok(!s.has(m), `added ${m} twice to ${e.id}`);
        s.add(m);
      }
    } else if (e.type === 'ipset-removed') sets.delete(e.id);
    else if (e.type === 'endpoint-updated') plans.set(e.id, e.plan);
    else if (e.type === 'endpoint-removed') plans.delete(e.id);
  }
}

describe('calculation graph: incremental equals from scratch', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: 150 random updates`, () => {
      const g = generator(seed);
      const graph = new PolicyGraph();
      const state = new Map<string, ResourceObject>();
      const sets = new Map<string, Set<string>>();
      const plans = new Map<string, unknown>();
      for (let i = 0; i < 150; i++) {
        const doc = g.next();
        const r = validateResource(doc);
        const id = `${r.apiVersion}|${r.kind}|${keyOf(r)}`;
        let events: GraphEvent[];
        if (state.has(id) && g.chance(0.25)) {
          state.delete(id);
          events = graph.apply([deletionOf(r.kind, keyOf(r), r.apiVersion)]);
        } else {
          state.set(id, r);
          events = graph.apply([updateFor(r)]);
        }
        assert.deepEqual(events.filter((e) => e.type === 'problem'), []);
        replay(events, sets, plans);
      }
      const fresh = new PolicyGraph();
      fresh.apply([...state.values()].map(updateFor));
      assert.deepEqual(graph.planSnapshot(), fresh.planSnapshot());
      assert.deepEqual(graph.ipsetSnapshot(), fresh.ipsetSnapshot());
      // The events told the whole story.
      assert.deepEqual(Object.fromEntries([...sets].map(([k, v]) => [k, [...v].sort()]).sort(([a], [b]) => (a! < b! ? -1 : 1))), graph.ipsetSnapshot());
      assert.deepEqual(Object.fromEntries([...plans].sort(([a], [b]) => (a < b ? -1 : 1))), JSON.parse(JSON.stringify(graph.planSnapshot())));
      // Brute force: every selector set holds exactly the nets of the endpoints it matches.
      for (const [id, text] of fresh.selectorSets()) {
        const sel = parseSelector(text);
        const want = new Set<string>();
        for (const ep of fresh.allEndpoints()) if (sel.matches(fresh.labelsOf(ep.id)!)) for (const n of ep.nets) want.add(n);
        assert.deepEqual(fresh.ipsetSnapshot()[id], [...want].sort(), `set of ${text}`);
      }
      // ... and every named-port set the (address, protocol, port) of each matching endpoint's port of that name.
      for (const [id, info] of fresh.namedPortSetInfo()) {
        const sel = parseSelector(info.selector);
        const want = new Set<string>();
        for (const ep of fresh.allEndpoints()) {
          if (!sel.matches(fresh.labelsOf(ep.id)!)) continue;
          for (const p of ep.ports) {
            if (p.name !== info.name || (info.protocol !== undefined && p.protocol !== info.protocol)) continue;
            for (const n of ep.nets) want.add(`${n.slice(0, n.indexOf('/'))},${p.protocol === 6 ? 'tcp' : p.protocol === 17 ? 'udp' : 'sctp'}:${p.port}`);
          }
        }
        assert.deepEqual(fresh.ipsetSnapshot()[id], [...want].sort(), `named port ${info.name} on ${info.selector}`);
      }
      // Random flows get the same verdict from both graphs.
      const ips = [...fresh.allEndpoints()].flatMap((e) => e.nets.filter((n) => n.endsWith('/32')).map((n) => n.slice(0, -3)));
      ips.push('198.18.1.7', '10.0.0.5');
      for (let k = 0; k < 40 && ips.length > 0; k++) {
        const flow = { src: { ip: g.pick(ips) }, dst: { ip: g.pick(ips), port: g.pick([80, 81, 8080, 53, 1500]) }, protocol: g.pick([6, 17]) };
        assert.deepEqual(evaluateFlow(graph, flow), evaluateFlow(fresh, flow));
      }
    });
  }
});
