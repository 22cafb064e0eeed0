// Scenario tests of the pure route computation: datastore states in (keys and stored JSON, in
// different orders), desired routes, neighbours, FDB entries, devices and NAT out.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterView } from './cluster-view.js';
import { type DesiredState, type HostFacts, computeDesired } from './desired.js';
import { type KV, block, deleted, felix, node, pool, shuffled } from './scenario.testkit.js';

const HOST: HostFacts = { underlay4: { dev: 'eth0', mtu: 1500 }, underlay6: { dev: 'eth0', mtu: 1500 } };
const MAC = { a: '66:00:00:00:00:0a', b: '66:00:00:00:00:0b', c: '66:00:00:00:00:0c' };

function desired(kvs: readonly KV[], me = 'a', host = HOST): DesiredState {
  const v = new ClusterView(me);
  for (const kv of kvs) v.applyKV(kv.key, kv.value);
  return computeDesired(v, host);
}

/** Three nodes: a and b on 198.18.0.0/24, c on 198.19.0.0/24; dual-stack VTEPs; one block each. */
function cluster(mode4: string, mode6 = mode4): KV[] {
  return [
    pool('v4', '10.244.0.0/16', mode4, true),
    pool('v6', 'fd00:10:244::/48', mode6),
    node('a', { ipv4: '198.18.0.11/24', ipv6: '2001:2::11/64', vtep4: ['10.244.0.0', MAC.a], vtep6: ['fd00:10:244::', MAC.a] }),
    node('b', { ipv4: '198.18.0.12/24', ipv6: '2001:2::12/64', vtep4: ['10.244.1.0', MAC.b], vtep6: ['fd00:10:244::40', MAC.b] }),
    node('c', { ipv4: '198.19.0.13/24', ipv6: '2001:2:0:1::13/64', vtep4: ['10.244.2.0', MAC.c], vtep6: ['fd00:10:244::80', MAC.c] }),
    block('10.244.0.0/26', 'a', { 0: 'a', 1: 'a' }),
    block('10.244.1.0/26', 'b', { 0: 'b' }),
    block('10.244.2.0/26', 'c', { 0: 'c' }),
    block('fd00:10:244::/122', 'a', { 0: 'a' }),
    block('fd00:10:244::40/122', 'b', { 0: 'b' }),
    block('fd00:10:244::80/122', 'c', { 0: 'c' }),
  ];
}

const routeText = (d: DesiredState) => d.routes.map((r) => `${r.dst} ${r.kind}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.onlink ? ' onlink' : ''}`);

describe('desired routes: VXLAN Always', () => {
  const d = desired(cluster('Always'));
  it('blackholes this node\'s blocks and routes every remote block via the remote VTEP, onlink', () => {
    assert.deepEqual(routeText(d), [
      '10.244.0.0/26 blackhole',
      '10.244.1.0/26 vxlan via 10.244.1.0 dev vxlan.calico onlink',
      '10.244.2.0/26 vxlan via 10.244.2.0 dev vxlan.calico onlink',
      'fd00:10:244::/122 blackhole',
      'fd00:10:244::40/122 vxlan via fd00:10:244::40 dev vxlan-v6.calico onlink',
      'fd00:10:244::80/122 vxlan via fd00:10:244::80 dev vxlan-v6.calico onlink',
    ]);
  });
  it('programs a permanent neighbour and an FDB entry per remote VTEP and family', () => {
    assert.deepEqual(d.neighbours.map((n) => `${n.dev} ${n.ip} ${n.mac}`), [
      `vxlan-v6.calico fd00:10:244::40 ${MAC.b}`,
      `vxlan-v6.calico fd00:10:244::80 ${MAC.c}`,
      `vxlan.calico 10.244.1.0 ${MAC.b}`,
      `vxlan.calico 10.244.2.0 ${MAC.c}`,
    ]);
    assert.deepEqual(d.fdb.map((e) => `${e.dev} ${e.mac} ${e.dst}`), [
      `vxlan-v6.calico ${MAC.b} 2001:2::12`,
      `vxlan-v6.calico ${MAC.c} 2001:2:0:1::13`,
      `vxlan.calico ${MAC.b} 198.18.0.12`,
      `vxlan.calico ${MAC.c} 198.19.0.13`,
    ]);
  });
  it('makes both devices with Calico\'s defaults: VNI 4096, port 4789, host MTU minus 50 / 70', () => {
    assert.deepEqual(d.devices.map((x) => [x.name, x.vni, x.port, x.mtu, x.mac, x.address, x.local, x.parent]), [
      ['vxlan.calico', 4096, 4789, 1450, MAC.a, '10.244.0.0', '198.18.0.11', 'eth0'],
      ['vxlan-v6.calico', 4096, 4789, 1430, MAC.a, 'fd00:10:244::', '2001:2::11', 'eth0'],
    ]);
    assert.equal(d.workloadMtu, 1430, 'workloads get the smallest MTU in use');
  });
  it('takes VNI, port and MTUs from FelixConfiguration, node.<name> over default', () => {
    const d2 = desired([...cluster('Always'), felix('default', { vxlanVNI: 5000, vxlanPort: 8472, vxlanMTU: 1400 }), felix('node.a', { vxlanMTUV6: 1350 }), felix('node.b', { vxlanMTU: 1000 })]);
    assert.deepEqual(d2.devices.map((x) => [x.vni, x.port, x.mtu]), [[5000, 8472, 1400], [5000, 8472, 1350]]);
    assert.equal(d2.workloadMtu, 1350);
  });
});

