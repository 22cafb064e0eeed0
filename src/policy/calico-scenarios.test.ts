// Calico semantics as scenario tables: resources in, flows out, each with the verdict and what
// decided it (tier/policy/rule, end of tier, profile, failsafe). The fixture: namespaces ns1 and
// ns2; pods ns1/web (app=web, 10.1.0.1, named port http=8080/TCP), ns1/db (10.1.0.2) and
// ns2/client (10.2.0.1, service account robot); a host endpoint on node-2 (10.9.0.1: the pods
// are on node-1, so their traffic to it arrives through the host endpoint; between a pod and its
// own node no host endpoint policy applies); a GlobalNetworkSet (198.18.10.0/24) and a
// NetworkSet in ns1 (198.18.20.0/24).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResourceObject, validateResource } from '../model/index.js';
import { type Decision, type FlowVerdict, evaluateFlow, graphFromResources, renderExplainText } from './index.js';

type Doc = Record<string, unknown>;
const ns = (name: string): Doc => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {} });
const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>, extra: Doc = {}): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { nodeName: 'node-1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }], ...extra },
  status: { podIP: ip },
});
const BASE: Doc[] = [
  ns('ns1'),
  ns('ns2'),
  pod('ns1', 'web', '10.1.0.1', { app: 'web' }),
  pod('ns1', 'db', '10.1.0.2', { app: 'db' }),
  pod('ns2', 'client', '10.2.0.1', { app: 'client' }, { serviceAccountName: 'robot' }),
  { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node-2-eth0', labels: { role: 'host' } }, spec: { node: 'node-2', interfaceName: 'eth0', expectedIPs: ['10.9.0.1'] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'external', labels: { ext: 'true' } }, spec: { nets: ['198.18.10.0/24'] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: 'partners', namespace: 'ns1', labels: { partner: 'yes' } }, spec: { nets: ['198.18.20.0/24'] } },
];
const WEB = '10.1.0.1';
const DB = '10.1.0.2';
const CLIENT = '10.2.0.1';
const HOST = '10.9.0.1';

const gnp = (name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec });
const np = (namespace: string, name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const tier = (name: string, order: number, defaultAction?: 'Deny' | 'Pass'): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec: { order, ...(defaultAction ? { defaultAction } : {}) } });

/** One line for what decided: "rule <tier>/<policy>#<n>", "end-of-tier <tier>", "profile <p>#<n>", ... */
function decided(d: Decision | undefined): string {
  if (d === undefined) return 'nothing';
  switch (d.by) {
    case 'rule':
      return `rule ${d.tier}/${d.policy}#${d.rule}`;
    case 'end-of-tier':
      return `end-of-tier ${d.tier}`;
    case 'profile':
      return `profile ${d.profile}#${d.rule}`;
    case 'missing-profile':
      return `missing-profile ${d.profile}`;
    case 'failsafe':
      return `failsafe ${d.protocol}:${d.port}`;
    default:
      return d.by;
  }
}

interface FlowCase {
  readonly from: string;
  readonly to: string;
  readonly proto?: number;
  readonly port?: number;
  readonly icmp?: [number, number?];
  readonly via?: string;
  readonly allowed: boolean;
  readonly by: string;
}

function run(extra: Doc[], flows: FlowCase[]): FlowVerdict[] {
  const { graph } = graphFromResources([...BASE, ...extra].map((d) => validateResource(d) as ResourceObject));
  return flows.map((f) => {
    const v = evaluateFlow(graph, {
      src: { ip: f.from },
      dst: { ip: f.to, ...(f.port === undefined ? {} : { port: f.port }) },
      protocol: f.proto ?? 6,
      ...(f.icmp === undefined ? {} : { icmpType: f.icmp[0], ...(f.icmp[1] === undefined ? {} : { icmpCode: f.icmp[1] }) }),
      ...(f.via === undefined ? {} : { viaHostEndpoint: f.via }),
    });
    assert.deepEqual(
      { allowed: v.allowed, by: decided(v.decidedBy?.decision) },
      { allowed: f.allowed, by: f.by },
      `${f.from} → ${f.to} ${f.proto ?? 6}/${f.port ?? f.icmp?.join('/')}${f.via ? ` via ${f.via}` : ''}`,
    );
    return v;
  });
}

