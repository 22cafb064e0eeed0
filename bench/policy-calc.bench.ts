// The policy calculation graph at cluster scale: 10,000 pods in 20 namespaces, 1,000 policies
// (Kubernetes NetworkPolicies, Calico NetworkPolicies and GlobalNetworkPolicies in two tiers,
// with named ports, namespace selectors and network-set selectors), 100 network sets.
//
// Measured in one run:
// - full start: a fresh graph takes every resource (this is also the anchor: what a
//   from-scratch recomputation costs on every change);
// - one label change: a pod's app label flips (median of 200 different pods);
// - one policy change: a policy's selector and rules change (median of 100);
// - selector evaluations per label change, against what evaluating every selector would take;
// - graph memory per endpoint (heap growth of building the graph / endpoints, after GC).
// Final JSON line: label-change time against from-scratch recomputation, ratio = how many
// times cheaper the incremental update is (DESIGN.md §9).

import v8 from 'node:v8';
import vm from 'node:vm';
import { type ResourceObject, validateResource } from '../src/model/index.js';
import { PolicyGraph, type ResourceUpdate, updateFor } from '../src/policy/index.js';
import { unitRandom } from '../src/util/random.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const PODS = 10_000;
const POLICIES = 1_000;
const NETSETS = 100;
const NAMESPACES = 20;

const random = unitRandom(0x9011c7);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const chance = (p: number) => random() < p;
const APPS = Array.from({ length: 200 }, (_, i) => `app-${i}`);
const TIERS = ['frontend', 'backend', 'db', 'cache', 'queue'];
const ENVS = ['prod', 'staging', 'dev'];
const nsName = (i: number) => `ns-${i}`;

type Doc = Record<string, unknown>;

