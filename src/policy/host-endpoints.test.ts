// Host endpoint resolution (Felix's endpoint_mgr rules) and the evaluator's all-interfaces
// (`interfaceName: "*"`) semantics, on the pure engine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResourceObject, validateResource } from '../model/index.js';
import type { EndpointIR } from './ir.js';
import { type Flow, evaluateFlow, graphFromResources, resolveHostInterfaces } from './index.js';

type Doc = Record<string, unknown>;
const hepIR = (name: string, spec: { interfaceName?: string; expectedIPs?: string[] }): EndpointIR => ({
  id: `hep/${name}`,
  kind: 'host',
  name,
  node: 'n1',
  labels: {},
  profiles: [],
  nets: (spec.expectedIPs ?? []).map((ip) => `${ip}/32`),
  ports: [],
  ...(spec.interfaceName === undefined ? {} : { interfaceName: spec.interfaceName }),
});

describe('resolveHostInterfaces (Felix resolveHostEndpoints)', () => {
  const ifaces = new Map([
    ['eth0', ['10.0.0.1', 'fd00::1']],
    ['eth1', ['10.1.0.1']],
    ['cali1234', ['169.254.1.1']],
    ['lo', ['127.0.0.1']],
  ]);

  it('matches by name, or by an expected address when the endpoint names no interface', () => {
    const r = resolveHostInterfaces([hepIR('a', { interfaceName: 'eth0' }), hepIR('b', { expectedIPs: ['10.1.0.1'] })], ifaces);
    assert.deepEqual([...r.byInterface].sort(), [
      ['eth0', 'hep/a'],
      ['eth1', 'hep/b'],
    ]);
    assert.equal(r.allInterfaces, undefined);
  });

  it('the alphabetically earliest of the candidates wins an interface, by name or by address alike', () => {
    const named = hepIR('z-named', { interfaceName: 'eth0' });
    const byIp = hepIR('a-by-ip', { expectedIPs: ['fd00::1'] });
    assert.equal(resolveHostInterfaces([named, byIp], ifaces).byInterface.get('eth0'), 'hep/a-by-ip');
    const named2 = hepIR('a-named', { interfaceName: 'eth0' });
    const byIp2 = hepIR('z-by-ip', { expectedIPs: ['10.0.0.1'] });
    assert.equal(resolveHostInterfaces([named2, byIp2], ifaces).byInterface.get('eth0'), 'hep/a-named');
  });

  it('an endpoint naming another interface never matches by address; workload interfaces are never held', () => {
    const r = resolveHostInterfaces([hepIR('a', { interfaceName: 'eth9', expectedIPs: ['10.0.0.1'] }), hepIR('b', { expectedIPs: ['169.254.1.1'] })], ifaces);
    assert.equal(r.byInterface.get('eth0'), undefined);
    assert.equal(r.byInterface.get('cali1234'), undefined);
    assert.equal(r.byInterface.get('eth9'), 'hep/a', 'a named interface not (yet) in the kernel is still held');
  });

  it('"*" never competes for an interface: the earliest one is the default', () => {
    const r = resolveHostInterfaces([hepIR('z-all', { interfaceName: '*' }), hepIR('b-all', { interfaceName: '*', expectedIPs: ['10.0.0.1'] }), hepIR('m', { interfaceName: 'eth1' })], ifaces);
    assert.equal(r.allInterfaces, 'hep/b-all');
    assert.deepEqual([...r.byInterface], [['eth1', 'hep/m']]);
  });

  it('without interface information only named endpoints hold interfaces', () => {
    const r = resolveHostInterfaces([hepIR('a', { interfaceName: 'eth0' }), hepIR('b', { expectedIPs: ['10.1.0.1'] })]);
    assert.deepEqual([...r.byInterface], [['eth0', 'hep/a']]);
  });
});