describe('desired routes: event order does not matter', () => {
  it('gives the same state for 20 orders of the same keys, with interleaved stale values and deletes', () => {
    const kvs = cluster('CrossSubnet');
    const want = desired(kvs);
    for (let seed = 1; seed <= 20; seed++) {
      // A stale first version of some keys, and a key that appears then goes, arrive first.
      const noise = [pool('v4', '10.244.0.0/16', 'Never'), node('b', { ipv4: '198.19.0.99/24' }), block('10.244.9.0/26', 'c'), deleted(block('10.244.9.0/26', 'c'))];
      assert.deepEqual(desired([...noise, ...shuffled(kvs, seed)]), want, `order ${seed}`);
    }
  });
  it('a block that is claimed after its node is seen, or before, routes the same', () => {
    const base = cluster('Always');
    const late = [...base.filter((k) => !k.key.endsWith('10.244.2.0-26')), block('10.244.2.0/26', 'c', { 0: 'c' })];
    assert.deepEqual(desired(late), desired(base));
  });
});

describe('desired routes: CrossSubnet and Never', () => {
  it('CrossSubnet goes direct inside this node\'s subnet and over VXLAN across', () => {
    assert.deepEqual(routeText(desired(cluster('CrossSubnet'))), [
      '10.244.0.0/26 blackhole',
      '10.244.1.0/26 direct via 198.18.0.12 dev eth0',
      '10.244.2.0/26 vxlan via 10.244.2.0 dev vxlan.calico onlink',
      'fd00:10:244::/122 blackhole',
      'fd00:10:244::40/122 direct via 2001:2::12 dev eth0',
      'fd00:10:244::80/122 vxlan via fd00:10:244::80 dev vxlan-v6.calico onlink',
    ]);
  });
  it('Never programs no route to other nodes (BGP\'s job) and no device, but still blackholes', () => {
    const d = desired(cluster('Never'));
    assert.deepEqual(routeText(d), ['10.244.0.0/26 blackhole', 'fd00:10:244::/122 blackhole']);
    assert.deepEqual([d.devices, d.neighbours, d.fdb], [[], [], []]);
    assert.equal(d.workloadMtu, 1500);
  });
  it('modes are per pool: an IPv4 VXLAN pool and an IPv6 pool without encapsulation', () => {
    const d = desired(cluster('Always', 'Never'));
    assert.deepEqual(d.devices.map((x) => x.name), ['vxlan.calico']);
    assert.deepEqual(routeText(d).filter((r) => r.startsWith('fd00')), ['fd00:10:244::/122 blackhole']);
    assert.equal(d.workloadMtu, 1450);
  });
  it('routes learned from BGP fill in what IPAM does not route, never overriding it', () => {
    const v = new ClusterView('a');
    for (const kv of cluster('Never')) v.applyKV(kv.key, kv.value);
    v.setLearned([
      { dst: { family: 4, base: 0x0af40100n, prefix: 26 }, gateway: { family: 4, value: 0xc612000cn } },
      { dst: { family: 4, base: 0x0af40000n, prefix: 26 }, gateway: { family: 4, value: 0xc612000cn } },
    ]);
    assert.deepEqual(routeText(computeDesired(v, HOST)), ['10.244.0.0/26 blackhole', '10.244.1.0/26 direct via 198.18.0.12', 'fd00:10:244::/122 blackhole']);
  });
});

