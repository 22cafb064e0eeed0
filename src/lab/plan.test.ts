import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabError } from './errors.js';
import { NODE_DIRS, checkLabName, parseEncapsulation, planLab, podNetnsName, vxlanModeOf } from './plan.js';

describe('lab plan', () => {
  it('names every namespace with the tabby-<lab>- prefix and keeps veth names within 15 characters', () => {
    const plan = planLab('lab', 50, 2);
    const names = [plan.switchNetns, plan.etcd.netns, plan.external.netns, ...plan.nodes.map((n) => n.netns)];
    for (const n of names) assert.ok(n.startsWith('tabby-lab-'), n);
    for (const port of [plan.etcd.switchPort, plan.external.switchPort, ...plan.nodes.map((n) => n.switchPort), ...plan.subnets.map((s) => s.bridge)]) {
      assert.ok(port.length <= 15, `${port} is too long for a Linux interface name`);
    }
  });

  it('addresses nodes from the benchmarking ranges, alternating subnets when there are two', () => {
    const plan = planLab('lab', 3, 2);
    assert.deepEqual(
      plan.nodes.map((n) => [n.name, n.address4, n.address6, n.subnet]),
      [
        ['node-1', '198.18.0.11', '2001:2::11', 0],
        ['node-2', '198.19.0.12', '2001:2:0:1::12', 1],
        ['node-3', '198.18.0.13', '2001:2::13', 0],
      ],
    );
    assert.equal(plan.etcd.endpoint, 'http://198.18.0.2:2379');
    assert.deepEqual(plan.subnets.map((s) => s.cidr4), ['198.18.0.0/24', '198.19.0.0/24']);
    for (const a of [...plan.nodes.map((n) => n.address4), plan.etcd.address4]) assert.ok(!a.startsWith('192.0.2.'), a);
  });

  it('puts state, namespace files and node directories under /run/tabby/lab/<name>', () => {
    const plan = planLab('demo', 1);
    assert.equal(plan.stateDir, '/run/tabby/lab/demo');
    assert.equal(plan.nodes[0]!.mountNs, '/run/tabby/lab/demo/ns/node-1.mnt');
    assert.equal(plan.etcd.socket, '/run/tabby/lab/demo/etcd.sock:2379');
    // /run/tabby hides the state dir inside a node, so it must be mounted after the others.
    assert.equal(NODE_DIRS[NODE_DIRS.length - 1]!.target, '/run/tabby');
  });

  it('rejects lab names that could make one lab prefix another, and sizes out of range', () => {
    assert.equal(checkLabName('lab2'), 'lab2');
    for (const bad of ['', 'a-b', 'Lab', '1lab', 'abcdefghijklm', 'a.b']) {
      assert.throws(() => checkLabName(bad), (e: unknown) => e instanceof LabError && e.code === 'InvalidArgument', bad);
    }
    assert.throws(() => planLab('lab', 0), /1 to 50 nodes/);
    assert.throws(() => planLab('lab', 51), /1 to 50 nodes/);
    assert.throws(() => planLab('lab', 2, 3), /--subnets 3/);
  });

  it('names pod namespaces so namespace and pod can be told apart', () => {
    assert.equal(podNetnsName('lab', 'default', 'web-1.a'), 'tabby-lab-default.web-1.a');
  });

  it('places the external host on subnet 0 beside etcd, and maps encapsulations to the pools\' vxlanMode', () => {
    const plan = planLab('lab', 2);
    assert.deepEqual([plan.external.netns, plan.external.address4, plan.external.address6, plan.external.subnet], ['tabby-lab-external', '198.18.0.3', '2001:2::3', 0]);
    assert.equal(plan.encapsulation, 'None', 'DESIGN §9: BGP-routed (None) is the default now that BGP runs in the lab');
    assert.equal(planLab('lab', 2, 2, 'VXLANCrossSubnet').encapsulation, 'VXLANCrossSubnet');
    const bgp = planLab('lab', 3, 1, 'None', { routeReflectors: 1, tor: 'frr' });
    assert.deepEqual([bgp.routeReflectors, bgp.tor?.netns, bgp.tor?.address4, bgp.tor?.address6, bgp.tor?.asNumber], [1, 'tabby-lab-tor', '198.18.0.4', '2001:2::4', 65010]);
    assert.throws(() => planLab('lab', 2, 1, 'VXLAN', { tor: 'bird' }), /--route-reflectors and --tor need BGP: use them with --encapsulation None/);
    assert.throws(() => planLab('lab', 2, 1, 'None', { routeReflectors: 3 }), /--route-reflectors 3 is out of range/);
    assert.deepEqual(['VXLAN', 'VXLANCrossSubnet', 'None'].map((e) => vxlanModeOf(parseEncapsulation(e))), ['Always', 'CrossSubnet', 'Never']);
    assert.equal(parseEncapsulation('vxlancrosssubnet'), 'VXLANCrossSubnet');
    assert.throws(() => parseEncapsulation('IPIP'), (e: unknown) => e instanceof LabError && /--encapsulation IPIP is not supported: use VXLAN, VXLANCrossSubnet, None/.test(e.message));
  });
});