describe('evaluateFlow with an all-interfaces host endpoint', () => {
  const NODE = '10.9.0.1';
  const OTHER_NODE = '10.9.0.2';
  const WEB = '10.1.0.1';
  const CLI = '10.1.0.2';
  const FAR = '10.1.1.1';
  const OUT = '198.18.0.9';
  const pod = (name: string, ip: string, node: string): Doc => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'a', labels: { app: name } },
    spec: { nodeName: node, containers: [{ name: 'c' }] },
    status: { podIP: ip },
  });
  const BASE: Doc[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec: {} },
    pod('web', WEB, 'n1'),
    pod('cli', CLI, 'n1'),
    pod('far', FAR, 'n2'),
    { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-all', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: '*', expectedIPs: [NODE] } },
  ];
  const gnp = (name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { selector: "role == 'host'", ...spec } });
  const graphOf = (extra: Doc[]) => graphFromResources([...BASE, ...extra].map((d) => validateResource(d) as ResourceObject)).graph;
  const tcp = (src: string, dst: string, port: number, more: Partial<Flow> = {}): Flow => ({ src: { ip: src }, dst: { ip: dst, port }, protocol: 6, ...more });

  it('with no policy and no profile it denies the host all but failsafe ports; pods and their own host are untouched', () => {
    const g = graphOf([]);
    assert.equal(evaluateFlow(g, tcp(OUT, NODE, 80)).allowed, false);
    assert.equal(evaluateFlow(g, tcp(OUT, NODE, 22)).allowed, true);
    assert.equal(evaluateFlow(g, tcp(CLI, NODE, 80)).allowed, true, 'a pod to its own node: no host endpoint policy');
    assert.equal(evaluateFlow(g, tcp(NODE, WEB, 80)).allowed, true, 'the node to its own pod');
    assert.equal(evaluateFlow(g, tcp(CLI, WEB, 80)).allowed, true, 'pod to pod: no applyOnForward policy');
    assert.equal(evaluateFlow(g, tcp(FAR, NODE, 80)).allowed, false, "another node's pod comes in through it");
  });

  it('its applyOnForward policy governs pod-to-pod forwarding on its node; normal policy does not', () => {
    const deny80 = [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }];
    const normal = graphOf([gnp('deny80', { ingress: deny80, egress: deny80 })]);
    assert.equal(evaluateFlow(normal, tcp(CLI, WEB, 80)).allowed, true);
    const fwd = graphOf([gnp('deny80', { applyOnForward: true, ingress: deny80, egress: deny80 })]);
    const v = evaluateFlow(fwd, tcp(CLI, WEB, 80));
    assert.equal(v.allowed, false);
    assert.deepEqual(
      v.stages.map((s) => `${s.stage} ${s.endpoint} ${s.result}`),
      ['forwardIngress hep/n1-all deny'],
    );
    assert.equal(evaluateFlow(fwd, tcp(CLI, WEB, 81)).allowed, true);
    assert.equal(evaluateFlow(fwd, tcp(NODE, WEB, 80)).allowed, true, 'host to own pod is not forwarded');
    // Egress-only forward policy: caught leaving to the destination pod.
    const out = graphOf([gnp('deny80', { applyOnForward: true, types: ['Egress'], egress: deny80 })]);
    const w = evaluateFlow(out, tcp(FAR, WEB, 80));
    assert.equal(w.allowed, false);
    assert.equal(w.decidedBy?.stage, 'forwardEgress');
  });

  it('has no doNotTrack stage (Felix ignores it), but preDNAT applies to traffic from outside only', () => {
    const g = graphOf([
      gnp('raw', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [81] } }] }),
      gnp('pre', { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }] }),
    ]);
    const raw = evaluateFlow(g, tcp(OUT, NODE, 81));
    assert.equal(raw.allowed, false, 'the untracked Allow is not applied');
    assert.ok(!raw.stages.some((s) => s.stage.startsWith('untracked')));
    assert.equal(evaluateFlow(g, tcp(OUT, NODE, 8080, { dnat: { ip: WEB, port: 80 } })).allowed, false, 'preDNAT deny before the DNAT');
    assert.equal(evaluateFlow(g, tcp(CLI, NODE, 8080, { dnat: { ip: WEB, port: 80 } })).allowed, true, "a pod's node-port traffic never meets preDNAT");
  });

  it("kube-controllers' automatic host endpoint: \"*\" with the built-in projectcalico-default-allow profile is open until a policy selects it", () => {
    const auto = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-auto-hep', labels: { auto: 'yes' } }, spec: { node: 'n1', interfaceName: '*', expectedIPs: [OTHER_NODE], profiles: ['projectcalico-default-allow'] } };
    const open = graphOf([auto]);
    const v = evaluateFlow(open, tcp(OUT, OTHER_NODE, 80));
    assert.equal(v.allowed, true);
    assert.deepEqual(v.decidedBy?.decision, { by: 'profile', profile: 'projectcalico-default-allow', rule: 0, action: 'Allow', ruleText: { action: 'Allow' } });
    assert.equal(evaluateFlow(open, tcp(OTHER_NODE, OUT, 443)).allowed, true, 'egress too');
    const closed = graphOf([auto, gnp('ssh-only', { selector: "auto == 'yes'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [2222] } }] })]);
    assert.equal(evaluateFlow(closed, tcp(OUT, OTHER_NODE, 80)).allowed, false, 'a policy selecting it decides (end of tier)');
    assert.equal(evaluateFlow(closed, tcp(OUT, OTHER_NODE, 2222)).allowed, true);
  });

  it('a specific host endpoint holding the address wins over "*"', () => {
    const g = graphOf([
      { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-eth1', labels: { role: 'open' } }, spec: { node: 'n1', interfaceName: 'eth1', expectedIPs: [OTHER_NODE] } },
      { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-all2', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: '*', expectedIPs: [OTHER_NODE] } },
      gnp('open', { selector: "role == 'open'", ingress: [{ action: 'Allow' }] }),
    ]);
    const v = evaluateFlow(g, tcp(OUT, OTHER_NODE, 80));
    assert.equal(v.allowed, true);
    assert.equal(v.flow.dst.endpoint, 'hep/n1-eth1');
  });
});
