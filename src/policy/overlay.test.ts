// The VXLAN overlay and IPv6 neighbour discovery ahead of host endpoint policy, in the pure
// engine: what the graph emits (overlay-updated, only on a change) and what evaluateFlow says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResourceObject, validateResource } from '../model/index.js';
import { type Flow, type GraphEvent, PolicyGraph, describeDecision, evaluateFlow, graphFromResources, updateFor } from './index.js';

type Doc = Record<string, unknown>;
const node = (name: string, v4: string, v6?: string): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: `${v4}/24`, ...(v6 === undefined ? {} : { ipv6Address: `${v6}/64` }) } } });
const pool = (name: string, cidr: string, vxlanMode: string): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, vxlanMode, ipipMode: 'Never' } });
const BASE: Doc[] = [
  node('n1', '198.18.0.11', 'fd00::11'),
  node('n2', '198.18.0.12', 'fd00::12'),
  { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-eth0', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['198.18.0.11', 'fd00::11'] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all' }, spec: { selector: "role == 'host'", ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }] } },
];
const graphOf = (extra: Doc[]) => graphFromResources([...BASE, ...extra].map((d) => validateResource(d) as ResourceObject)).graph;
const vxlan = (src: string, dst: string, port = 4789): Flow => ({ src: { ip: src }, dst: { ip: dst, port }, protocol: 17 });

describe('overlay allowance in the engine', () => {
  it('VXLAN between nodes passes a deny-all host endpoint both ways; from a non-node it is denied, host endpoint or not', () => {
    const g = graphOf([pool('p4', '10.244.0.0/16', 'Always')]);
    const inbound = evaluateFlow(g, vxlan('198.18.0.12', '198.18.0.11'));
    assert.equal(inbound.allowed, true);
    assert.deepEqual(inbound.decidedBy?.decision, { by: 'overlay', port: 4789, peer: true });
    assert.match(describeDecision(inbound.decidedBy!.decision), /VXLAN \(UDP 4789\) between nodes/);
    assert.equal(evaluateFlow(g, vxlan('198.18.0.11', '198.18.0.12')).allowed, true, 'outbound to another node');
    const stranger = evaluateFlow(g, vxlan('198.18.0.99', '198.18.0.11'));
    assert.equal(stranger.allowed, false);
    assert.deepEqual(stranger.decidedBy?.decision, { by: 'overlay', port: 4789, peer: false });
    assert.equal(evaluateFlow(g, vxlan('198.18.0.99', '198.18.0.12')).allowed, false, 'n2 has no host endpoint: dropped all the same (Felix)');
    assert.equal(evaluateFlow(g, vxlan('198.18.0.12', '198.18.0.11', 4790)).allowed, false, 'another UDP port meets the deny-all');
    assert.equal(evaluateFlow(g, vxlan('198.18.0.11', '198.18.0.99')).allowed, false, 'to a non-node: the deny-all decides');
    assert.equal(evaluateFlow(g, vxlan('fd00::12', 'fd00::11')).allowed, false, 'no IPv6 VXLAN pool: IPv6 VXLAN meets policy');
  });

  it('follows the pools, FelixConfiguration vxlanEnabled/vxlanPort and the nodes, and emits overlay-updated only on a change', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const apply = (docs: Doc[]): GraphEvent[] => g.apply(docs.map((d) => updateFor(validateResource(d) as ResourceObject)));
    const overlayEvents = (ev: GraphEvent[]) => ev.filter((e) => e.type === 'overlay-updated');
    assert.deepEqual(overlayEvents(apply(BASE)), [], 'no VXLAN pool: nothing to say');
    assert.deepEqual(overlayEvents(apply([pool('p6', 'fd10::/48', 'CrossSubnet')])), [{ type: 'overlay-updated', overlay: { port: 4789, families: [6], peers: ['fd00::12'], workloadDrop: true } }]);
    assert.deepEqual(overlayEvents(apply([pool('p4', '10.244.0.0/16', 'Never')])), [], 'a Never pool changes nothing');
    const fc = { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { vxlanEnabled: true, vxlanPort: 8472 } };
    assert.deepEqual(overlayEvents(apply([fc])), [{ type: 'overlay-updated', overlay: { port: 8472, families: [4, 6], peers: ['198.18.0.12', 'fd00::12'], workloadDrop: true } }]);
    assert.equal(evaluateFlow(g, vxlan('198.18.0.12', '198.18.0.11', 8472)).allowed, true);
    assert.deepEqual(overlayEvents(g.apply([{ kind: 'Node', key: 'n2', value: undefined }])), [{ type: 'overlay-updated', overlay: { port: 8472, families: [4, 6], peers: [], workloadDrop: true } }]);
    assert.equal(evaluateFlow(g, vxlan('198.18.0.12', '198.18.0.11', 8472)).allowed, false, 'a node gone is a stranger');
  });

  it('IPv6 neighbour discovery and MLD skip the host endpoint stages; other ICMPv6 meets policy', () => {
    const g = graphOf([]);
    const icmp = (src: string, dst: string, icmpType: number): Flow => ({ src: { ip: src }, dst: { ip: dst }, protocol: 58, icmpType });
    for (const t of [130, 131, 132, 133, 135, 136]) {
      assert.equal(evaluateFlow(g, icmp('fe80::2', 'fd00::11', t)).allowed, true, `type ${t} in`);
      assert.equal(evaluateFlow(g, icmp('fd00::11', 'fd00::99', t)).allowed, true, `type ${t} out`);
    }
    assert.deepEqual(evaluateFlow(g, icmp('fe80::2', 'fd00::11', 135)).decidedBy?.decision, { by: 'neighbour-discovery', icmpType: 135 });
    assert.equal(evaluateFlow(g, icmp('fe80::2', 'fd00::11', 128)).allowed, false, 'echo request: the deny-all');
    assert.equal(evaluateFlow(g, icmp('fe80::2', 'fd00::11', 134)).allowed, false, 'router advertisement is not in Felix\'s list');
  });

  it("a pod's own VXLAN is denied before its egress policy while VXLAN is in use, unless allowVXLANPacketsFromWorkloads", () => {
    const pod: Doc[] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec: {} },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] }, status: { podIP: '10.244.0.5' } },
    ];
    // To an address outside the cluster (to a node it would also meet that node's overlay drop).
    const fromPod = (g: ReturnType<typeof graphOf>) => evaluateFlow(g, vxlan('10.244.0.5', '203.0.113.9'));
    assert.equal(fromPod(graphOf(pod)).allowed, true, 'no VXLAN in use: the namespace profile allows it');
    const inUse = fromPod(graphOf([...pod, pool('p4', '10.244.0.0/16', 'Always')]));
    assert.equal(inUse.allowed, false);
    assert.deepEqual(inUse.decidedBy?.decision, { by: 'overlay', port: 4789, peer: false });
    assert.equal(evaluateFlow(graphOf([...pod, pool('p4', '10.244.0.0/16', 'Always')]), vxlan('10.244.0.5', '203.0.113.9', 4790)).allowed, true, 'another port: the profile');
    assert.equal(evaluateFlow(graphOf([...pod, pool('p4', '10.244.0.0/16', 'Always')]), vxlan('10.244.0.5', '198.18.0.12')).allowed, false, 'to a node: dropped');
    const allowed = graphOf([...pod, pool('p4', '10.244.0.0/16', 'Always'), { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { allowVXLANPacketsFromWorkloads: true } }]);
    assert.equal(fromPod(allowed).allowed, true, 'allowVXLANPacketsFromWorkloads: true');
  });
});
