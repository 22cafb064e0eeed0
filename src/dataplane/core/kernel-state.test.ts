// The kernel side of the pure core: `ip -j` / `bridge -j` output as iproute2 6.1 prints it,
// and plans that change only what differs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterView } from './cluster-view.js';
import { computeDesired } from './desired.js';
import { parseIP } from '../../ip/index.js';
import { type KernelState, hostFactsFrom, kernelAfter, parseDevices, parseFdb, parseNeighbours, parseRoutes, planApply } from './kernel-state.js';
import { natComment, parseNatComment, renderNat } from './nat.js';
import { block, node, pool } from './scenario.testkit.js';

const ROUTES4 = [{ type: 'blackhole', dst: '10.244.0.0/26', flags: [] }, { dst: '10.244.1.0/26', gateway: '10.244.1.0', dev: 'vxlan.calico', flags: ['onlink'] }, { dst: '10.244.2.7', gateway: '198.18.5.3', dev: 'eth0', flags: [] }];
const ROUTES6 = [{ type: 'blackhole', dst: 'fd00:10:244::/122', dev: 'lo', metric: 1024, flags: [] }, { dst: 'fd00:10:244::40/122', gateway: 'fd00:10:244::1:0:0', dev: 'vxlan-v6.calico', metric: 1024, flags: ['onlink'] }];
const DEVICE = [{ ifname: 'vxlan.calico', flags: ['BROADCAST', 'UP'], mtu: 1450, address: '66:AA:bb:cc:dd:01', linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local: '198.18.5.2', link: 'eth0', port: 4789 } }, addr_info: [{ family: 'inet', local: '10.244.0.0', prefixlen: 32, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] }];

describe('reading the kernel', () => {
  it('parses routes of both families, a bare destination as a host route', () => {
    assert.deepEqual(parseRoutes(ROUTES4, 4), [
      { dst: '10.244.0.0/26', family: 4, kind: 'blackhole' },
      { dst: '10.244.1.0/26', family: 4, kind: 'vxlan', gateway: '10.244.1.0', dev: 'vxlan.calico', onlink: true },
      { dst: '10.244.2.7/32', family: 4, kind: 'direct', gateway: '198.18.5.3', dev: 'eth0' },
    ]);
    assert.deepEqual(parseRoutes(ROUTES6, 6).map((r) => [r.dst, r.kind, r.gateway]), [['fd00:10:244::/122', 'blackhole', undefined], ['fd00:10:244::40/122', 'vxlan', 'fd00:10:244::1:0:0']]);
  });
  it('keeps only neighbours on our devices, and FDB entries with a destination', () => {
    const neigh = [{ dst: '10.244.1.0', dev: 'vxlan.calico', lladdr: '66:AA:BB:CC:DD:02', state: ['PERMANENT'] }, { dst: '198.18.0.1', dev: 'eth0', lladdr: '02:00:00:00:00:01', state: ['PERMANENT'] }];
    assert.deepEqual(parseNeighbours(neigh), [{ dev: 'vxlan.calico', ip: '10.244.1.0', mac: '66:aa:bb:cc:dd:02' }]);
    const fdb = [
      { mac: '66:aa:bb:cc:dd:02', ifname: 'vxlan.calico', dst: '198.18.5.3', flags: ['self'], state: 'permanent' },
      { mac: '33:33:00:00:00:01', ifname: 'vxlan.calico', flags: ['self'], state: 'permanent' },
      { mac: '66:aa:bb:cc:dd:09', ifname: 'vxlan0', dst: '198.18.5.9', flags: ['self'], state: 'permanent' },
    ];
    assert.deepEqual(parseFdb(fdb), [{ dev: 'vxlan.calico', mac: '66:aa:bb:cc:dd:02', dst: '198.18.5.3' }]);
  });
  it('parses our VXLAN devices with their identity and global addresses, and finds the underlay interface', () => {
    const links = [{ ifname: 'eth0', mtu: 9000, addr_info: [{ family: 'inet', local: '198.18.5.2', prefixlen: 24, scope: 'global' }, { family: 'inet6', local: '2001:2:5::2', prefixlen: 64, scope: 'global' }] }, ...DEVICE, { ifname: 'vxlan0', mtu: 1450 }];
    assert.deepEqual(hostFactsFrom(links, parseIP('198.18.5.2'), parseIP('2001:2:5:0::2')), { underlay4: { dev: 'eth0', mtu: 9000 }, underlay6: { dev: 'eth0', mtu: 9000 } });
    assert.deepEqual(hostFactsFrom(links, parseIP('198.18.5.3')), {});
    assert.deepEqual(parseDevices(links), [{ name: 'vxlan.calico', vni: 4096, port: 4789, local: '198.18.5.2', parent: 'eth0', mtu: 1450, mac: '66:aa:bb:cc:dd:01', up: true, addresses: ['10.244.0.0/32'] }]);
  });
});