function pod(i: number, app = pick(APPS)): Doc {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: nsName(i % NAMESPACES), labels: { app, tier: pick(TIERS), env: pick(ENVS), version: `v${int(4)}`, ...(chance(0.3) ? { team: `team-${int(6)}` } : {}) } },
    spec: {
      nodeName: `node-${i % 50}`,
      serviceAccountName: `sa-${int(5)}`,
      containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }] }],
    },
    status: { podIP: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` },
  };
}

function policy(i: number, variant = 0): Doc {
  const ns = nsName(i % NAMESPACES);
  const app = APPS[(i * 7 + variant) % APPS.length]!;
  const peerApp = pick(APPS);
  const r = i % 10;
  if (r < 5) {
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `knp-${i}`, namespace: ns },
      spec: {
        podSelector: { matchLabels: { app } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: peerApp } } }, ...(chance(0.4) ? [{ namespaceSelector: { matchLabels: { team: `team-${int(4)}` } } }] : [])], ports: [{ port: chance(0.5) ? 'http' : 8080 }] },
        ],
        ...(chance(0.3) ? { egress: [{ to: [{ podSelector: { matchLabels: { tier: 'db' } } }], ports: [{ port: 5432 }] }] } : {}),
        policyTypes: ['Ingress', ...(chance(0.3) ? ['Egress'] : [])],
      },
    };
  }
  if (r < 8) {
    return {
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: { name: `np-${i}`, namespace: ns },
      spec: {
        order: 100 + int(100),
        selector: `app == '${app}'`,
        ingress: [
          { action: 'Deny', source: { nets: ['198.18.99.0/24'] } },
          { action: 'Allow', protocol: 'TCP', source: { selector: `tier == '${pick(TIERS)}'` }, destination: { ports: ['metrics', 443] } },
        ],
        egress: [{ action: 'Allow', destination: { selector: `ext == 'set-${int(NETSETS / 2)}'`, namespaceSelector: 'global()' } }],
      },
    };
  }
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: `security.gnp-${i}` },
    spec: {
      tier: 'security',
      order: int(50),
      selector: `env == '${pick(ENVS)}' && tier == '${pick(TIERS)}' && app == '${app}'`,
      ingress: [{ action: 'Deny', source: { selector: `ext == 'set-${int(NETSETS / 2)}'` } }, { action: 'Pass' }],
      egress: [{ action: 'Pass' }],
    },
  };
}

function netset(i: number): Doc {
  const nets = Array.from({ length: 5 }, (_, k) => `198.${18 + (i % 2)}.${i}.${k * 32}/27`);
  if (i < NETSETS / 2) return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: `set-${i}`, labels: { ext: `set-${i}` } }, spec: { nets } };
  return { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: `set-${i}`, namespace: nsName(i % NAMESPACES), labels: { partner: `p-${i}` } }, spec: { nets } };
}

const v = (d: Doc): ResourceObject => validateResource(d);

function resources(): ResourceUpdate[] {
  const out: ResourceObject[] = [v({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } })];
  for (let i = 0; i < NAMESPACES; i++) out.push(v({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsName(i), labels: { team: `team-${i % 6}` } }, spec: {} }));
  for (let i = 0; i < NETSETS; i++) out.push(v(netset(i)));
  for (let i = 0; i < POLICIES; i++) out.push(v(policy(i)));
  for (let i = 0; i < PODS; i++) out.push(v(pod(i)));
  return out.map(updateFor);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (ns: bigint) => Number(ns) / 1e6;
const now = () => process.hrtime.bigint();

const all = resources();

// Full start (the anchor), best of 3; the last graph is kept for the incremental runs.
let graph = new PolicyGraph();
const starts: number[] = [];
for (let round = 0; round < 3; round++) {
  graph = new PolicyGraph(); // drop the previous round's graph before measuring
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = now();
  graph.apply(all);
  starts.push(ms(now() - t0));
  if (round === 2) {
    gc();
    const perEndpoint = (process.memoryUsage().heapUsed - heapBefore) / (PODS + NETSETS);
    console.log(JSON.stringify({ bench: 'policy-calc', metric: 'memory-per-endpoint', value: Math.round(perEndpoint), unit: 'bytes', goal: 5 * 1024, note: 'whole graph heap (policies, selectors, IP sets included) / endpoints' }));
  }
}
const fullStart = Math.min(...starts);
console.log(JSON.stringify({ bench: 'policy-calc', metric: 'full-start', value: Math.round(fullStart), unit: 'ms', pods: PODS, policies: POLICIES, networkSets: NETSETS, ipSets: Object.keys(graph.ipsetSnapshot()).length }));

// One label change: a pod's app label flips, 200 different pods.
const labelTimes: number[] = [];
let evals = 0;
for (let k = 0; k < 200; k++) {
  const i = (k * 37) % PODS;
  const update = updateFor(v(pod(i, pick(APPS))));
  const e0 = graph.evaluations;
  const t0 = now();
  graph.apply([update]);
  labelTimes.push(ms(now() - t0));
  evals += graph.evaluations - e0;
}
const labelChange = median(labelTimes);
const selectorCount = Object.keys(graph.ipsetSnapshot()).length;
console.log(JSON.stringify({ bench: 'policy-calc', metric: 'label-change-evaluations', value: Math.round(evals / 200), unit: 'selector evaluations', ipSets: selectorCount, note: 'evaluating every selector would take one per selector (IP set and applied-to selectors)' }));

// One policy change: a policy's selector and rules change, 100 different policies.
const policyTimes: number[] = [];
for (let k = 0; k < 100; k++) {
  const i = (k * 13) % POLICIES;
  const update = updateFor(v(policy(i, k + 1)));
  const t0 = now();
  graph.apply([update]);
  policyTimes.push(ms(now() - t0));
}
const policyChange = median(policyTimes);
console.log(JSON.stringify({ bench: 'policy-calc', metric: 'policy-change', value: Number((policyChange * 1000).toFixed(1)), unit: 'us', anchor: 'from-scratch', anchorValue: Math.round(fullStart * 1000), ratio: Math.round(fullStart / policyChange) }));
console.log(
  JSON.stringify({ bench: 'policy-calc', metric: 'label-change', value: Number((labelChange * 1000).toFixed(1)), unit: 'us', anchor: 'from-scratch', anchorValue: Math.round(fullStart * 1000), ratio: Math.round(fullStart / labelChange) }),
);