describe('desired routes: borrowed addresses, changes', () => {
  it('routes an address borrowed from another node\'s block to the node holding it', () => {
    const kvs = [...cluster('Always'), block('10.244.1.0/26', 'b', { 0: 'b', 5: 'c', 6: 'a' })];
    const r = routeText(desired(kvs));
    assert.ok(r.includes('10.244.1.5/32 vxlan via 10.244.2.0 dev vxlan.calico onlink'), r.join('\n'));
    assert.ok(!r.some((x) => x.startsWith('10.244.1.6/32')), 'our own borrowed address is routed by the CNI\'s /32 on its cali device');
  });
  it('addresses of a block without affinity go to each holder', () => {
    const r = routeText(desired([...cluster('Always'), block('10.244.3.0/26', undefined, { 1: 'b', 2: 'c' })]));
    assert.ok(r.includes('10.244.3.1/32 vxlan via 10.244.1.0 dev vxlan.calico onlink') && r.includes('10.244.3.2/32 vxlan via 10.244.2.0 dev vxlan.calico onlink'), r.join('\n'));
    assert.ok(!r.some((x) => x.startsWith('10.244.3.0/26')));
  });
  it('a released block, a removed node and a pool switched to Never each take their entries away', () => {
    const base = cluster('Always');
    const noBlock = desired([...base, deleted(block('10.244.1.0/26', 'b'))]);
    assert.ok(!routeText(noBlock).some((r) => r.startsWith('10.244.1.0/26')));
    const noNode = desired([...base, deleted(node('c', {}))]);
    assert.ok(!routeText(noNode).some((r) => r.startsWith('10.244.2.0/26')));
    assert.ok(!noNode.neighbours.some((n) => n.mac === MAC.c) && !noNode.fdb.some((e) => e.mac === MAC.c));
    const never = desired([...base, pool('v4', '10.244.0.0/16', 'Never', true)]);
    assert.deepEqual(never.devices.map((x) => x.name), ['vxlan-v6.calico']);
  });
  it('a remote node without a VTEP yet gets no VXLAN route until it has one', () => {
    const kvs = [...cluster('Always'), node('c', { ipv4: '198.19.0.13/24' })];
    assert.ok(!routeText(desired(kvs)).some((r) => r.startsWith('10.244.2.0/26')));
  });
});

describe('desired NAT and bad input', () => {
  it('natOutgoing pools are masqueraded, every pool excluded as a destination, natOutgoingAddress kept', () => {
    const d = desired([...cluster('Always'), pool('extra', '10.250.0.0/16', 'Never', false), felix('default', { natOutgoingAddress: '198.18.0.200' })]);
    assert.deepEqual(d.nat, { pools4: ['10.244.0.0/16', '10.250.0.0/16'], pools6: ['fd00:10:244::/48'], natPools4: ['10.244.0.0/16'], natPools6: [], outgoingAddress4: '198.18.0.200' });
  });
  it('a malformed resource is reported by key and treated as absent; the rest is still routed', () => {
    const v = new ClusterView('a');
    for (const kv of [...cluster('Always'), { key: '/calico/resources/v3/projectcalico.org/ippools/bad', value: { spec: { cidr: 'nonsense', vxlanMode: 'Always' } } }, { key: '/calico/resources/v3/projectcalico.org/nodes/c', value: 'not an object' }]) {
      v.applyKV(kv.key, kv.value);
    }
    assert.deepEqual([...v.problems.keys()], ['/calico/resources/v3/projectcalico.org/ippools/bad', '/calico/resources/v3/projectcalico.org/nodes/c']);
    assert.match(v.problems.get('/calico/resources/v3/projectcalico.org/ippools/bad')!, /spec\.cidr "nonsense" is not a CIDR/);
    const r = routeText(computeDesired(v, HOST));
    assert.ok(r.includes('10.244.1.0/26 vxlan via 10.244.1.0 dev vxlan.calico onlink') && !r.some((x) => x.startsWith('10.244.2.0')));
  });
  it('ignores keys it does not use', () => {
    const v = new ClusterView('a');
    assert.equal(v.applyKV('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/x', {}), false);
    assert.equal(v.applyKV('/calico/ipam/v2/handle/x', {}), false);
  });
});