function view(mode: string): ClusterView {
  const v = new ClusterView('a');
  for (const kv of [
    pool('v4', '10.244.0.0/16', mode, true),
    node('a', { ipv4: '198.18.0.11/24', vtep4: ['10.244.0.0', '66:00:00:00:00:0a'] }),
    node('b', { ipv4: '198.18.0.12/24', vtep4: ['10.244.1.0', '66:00:00:00:00:0b'] }),
    block('10.244.0.0/26', 'a'),
    block('10.244.1.0/26', 'b'),
  ]) v.applyKV(kv.key, kv.value);
  return v;
}
const HOST = { underlay4: { dev: 'eth0', mtu: 1500 } };

describe('planning changes', () => {
  const want = computeDesired(view('Always'), HOST);
  it('from nothing: the device first, then FDB, then neighbour before route', () => {
    const p = planApply(want, { devices: [], routes: [], neighbours: [], fdb: [] });
    assert.deepEqual(p.deviceLines, [
      'link add vxlan.calico type vxlan id 4096 dstport 4789 local 198.18.0.11 dev eth0 nolearning',
      'link set vxlan.calico mtu 1450 address 66:00:00:00:00:0a up',
      'addr replace 10.244.0.0/32 dev vxlan.calico',
    ]);
    assert.deepEqual(p.fdbLines, ['fdb replace 66:00:00:00:00:0b dev vxlan.calico dst 198.18.0.12 self permanent']);
    assert.deepEqual(p.ipLines, [
      'neigh replace 10.244.1.0 lladdr 66:00:00:00:00:0b dev vxlan.calico nud permanent',
      'route replace blackhole 10.244.0.0/26 proto 80',
      'route replace 10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink proto 80',
    ]);
  });
  it('nothing when the kernel already holds the desired state (an agent restart sends no command)', () => {
    const p = planApply(want, kernelAfter(want));
    assert.deepEqual([p.changes, p.deviceLines, p.fdbLines, p.ipLines], [0, [], [], []]);
  });
  it('restores exactly what was deleted by hand, and removes stale protocol-80 entries', () => {
    const have = kernelAfter(want);
    const drifted: KernelState = {
      ...have,
      routes: [...have.routes.filter((r) => r.kind !== 'vxlan'), { dst: '10.99.0.0/24', family: 4, kind: 'direct', gateway: '198.18.0.50', dev: 'eth0' }],
      neighbours: [],
      fdb: [{ dev: 'vxlan.calico', mac: '66:00:00:00:00:0b', dst: '198.18.0.99' }],
    };
    const p = planApply(want, drifted);
    assert.deepEqual(p.deviceLines, []);
    assert.deepEqual(p.fdbLines, ['fdb replace 66:00:00:00:00:0b dev vxlan.calico dst 198.18.0.12 self permanent']);
    assert.deepEqual(p.ipLines, [
      'neigh replace 10.244.1.0 lladdr 66:00:00:00:00:0b dev vxlan.calico nud permanent',
      'route replace 10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink proto 80',
      'route del 10.99.0.0/24 proto 80',
    ]);
    assert.equal(p.changes, 4);
  });
  it('recreates a device whose VNI changed, and re-adds what lived on it', () => {
    const have = kernelAfter(want);
    const p = planApply(want, { ...have, devices: [{ ...have.devices[0]!, vni: 1 }] });
    assert.equal(p.deviceLines[0], 'link del vxlan.calico');
    assert.equal(p.fdbLines.length, 1);
    assert.ok(p.ipLines.includes('route replace 10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink proto 80'));
  });
  it('switching the pool to Never removes routes, neighbours and the device (routes before the device)', () => {
    const p = planApply(computeDesired(view('Never'), HOST), kernelAfter(want));
    assert.deepEqual(p.ipLines, ['link del vxlan.calico']);
    const p2 = planApply(computeDesired(view('CrossSubnet'), HOST), kernelAfter(want));
    assert.deepEqual(p2.ipLines, ['route replace 10.244.1.0/26 via 198.18.0.12 dev eth0 proto 80']);
  });
});

describe('NAT rendering', () => {
  const nat = { pools4: ['10.244.0.0/16'], pools6: ['fd00:10:244::/48'], natPools4: ['10.244.0.0/16'], natPools6: ['fd00:10:244::/48'] };
  it('renders one replace-the-table transaction with masquerade for both families', () => {
    const s = renderNat(nat);
    assert.match(s, /^table inet tabby-nat \{\}\ndelete table inet tabby-nat\ntable inet tabby-nat \{\n/);
    assert.match(s, /ip saddr @nat-pools4 ip daddr != @all-pools4 masquerade/);
    assert.match(s, /ip6 saddr @nat-pools6 ip6 daddr != @all-pools6 masquerade/);
    assert.match(renderNat({ ...nat, outgoingAddress4: '198.18.0.200' }), /snat ip to 198\.18\.0\.200/);
  });
  it('marks the content so equal configurations compare equal, and removes the table when unused', () => {
    assert.equal(natComment(nat), natComment({ ...nat }));
    assert.notEqual(natComment(nat), natComment({ ...nat, natPools6: [] }));
    assert.equal(parseNatComment(`table inet tabby-nat {\n\tcomment "${natComment(nat)}"\n`), natComment(nat));
    const none = { pools4: [], pools6: [], natPools4: [], natPools6: [] };
    assert.equal(renderNat(none), 'table inet tabby-nat {}\ndelete table inet tabby-nat\n');
  });
});