describe('Calico scenarios: tiers, Pass and defaultAction', () => {
  it('Pass leaves the tier; a tier nobody decided in denies; defaultAction Pass goes on', () => {
    const security = gnp('security.guard', { tier: 'security', order: 1, selector: "app == 'web'", ingress: [{ action: 'Deny', source: { selector: "app == 'db'" } }, { action: 'Pass' }] });
    run([tier('security', 100), security], [
      { from: DB, to: WEB, port: 80, allowed: false, by: 'rule security/gnp/security.guard#0' },
      { from: CLIENT, to: WEB, port: 80, allowed: true, by: 'profile kns.ns1#0' },
    ]);
    const platform = gnp('platform.https', { tier: 'platform', selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [443] } }] });
    run([tier('platform', 200, 'Pass'), platform], [
      { from: CLIENT, to: WEB, port: 80, allowed: true, by: 'profile kns.ns1#0' },
      { from: CLIENT, to: WEB, port: 443, allowed: true, by: 'rule platform/gnp/platform.https#0' },
    ]);
    run([tier('platform', 200, 'Deny'), platform], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'end-of-tier platform' }]);
    // A tier that selects nothing on the path takes no part: db is not selected.
    run([tier('platform', 200, 'Deny'), platform], [{ from: WEB, to: DB, port: 80, allowed: true, by: 'profile kns.ns1#0' }]);
  });

  it('tiers run in order: a later tier never sees what an earlier one decided', () => {
    const first = gnp('first.allow', { tier: 'first', selector: "app == 'web'", ingress: [{ action: 'Allow' }] });
    const second = gnp('second.deny', { tier: 'second', selector: "app == 'web'", ingress: [{ action: 'Deny' }] });
    run([tier('first', 10), tier('second', 20), first, second], [{ from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule first/gnp/first.allow#0' }]);
    run([tier('first', 30), tier('second', 20), first, second], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule second/gnp/second.deny#0' }]);
  });
});

describe('Calico scenarios: order, name tie-break, GNP beside NP', () => {
  it('equal order: name decides; lower order first; unset order last', () => {
    const deny = (order?: number) => gnp('a-deny', { ...(order === undefined ? {} : { order }), selector: "app == 'web'", ingress: [{ action: 'Deny' }] });
    const allow = (order?: number) => gnp('b-allow', { ...(order === undefined ? {} : { order }), selector: "app == 'web'", ingress: [{ action: 'Allow' }] });
    run([deny(10), allow(10)], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule default/gnp/a-deny#0' }]);
    run([deny(10), allow(5)], [{ from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule default/gnp/b-allow#0' }]);
    run([deny(), allow(1000)], [{ from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule default/gnp/b-allow#0' }]);
  });

  it('a GlobalNetworkPolicy and a NetworkPolicy share the tier and its order', () => {
    const local = np('ns1', 'allow-client', { order: 100, selector: "app == 'web'", ingress: [{ action: 'Allow', source: { namespaceSelector: "projectcalico.org/name == 'ns2'" } }] });
    const global = gnp('deny-client', { order: 50, selector: "app == 'web'", ingress: [{ action: 'Deny', source: { selector: "app == 'client'" } }] });
    run([local, global], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule default/gnp/deny-client#0' }]);
    run([local], [
      { from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule default/np/ns1/allow-client#0' },
      // A namespaced policy's selector is scoped to its namespace: db (ns1) is not selected.
      { from: DB, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
    ]);
  });
});

describe('Calico scenarios: negations, ICMP, ipVersion, Log', () => {
  it('notSelector also matches non-Calico sources; notPorts; notNets', () => {
    const p = gnp('not-db', { selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'TCP', source: { notSelector: "app == 'db'" }, destination: { notPorts: [22] } }] });
    run([p], [
      { from: DB, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
      { from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule default/gnp/not-db#0' },
      { from: CLIENT, to: WEB, port: 22, allowed: false, by: 'end-of-tier default' },
      { from: '198.18.99.1', to: WEB, port: 80, allowed: true, by: 'rule default/gnp/not-db#0' },
    ]);
    const nets = gnp('nets', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/8'], notNets: ['10.2.0.0/16'] } }] });
    run([nets], [
      { from: DB, to: WEB, port: 80, allowed: true, by: 'rule default/gnp/nets#0' },
      { from: CLIENT, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
    ]);
  });

  it('ICMP type and code, notICMP, notProtocol by number', () => {
    const p = gnp('icmp', {
      selector: "app == 'web'",
      ingress: [
        { action: 'Deny', protocol: 'ICMP', notICMP: { type: 8 } },
        { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
        { action: 'Allow', notProtocol: 1, protocol: 17 },
      ],
    });
    run([p], [
      { from: CLIENT, to: WEB, proto: 1, icmp: [8, 0], allowed: true, by: 'rule default/gnp/icmp#1' },
      { from: CLIENT, to: WEB, proto: 1, icmp: [13, 0], allowed: false, by: 'rule default/gnp/icmp#0' },
      { from: CLIENT, to: WEB, proto: 1, icmp: [8, 1], allowed: false, by: 'end-of-tier default' },
      { from: CLIENT, to: WEB, proto: 17, port: 53, allowed: true, by: 'rule default/gnp/icmp#2' },
    ]);
  });

  it('ipVersion 6 rules skip IPv4 flows; Log goes on to the next rule', () => {
    const p = gnp('v6', { selector: "app == 'web'", ingress: [{ action: 'Allow', ipVersion: 6 }, { action: 'Log' }, { action: 'Deny' }] });
    const [v] = run([p], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule default/gnp/v6#2' }]);
    assert.deepEqual(v!.decidedBy!.tiers[0]!.policies[0]!.logged, [1]);
  });

  it('an http (L7) match is refused: reported, and the rule never matches', () => {
    const p = gnp('l7', { selector: "app == 'web'", ingress: [{ action: 'Allow', http: { methods: ['GET'] } }] });
    const loaded = graphFromResources([...BASE, p].map((d) => validateResource(d) as ResourceObject));
    assert.match(loaded.problems.join('\n'), /http match \(L7\): Tabby enforces no L7 rules/);
    run([p], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' }]);
  });
});

describe('Calico scenarios: service accounts, network sets, named ports', () => {
  it('serviceAccounts by name and by selector over the ksa profile labels', () => {
    const byName = gnp('sa-name', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { serviceAccounts: { names: ['robot'] } } }] });
    run([byName], [
      { from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule default/gnp/sa-name#0' },
      { from: DB, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
    ]);
    const saProfile = { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'ksa.ns2.robot' }, spec: { labelsToApply: { 'pcsa.role': 'bot', 'pcsa.projectcalico.org/name': 'robot' } } };
    const bySel = gnp('sa-sel', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { serviceAccounts: { selector: "role == 'bot'" } } }] });
    run([saProfile, bySel], [
      { from: CLIENT, to: WEB, port: 80, allowed: true, by: 'rule default/gnp/sa-sel#0' },
      { from: DB, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
    ]);
    const saTop = gnp('sa-top', { serviceAccountSelector: "projectcalico.org/name == 'robot'", egress: [{ action: 'Deny' }] });
    run([saProfile, saTop], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule default/gnp/sa-top#0' }]);
  });

  it('GlobalNetworkSet and NetworkSet addresses are selectable, both ways', () => {
    const ext = gnp('from-ext', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { selector: "ext == 'true'" } }], egress: [{ action: 'Allow', destination: { selector: "ext == 'true'" } }] });
    run([ext], [
      { from: '198.18.10.7', to: WEB, port: 80, allowed: true, by: 'rule default/gnp/from-ext#0' },
      { from: '198.18.11.1', to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
      { from: WEB, to: '198.18.10.200', port: 443, allowed: true, by: 'rule default/gnp/from-ext#0' },
      { from: WEB, to: CLIENT, port: 443, allowed: false, by: 'end-of-tier default' },
    ]);
    const partners = np('ns1', 'partners', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { selector: "partner == 'yes'" } }] });
    run([partners], [
      { from: '198.18.20.3', to: WEB, port: 80, allowed: true, by: 'rule default/np/ns1/partners#0' },
      { from: '198.18.10.3', to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
    ]);
    // A global network set is outside every namespace: global() reaches it, all() does not.
    const global = gnp('global-only', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()' } }] });
    run([global], [
      { from: '198.18.10.9', to: WEB, port: 80, allowed: true, by: 'rule default/gnp/global-only#0' },
      { from: '198.18.20.9', to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
    ]);
  });

  it('named ports resolve per destination endpoint and protocol', () => {
    const p = gnp('named', { selector: "app == 'web' || app == 'db'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }] });
    run([p], [
      { from: CLIENT, to: WEB, port: 8080, allowed: true, by: 'rule default/gnp/named#0' },
      { from: CLIENT, to: WEB, port: 80, allowed: false, by: 'end-of-tier default' },
      { from: CLIENT, to: WEB, proto: 17, port: 8080, allowed: false, by: 'end-of-tier default' },
    ]);
  });
});

describe('Calico scenarios: profiles and host endpoints', () => {
  it('a host endpoint with no policy and no profile denies all but failsafe ports', () => {
    run([], [
      { from: CLIENT, to: HOST, port: 8080, allowed: false, by: 'no-profile-allowed' },
      { from: CLIENT, to: HOST, port: 22, allowed: true, by: 'failsafe TCP:22' },
      { from: HOST, to: '198.18.10.1', proto: 17, port: 53, allowed: true, by: 'failsafe UDP:53' },
    ]);
  });

  it('profiles apply when no policy selects; a missing profile denies', () => {
    const web = { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'web-only' }, spec: { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }] } };
    const hep = (profiles: string[]) => ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node-2-eth1' }, spec: { node: 'node-2', interfaceName: 'eth1', expectedIPs: ['10.9.0.2'], profiles } });
    run([web, hep(['web-only'])], [
      { from: CLIENT, to: '10.9.0.2', port: 80, allowed: true, by: 'profile web-only#0' },
      { from: CLIENT, to: '10.9.0.2', port: 8080, allowed: false, by: 'no-profile-allowed' },
    ]);
    run([hep(['nowhere'])], [{ from: CLIENT, to: '10.9.0.2', port: 80, allowed: false, by: 'missing-profile nowhere' }]);
  });

  it('preDNAT runs before normal policy: Allow skips normal policy, no match goes on to it', () => {
    const pre = gnp('pre', { selector: "role == 'host'", preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [30080] } }, { action: 'Allow', protocol: 'TCP', destination: { ports: [30443] } }] });
    run([pre], [
      { from: CLIENT, to: HOST, port: 30080, allowed: false, by: 'rule default/gnp/pre#0' },
      { from: CLIENT, to: HOST, port: 30443, allowed: true, by: 'rule default/gnp/pre#1' },
      // Neither allowed nor denied by preDNAT (no default drop there): normal policy decides — none, and no profile.
      { from: CLIENT, to: HOST, port: 8080, allowed: false, by: 'no-profile-allowed' },
      { from: CLIENT, to: HOST, port: 22, allowed: true, by: 'failsafe TCP:22' },
      { from: '198.18.66.1', to: WEB, port: 30080, via: 'hep/node-2-eth0', allowed: false, by: 'rule default/gnp/pre#0' },
      // Forwarded to a workload: preDNAT Allow, then the workload's own policy (its namespace profile).
      { from: '198.18.66.1', to: WEB, port: 30443, via: 'hep/node-2-eth0', allowed: true, by: 'profile kns.ns1#0' },
    ]);
  });

  it('an untracked Allow skips the host endpoint preDNAT and normal policy', () => {
    const untracked = gnp('raw', { selector: "role == 'host'", doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [4789] } }] });
    const deny = gnp('deny-all', { selector: "role == 'host'", ingress: [{ action: 'Deny' }] });
    run([untracked, deny], [
      { from: CLIENT, to: HOST, proto: 17, port: 4789, allowed: true, by: 'rule default/gnp/raw#0' },
      { from: CLIENT, to: HOST, proto: 17, port: 4790, allowed: false, by: 'rule default/gnp/deny-all#0' },
    ]);
  });

  it('applyOnForward policies police forwarded traffic; none means allowed', () => {
    const fwd = gnp('fwd', { selector: "role == 'host'", applyOnForward: true, ingress: [{ action: 'Deny', source: { nets: ['198.18.66.0/24'] } }, { action: 'Allow', source: { nets: ['198.18.0.0/16'] } }] });
    run([fwd], [
      { from: '198.18.66.1', to: WEB, port: 80, via: 'hep/node-2-eth0', allowed: false, by: 'rule default/gnp/fwd#0' },
      { from: '198.18.10.1', to: WEB, port: 80, via: 'hep/node-2-eth0', allowed: true, by: 'profile kns.ns1#0' },
      // The same policy also applies to traffic for the host itself.
      { from: '198.18.10.1', to: HOST, port: 80, allowed: true, by: 'rule default/gnp/fwd#1' },
    ]);
    const notForward = gnp('host-only', { selector: "role == 'host'", ingress: [{ action: 'Deny' }] });
    run([notForward], [{ from: '198.18.66.1', to: WEB, port: 80, via: 'hep/node-2-eth0', allowed: true, by: 'profile kns.ns1#0' }]);
  });
});

describe('Calico scenarios: staged policies', () => {
  it('staged verdicts are reported and never enforced', () => {
    const staged = { apiVersion: 'projectcalico.org/v3', kind: 'StagedGlobalNetworkPolicy', metadata: { name: 'lockdown' }, spec: { selector: "app == 'web'", ingress: [{ action: 'Deny' }] } };
    const [v] = run([staged], [{ from: CLIENT, to: WEB, port: 80, allowed: true, by: 'profile kns.ns1#0' }]);
    assert.deepEqual(v!.staged.map((s) => ({ policy: s.policy, allowed: s.allowed, changes: s.changes })), [{ policy: 'sgnp/lockdown', allowed: false, changes: true }]);
  });

  it('a staged Delete reports what removing the enforced policy would do', () => {
    const deny = np('ns1', 'deny-client', { selector: "app == 'web'", ingress: [{ action: 'Deny' }] });
    const del = { apiVersion: 'projectcalico.org/v3', kind: 'StagedNetworkPolicy', metadata: { name: 'deny-client', namespace: 'ns1' }, spec: { stagedAction: 'Delete' } };
    const [v] = run([deny, del], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule default/np/ns1/deny-client#0' }]);
    assert.deepEqual(v!.staged.map((s) => ({ policy: s.policy, allowed: s.allowed, changes: s.changes })), [{ policy: 'snp/ns1/deny-client', allowed: true, changes: true }]);
    // stagedAction Set with the same name: what-if the enforced policy were replaced by it.
    const setAllow = { apiVersion: 'projectcalico.org/v3', kind: 'StagedNetworkPolicy', metadata: { name: 'deny-client', namespace: 'ns1' }, spec: { selector: "app == 'web'", ingress: [{ action: 'Allow' }] } };
    const [w] = run([deny, setAllow], [{ from: CLIENT, to: WEB, port: 80, allowed: false, by: 'rule default/np/ns1/deny-client#0' }]);
    assert.deepEqual(w!.staged.map((s) => ({ policy: s.policy, allowed: s.allowed, changes: s.changes })), [{ policy: 'snp/ns1/deny-client', allowed: true, changes: true }]);
  });
});

describe('Calico scenarios: host endpoint stages and DNAT', () => {
  it('a node port: preDNAT sees the port before DNAT, forward and workload policy the pod after it', () => {
    const pre = gnp('pre', { selector: "role == 'host'", preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', source: { nets: ['198.18.66.0/24'] }, destination: { ports: [30080] } }] });
    const fwd = gnp('fwd', { selector: "role == 'host'", applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }, { action: 'Allow' }] });
    const { graph } = graphFromResources([...BASE, pre].map((d) => validateResource(d as unknown as ResourceObject)));
    const flow = (src: string) => evaluateFlow(graph, { src: { ip: src }, dst: { ip: HOST, port: 30080 }, dnat: { ip: WEB, port: 80 }, protocol: 6 });
    const denied = flow('198.18.66.1');
    assert.equal(denied.allowed, false);
    assert.equal(decided(denied.decidedBy?.decision), 'rule default/gnp/pre#0');
    assert.equal(denied.decidedBy?.stage, 'preDNAT');
    const other = flow('198.18.77.1');
    assert.equal(other.allowed, true);
    assert.deepEqual(other.stages.map((s) => `${s.stage} ${s.endpoint}`), ['preDNAT hep/node-2-eth0', 'forwardIngress hep/node-2-eth0', 'ingress wep/ns1/node--1-k8s-web-eth0']);
    // A forward policy on the translated port (8080 is web's, 30080 the node's) sees the pod's port.
    const g2 = graphFromResources([...BASE, fwd].map((d) => validateResource(d as unknown as ResourceObject))).graph;
    const v = evaluateFlow(g2, { src: { ip: '198.18.77.1' }, dst: { ip: HOST, port: 30080 }, dnat: { ip: WEB, port: 8080 }, protocol: 6 });
    assert.equal(v.allowed, false);
    assert.equal(v.decidedBy?.stage, 'forwardIngress');
    assert.deepEqual(v.flow.dnat, { ip: WEB, port: 8080 });
    assert.equal(v.flow.dst.name, 'host endpoint node-2-eth0', 'the flow names what the client addressed');
    assert.match(renderExplainText(v), /^DENIED: .* → .*TCP\/30080 \(DNAT to 10\.1\.0\.1:8080\)\n/);
  });
});
