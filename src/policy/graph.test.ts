// The calculation graph's outputs: events in sequencer order, deltas that carry only what
// changed, plans only for local endpoints, a problem event (not a crash) for an unusable
// resource, and the Kubernetes/converted policy pair counted once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Pod, type ResourceObject, podToWorkloadEndpoint, validateResource } from '../model/index.js';
import { type GraphEvent, PolicyGraph, deletionOf, updateFor, updateFromDatastore } from './index.js';

type Doc = Record<string, unknown>;
const v = (d: Doc): ResourceObject => validateResource(d);
const ns = (name: string, labels: Record<string, string> = {}) => v({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels }, spec: {} });
const pod = (name: string, node: string, ip: string, labels: Record<string, string>, annotations: Record<string, string> = {}) =>
  v({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns1', labels, annotations }, spec: { nodeName: node, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] }, status: { podIP: ip } });
const gnp = (name: string, spec: Doc) => v({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec });
const types = (events: readonly GraphEvent[]) => events.map((e) => e.type);

describe('policy graph events', () => {
  it('come in sequencer order: sets, deltas, policies, profiles, endpoints; removals reversed', () => {
    const g = new PolicyGraph();
    const events = g.apply([ns('ns1'), pod('web', 'n1', '10.0.0.1', { app: 'web' }), pod('db', 'n1', '10.0.0.2', { app: 'db' }), gnp('p', { selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "app == 'db'" }, destination: { ports: ['http'] } }] })].map(updateFor));
    assert.deepEqual(types(events), ['ipset-added', 'ipset-added', 'ipset-delta', 'ipset-delta', 'policy-updated', 'profile-updated', 'endpoint-updated', 'endpoint-updated']);
    const deltas = events.filter((e) => e.type === 'ipset-delta').map((e) => (e.type === 'ipset-delta' ? [...e.added].sort() : []));
    assert.deepEqual(deltas.flat().sort(), ['10.0.0.1,tcp:8080', '10.0.0.2,tcp:8080', '10.0.0.2/32'].sort());
    const web = events.find((e) => e.type === 'endpoint-updated' && e.id.includes('web'));
    assert.ok(web?.type === 'endpoint-updated');
    assert.deepEqual(web.plan.stages.ingress, [{ tier: 'default', defaultAction: 'Deny', policies: ['gnp/p'], staged: [] }]);
    const removal = g.apply([deletionOf('GlobalNetworkPolicy', 'p')]);
    assert.deepEqual(types(removal), ['endpoint-updated', 'policy-removed', 'ipset-removed', 'ipset-removed']);
  });

  it('a label change emits only the membership it changed, and only the plans it changed', () => {
    const g = new PolicyGraph();
    g.apply([ns('ns1'), pod('web', 'n1', '10.0.0.1', { app: 'web' }), pod('db', 'n1', '10.0.0.2', { app: 'db' }), gnp('p', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { selector: "app == 'db'" } }] })].map(updateFor));
    const events = g.apply([updateFor(pod('db', 'n1', '10.0.0.2', { app: 'cache' }))]);
    assert.deepEqual(events.map((e) => (e.type === 'ipset-delta' ? { added: e.added, removed: e.removed } : e.type)), [{ added: [], removed: ['10.0.0.2/32'] }]);
    const moved = g.apply([updateFor(pod('db', 'n1', '10.0.0.2', { app: 'web' }))]);
    assert.deepEqual(types(moved), ['endpoint-updated']);
  });

  it('plans only for endpoints on the local node; every endpoint still fills the sets', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const events = g.apply([ns('ns1'), pod('web', 'n1', '10.0.0.1', { app: 'web' }), pod('db', 'n2', '10.0.0.2', { app: 'db' }), gnp('p', { selector: 'all()', ingress: [{ action: 'Allow', source: { selector: "app == 'db'" } }] })].map(updateFor));
    assert.deepEqual(events.filter((e) => e.type === 'endpoint-updated').map((e) => e.id), ['wep/ns1/n1-k8s-web-eth0']);
    assert.deepEqual(Object.values(g.ipsetSnapshot()), [['10.0.0.2/32']]);
  });

  it("a pod's label change reaches its endpoint although the CNI plugin's WorkloadEndpoint (labels copied at ADD) wins", () => {
    // As the CNI plugin writes it: the pod's conversion plus the interface and address of the ADD.
    const wepOf = (p: ResourceObject) => v(podToWorkloadEndpoint(p as unknown as Pod, { node: 'n1', interfaceName: 'cali0123456789a', ipNetworks: ['10.0.0.2/32'], mac: 'ee:ee:ee:ee:ee:ee', containerID: 'c1', endpoint: 'eth0' }) as unknown as Doc);
    const g = new PolicyGraph();
    const db = pod('db', 'n1', '10.0.0.2', { app: 'db' });
    g.apply([ns('ns1'), pod('web', 'n1', '10.0.0.1', { app: 'web' }), db, wepOf(db), gnp('p', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { selector: "app == 'db'" } }] })].map(updateFor));
    const dbEndpoint = () => [...g.allEndpoints()].find((e) => e.id === 'wep/ns1/n1-k8s-db-eth0')!;
    assert.equal(dbEndpoint().interfaceName, 'cali0123456789a', 'the WorkloadEndpoint is the endpoint');
    assert.deepEqual(Object.values(g.ipsetSnapshot()), [['10.0.0.2/32']]);
    // The pod is relabelled; its WorkloadEndpoint still carries app=db.
    const events = g.apply([updateFor(pod('db', 'n1', '10.0.0.2', { app: 'cache' }))]);
    assert.deepEqual(events.map((e) => (e.type === 'ipset-delta' ? { added: e.added, removed: e.removed } : e.type)), [{ added: [], removed: ['10.0.0.2/32'] }]);
    assert.equal(dbEndpoint().labels['app'], 'cache');
    assert.equal(dbEndpoint().interfaceName, 'cali0123456789a', 'the rest still comes from the WorkloadEndpoint');
    // Without the pod, the WorkloadEndpoint's own labels count again.
    g.apply([deletionOf('Pod', 'ns1/db', 'v1')]);
    assert.equal(dbEndpoint().labels['app'], 'db');
    assert.deepEqual(Object.values(g.ipsetSnapshot()), [['10.0.0.2/32']]);
  });

  it('a resource it cannot use is a problem event and counts as absent', () => {
    const g = new PolicyGraph();
    const events = g.apply([ns('ns1'), pod('web', 'n1', '10.0.0.1', { app: 'web' }, { 'cni.projectcalico.org/floatingIPs': 'not json' })].map(updateFor));
    assert.equal(events[0]?.type, 'problem');
    assert.match(events[0]?.type === 'problem' ? events[0].message : '', /floatingIPs must be a JSON list/);
    assert.equal([...g.allEndpoints()].length, 0);
  });

  it('a Kubernetes policy and its stored knp.default. conversion are one policy', () => {
    const knp = v({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'ns1' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    const converted = v({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'knp.default.deny', namespace: 'ns1' }, spec: { tier: 'default', order: 1000, selector: "projectcalico.org/orchestrator == 'k8s'", types: ['Ingress'] } });
    const g = new PolicyGraph();
    g.apply([ns('ns1'), pod('web', 'n1', '10.0.0.1', { app: 'web' }), knp, converted].map(updateFor));
    assert.deepEqual([...g.allPolicies()].map((p) => p.id), ['knp/ns1/deny']);
    g.apply([deletionOf('NetworkPolicy', 'ns1/deny', 'networking.k8s.io/v1')]);
    assert.deepEqual([...g.allPolicies()].map((p) => p.id), ['knp/ns1/deny']);
    g.apply([deletionOf('NetworkPolicy', 'ns1/knp.default.deny')]);
    assert.deepEqual([...g.allPolicies()], []);
  });

  it('takes datastore keys and values as a syncer delivers them', () => {
    const g = new PolicyGraph();
    const knp = v({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'ns1' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    const updates = [
      updateFromDatastore('/tabby/k8s/core/namespaces/ns1', ns('ns1')),
      updateFromDatastore('/tabby/k8s/core/pods/ns1/web', pod('web', 'n1', '10.0.0.1', { app: 'web' })),
      updateFromDatastore('/tabby/k8s/networking.k8s.io/networkpolicies/ns1/deny', knp),
      updateFromDatastore('/calico/ipam/v2/host/n1/ipv4/block/10.0.0.0-26', undefined),
    ];
    assert.equal(updates[3], undefined);
    g.apply(updates.filter((u) => u !== undefined));
    assert.deepEqual([...g.allPolicies()].map((p) => p.id), ['knp/ns1/deny']);
    g.apply([updateFromDatastore('/tabby/k8s/networking.k8s.io/networkpolicies/ns1/deny', undefined)!]);
    assert.deepEqual([...g.allPolicies()], []);
  });

  it('failsafe ports follow FelixConfiguration, a node configuration over default', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const felix = (name: string, port: number) => v({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec: { failsafeInboundHostPorts: [{ protocol: 'TCP', port }] } });
    const first = g.apply([updateFor(felix('default', 2222))]);
    assert.deepEqual(first, [{ type: 'failsafe-updated', failsafe: { inbound: [{ protocol: 6, port: 2222 }], outbound: g.failsafePorts().outbound } }]);
    g.apply([updateFor(felix('node.n1', 3333))]);
    assert.deepEqual(g.failsafePorts().inbound, [{ protocol: 6, port: 3333 }]);
    assert.deepEqual(g.apply([updateFor(felix('node.n2', 4444))]), []);
  });
});
