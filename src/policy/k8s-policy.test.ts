// Kubernetes NetworkPolicy details the upstream e2e cases do not reach: endPort ranges, SCTP,
// a named port that means a different number on each destination pod, a port entry with only a
// protocol, ingress ipBlock with except, and a StagedKubernetesNetworkPolicy's what-if verdict.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResourceObject, validateResource } from '../model/index.js';
import { computeMatrix, evaluateFlow, graphFromResources } from './index.js';

type Doc = Record<string, unknown>;
const pod = (name: string, ip: string, ports: { name: string; containerPort: number; protocol?: string }[]): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'app', labels: { name } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports }] },
  status: { podIP: ip },
});
const knp = (name: string, spec: Doc, kind = 'NetworkPolicy', apiVersion = 'networking.k8s.io/v1'): Doc => ({ apiVersion, kind, metadata: { name, namespace: 'app' }, spec });
const PODS = [
  pod('a', '10.0.0.1', [{ name: 'web', containerPort: 8080 }]),
  pod('b', '10.0.0.2', [{ name: 'web', containerPort: 9090 }]),
  pod('c', '10.0.0.3', [{ name: 'web', containerPort: 53, protocol: 'UDP' }]),
  pod('client', '10.0.0.9', []),
];
const load = (docs: Doc[]) => graphFromResources([...PODS, ...docs].map((d) => validateResource(d) as ResourceObject)).graph;
const allowed = (docs: Doc[], to: string, proto: number, port: number, from = '10.0.0.9') => evaluateFlow(load(docs), { src: { ip: from }, dst: { ip: to, port }, protocol: proto }).allowed;

describe('Kubernetes NetworkPolicy semantics', () => {
  it('a named port resolves per destination pod and protocol', () => {
    const p = knp('web', { podSelector: {}, ingress: [{ ports: [{ port: 'web' }] }] });
    assert.equal(allowed([p], '10.0.0.1', 6, 8080), true);
    assert.equal(allowed([p], '10.0.0.1', 6, 9090), false);
    assert.equal(allowed([p], '10.0.0.2', 6, 9090), true);
    assert.equal(allowed([p], '10.0.0.2', 6, 8080), false);
    // c's "web" is UDP 53, but the policy's port entry defaults to TCP.
    assert.equal(allowed([p], '10.0.0.3', 17, 53), false);
    const udp = knp('web', { podSelector: {}, ingress: [{ ports: [{ port: 'web', protocol: 'UDP' }] }] });
    assert.equal(allowed([udp], '10.0.0.3', 17, 53), true);
    assert.equal(allowed([udp], '10.0.0.2', 6, 9090), false);
  });

  it('endPort gives a range; SCTP is its own protocol; a protocol-only entry opens every port', () => {
    const range = knp('range', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8100 }] }] });
    assert.deepEqual([7999, 8000, 8050, 8100, 8101].map((port) => allowed([range], '10.0.0.1', 6, port)), [false, true, true, true, false]);
    const sctp = knp('sctp', { podSelector: {}, ingress: [{ ports: [{ port: 9000, protocol: 'SCTP' }] }] });
    assert.deepEqual([132, 6, 17].map((proto) => allowed([sctp], '10.0.0.1', proto, 9000)), [true, false, false]);
    const anyUdp = knp('udp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] });
    assert.deepEqual([[17, 1], [17, 65535], [6, 80]].map(([proto, port]) => allowed([anyUdp], '10.0.0.1', proto!, port!)), [true, true, false]);
  });

  it('ingress ipBlock with except; egress defaults its type only when egress rules exist', () => {
    const block = knp('block', { podSelector: { matchLabels: { name: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.8/29'] } }] }] });
    assert.equal(allowed([block], '10.0.0.1', 6, 80, '10.0.0.2'), true);
    assert.equal(allowed([block], '10.0.0.1', 6, 80, '10.0.0.9'), false);
    // No policyTypes, an egress rule: Ingress and Egress (the API server's default). a may reach only b.
    const eg = knp('eg', { podSelector: { matchLabels: { name: 'a' } }, egress: [{ to: [{ podSelector: { matchLabels: { name: 'b' } } }] }] });
    const g = load([eg]);
    const m = computeMatrix(g, { protocol: 6, port: 80 });
    assert.deepEqual(m.pods, ['app/a', 'app/b', 'app/c', 'app/client']);
    assert.deepEqual(m.matrix, [
      [false, true, false, false],
      [false, true, true, true],
      [false, true, true, true],
      [false, true, true, true],
    ]);
  });

  it('a StagedKubernetesNetworkPolicy is reported, never enforced', () => {
    const staged = knp('lock', { podSelector: { matchLabels: { name: 'a' } }, ingress: [], policyTypes: ['Ingress'] }, 'StagedKubernetesNetworkPolicy', 'projectcalico.org/v3');
    const v = evaluateFlow(load([staged]), { src: { ip: '10.0.0.9' }, dst: { ip: '10.0.0.1', port: 80 }, protocol: 6 });
    assert.equal(v.allowed, true);
    assert.deepEqual(v.staged.map((s) => ({ policy: s.policy, allowed: s.allowed, changes: s.changes })), [{ policy: 'sknp/app/lock', allowed: false, changes: true }]);
  });
});
