// Scenario tests of the cluster renderer with Calico's documented topologies (docs
// networking/configuring/bgp.mdx): full mesh, route reflectors by routeReflectorClusterID and
// peerSelector with the mesh off, a ToR per rack with per-node AS, and what a node announces.
// Every resource goes through the model's validation first, as the datastore would hold it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CIDR, formatCIDR, formatIP, parseCIDR } from '../../ip/index.js';
import { type BGPConfiguration, type BGPFilter, type BGPPeer, type IPPool, type Node, type StoredBlock, applyDefaults, validateResource } from '../../model/index.js';
import { DEFAULT_BFD } from '../config.js';
import { clusterSpeakerConfig, speakerLogLevel } from '../cluster-speaker.js';
import { BFD_ANNOTATION, type ClusterBgpState, type NodeBgpConfig, renderNodeBgp } from './index.js';

const api = 'projectcalico.org/v3';
const res = <T>(kind: string, name: string, spec: unknown, meta: Record<string, unknown> = {}): T =>
  applyDefaults(validateResource({ apiVersion: api, kind, metadata: { name, ...meta }, spec })) as T;
const node = (name: string, i: number, bgp: Record<string, unknown> = {}, labels: Record<string, string> = {}): Node =>
  res<Node>('Node', name, { bgp: { ipv4Address: `198.18.0.${10 + i}/24`, ipv6Address: `2001:2::${(10 + i).toString(16)}/64`, ...bgp } }, { labels });
const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}): IPPool => res<IPPool>('IPPool', name, { cidr, ...extra });
const config = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): BGPConfiguration =>
  res<BGPConfiguration>('BGPConfiguration', name, spec, annotations ? { annotations } : {});
const peer = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): BGPPeer => res<BGPPeer>('BGPPeer', name, spec, annotations ? { annotations } : {});
const filter = (name: string, spec: Record<string, unknown>): BGPFilter => res<BGPFilter>('BGPFilter', name, spec);
const block = (cidr: string, owner: string | undefined, held: Record<number, string> = {}): StoredBlock => {
  const c: CIDR = parseCIDR(cidr);
  const size = Number(1n << BigInt((c.family === 4 ? 32 : 128) - c.prefix));
  const allocations: (number | null)[] = Array.from({ length: size }, () => null);
  const attributes: StoredBlock['attributes'][number][] = [];
  for (const [ord, holder] of Object.entries(held)) {
    allocations[Number(ord)] = attributes.length;
    attributes.push({ handleId: `h${ord}`, secondary: { node: holder } });
  }
  const unallocated = allocations.flatMap((a, i) => (a === null ? [i] : []));
  return { cidr: c, affinity: owner ? `host:${owner}` : null, ...(owner ? { node: owner } : {}), allocations, unallocated, attributes, sequenceNumber: 0, sequenceNumberForAllocation: {}, deleted: false, strictAffinity: false };
};

const pools = [pool('v4', '10.244.0.0/16'), pool('v6', 'fd00:10:244::/48')];
const names = ['a', 'b', 'c', 'd'];
const nodes = (extra: Record<string, Record<string, unknown>> = {}, labels: Record<string, Record<string, string>> = {}) =>
  names.map((n, i) => node(n, i, extra[n] ?? {}, labels[n] ?? {}));

function render(nodename: string, s: Partial<ClusterBgpState>): NodeBgpConfig {
  return renderNodeBgp({ nodename, configurations: [], peers: [], filters: [], nodes: nodes(), pools, blocks: [], affinities: [], ...s });
}
const table = (c: NodeBgpConfig) => c.peers.map((p) => `${p.name} ${p.peerType} as${p.asNumber}${p.passive ? ' passive' : ''}${p.routeReflectorClient ? ' rr-client' : ''}`);

describe('cluster BGP: the local speaker', () => {
  it('takes AS 64512, the node IPv4 as router ID and port 179 when nothing is configured', () => {
    const c = render('a', {});
    assert.equal(c.enabled, true);
    assert.equal(c.asNumber, 64512);
    assert.equal(c.routerID, '198.18.0.10');
    assert.equal(c.listenPort, 179);
    assert.equal(c.routeReflectorClusterID, undefined);
  });
  it('prefers the Node\'s asNumber, then the default BGPConfiguration, and node.<name> for the listen port and bindMode', () => {
    const cfgs = [config('default', { asNumber: 65001, listenPort: 1790 }), config('node.a', { listenPort: 1791, bindMode: 'NodeIP' })];
    assert.equal(render('b', { configurations: cfgs }).asNumber, 65001);
    assert.equal(render('b', { configurations: cfgs }).listenPort, 1790);
    const a = render('a', { configurations: cfgs, nodes: nodes({ a: { asNumber: 65100 } }) });
    assert.equal(a.asNumber, 65100);
    assert.equal(a.listenPort, 1791);
    assert.equal(a.listenAddress, '198.18.0.10');
    // b's mesh peering to a uses a's own listen port.
    assert.ok(render('b', { configurations: cfgs }).peers.some((p) => p.name === 'Mesh_198_18_0_10_port_1791' && p.port === 1791));
  });
  it('runs no peerings for a node without a BGP address, and says why', () => {
    const c = render('e', {});
    assert.equal(c.enabled, false);
    assert.match(c.problems[0]!, /no Node resource named e/);
    const bare = renderNodeBgp({ nodename: 'x', configurations: [], peers: [], filters: [], nodes: [res<Node>('Node', 'x', {})], pools, blocks: [], affinities: [] });
    assert.equal(bare.enabled, false);
    assert.match(bare.problems[0]!, /no spec\.bgp/);
  });
});

describe('cluster BGP: full mesh', () => {
  it('peers with every other node over IPv4 and IPv6; the node with the greater address connects', () => {
    const c = render('b', {});
    assert.deepEqual(table(c), [
      'Mesh_198_18_0_10 node-to-node mesh as64512',
      'Mesh_198_18_0_12 node-to-node mesh as64512 passive',
      'Mesh_198_18_0_13 node-to-node mesh as64512 passive',
      'Mesh_2001_2__a node-to-node mesh as64512',
      'Mesh_2001_2__c node-to-node mesh as64512 passive',
      'Mesh_2001_2__d node-to-node mesh as64512 passive',
    ]);
    // In each pair exactly one side is passive.
    for (const x of names) {
      for (const y of names) {
        if (x >= y) continue;
        const xy = render(x, {}).peers.find((p) => p.node === y && p.address.family === 4)!;
        const yx = render(y, {}).peers.find((p) => p.node === x && p.address.family === 4)!;
        assert.notEqual(xy.passive, yx.passive, `${x}↔${y}`);
      }
    }
    assert.equal(formatIP(c.peers[0]!.localAddress!), '198.18.0.11');
  });
  it('compares addresses as text, as confd\'s template does (198.18.0.9 > 198.18.0.10)', () => {
    const ns = [res<Node>('Node', 'p', { bgp: { ipv4Address: '198.18.0.9/24' } }), res<Node>('Node', 'q', { bgp: { ipv4Address: '198.18.0.10/24' } })];
    const p = render('p', { nodes: ns }).peers[0]!;
    const q = render('q', { nodes: ns }).peers[0]!;
    assert.equal(p.passive, false);
    assert.equal(q.passive, true);
  });
  it('turns off with nodeToNodeMeshEnabled false; uses each node\'s own AS; carries the mesh restart time and BFD annotation', () => {
    assert.deepEqual(render('a', { configurations: [config('default', { nodeToNodeMeshEnabled: false })] }).peers, []);
    const c = render('a', { configurations: [config('default', { nodeMeshMaxRestartTime: '5m' }, { [BFD_ANNOTATION]: 'true' })], nodes: nodes({ c: { asNumber: 65003 } }) });
    const toC = c.peers.find((p) => p.node === 'c')!;
    assert.equal(toC.asNumber, 65003);
    assert.ok(c.peers.every((p) => p.maxRestartTime === 300 && p.bfd));
    assert.ok(render('a', {}).peers.every((p) => p.maxRestartTime === 120 && !p.bfd));
  });
});

describe('cluster BGP: route reflectors (Calico docs: mesh off, routeReflectorClusterID, peerSelector)', () => {
  // The documented setup: label the reflectors, give them a cluster ID, one BGPPeer making every
  // node peer with every reflector, the mesh disabled.
  const rrNodes = () => nodes({ a: { routeReflectorClusterID: '244.0.0.1' }, b: { routeReflectorClusterID: '244.0.0.1' } }, { a: { 'route-reflector': 'true' }, b: { 'route-reflector': 'true' } });
  const s = () => ({
    nodes: rrNodes(),
    configurations: [config('default', { nodeToNodeMeshEnabled: false })],
    peers: [peer('peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" })],
  });
  it('a client peers with both reflectors only', () => {
    const c = render('c', s());
    assert.deepEqual(table(c), [
      'Global_198_18_0_10 node specific as64512',
      'Global_198_18_0_11 node specific as64512',
      'Global_2001_2__a node specific as64512',
      'Global_2001_2__b node specific as64512',
    ].map((x) => x.replace('Global_', 'Node_')));
    assert.ok(c.peers.every((p) => !p.routeReflectorClient && !p.passive));
  });
  it('a reflector peers with every client (reverse peering) as rr clients, and with the other reflector as a non-client', () => {
    const a = render('a', s());
    assert.equal(a.routeReflectorClusterID, '244.0.0.1');
    const v4 = a.peers.filter((p) => p.address.family === 4).map((p) => `${p.node} ${p.routeReflectorClient ? 'client' : 'non-client'}`);
    assert.deepEqual(v4, ['b non-client', 'c client', 'd client']);
  });
  it('reversePeering Manual leaves the reflectors without the reverse sessions', () => {
    const st = s();
    st.peers = [peer('p', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'", reversePeering: 'Manual' })];
    // a still peers with b (b is selected), but no longer with c and d.
    assert.deepEqual(render('a', st).peers.filter((p) => p.address.family === 4).map((p) => p.node), ['b']);
  });
  it('a reflector stays out of the mesh, and meshing nodes skip reflectors', () => {
    const st = { nodes: rrNodes() };
    assert.deepEqual(render('a', st).peers, []);
    assert.deepEqual(render('c', st).peers.filter((p) => p.address.family === 4).map((p) => p.node), ['d']);
  });
});

describe('cluster BGP: external peers (ToR per rack)', () => {
  it('a global peerIP peers every node with the ToR over eBGP, with the options carried over', () => {
    const st = {
      configurations: [config('default', { nodeToNodeMeshEnabled: false })],
      peers: [peer('tor', { peerIP: '198.18.0.4', asNumber: 65010, keepOriginalNextHop: true, maxRestartTime: '90s', keepaliveTime: '10s', filters: ['no-default'] }, { [BFD_ANNOTATION]: 'true' })],
      filters: [filter('no-default', { exportV4: [{ action: 'Reject', cidr: '0.0.0.0/0', matchOperator: 'Equal' }], importV4: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'In' }, { action: 'Reject', source: 'RemotePeers' }] })],
    };
    for (const n of names) {
      const c = render(n, st);
      assert.equal(c.peers.length, 1);
      const p = c.peers[0]!;
      assert.equal(p.name, 'Global_198_18_0_4');
      assert.equal(p.peerType, 'global');
      assert.equal(p.asNumber, 65010);
      assert.equal(p.nextHopMode, 'Keep', 'keepOriginalNextHop means Keep on eBGP');
      assert.equal(p.maxRestartTime, 90);
      assert.equal(p.keepaliveTime, 10);
      assert.equal(p.bfd, true);
      assert.equal(p.exportFilter.v4.length, 1);
      assert.equal(p.importFilter.v4.length, 1, 'the rule using source is reported, not applied');
      assert.match(c.problems.join('\n'), /importV4\[1\]: source is not supported/);
      // The speaker's configuration gives that peer a BFD session with the defaults; without the annotation, none.
      assert.deepEqual(clusterSpeakerConfig(c).peers[0]!.bfd, DEFAULT_BFD);
      assert.equal(clusterSpeakerConfig(render(n, { ...st, peers: [peer('tor', { peerIP: '198.18.0.4', asNumber: 65010 })] })).peers[0]!.bfd, undefined);
    }
  });
  it('per-rack ToRs with node-specific peers and per-node AS (the AS-per-rack design)', () => {
    const st = {
      nodes: nodes({ a: { asNumber: 65101 }, b: { asNumber: 65101 }, c: { asNumber: 65102 }, d: { asNumber: 65102 } }, { a: { rack: 'r1' }, b: { rack: 'r1' }, c: { rack: 'r2' }, d: { rack: 'r2' } }),
      configurations: [config('default', { nodeToNodeMeshEnabled: false })],
      peers: [peer('rack1-tor', { nodeSelector: "rack == 'r1'", peerIP: '198.18.0.5', asNumber: 65001 }), peer('rack2-tor', { nodeSelector: "rack == 'r2'", peerIP: '198.18.0.6', asNumber: 65002 })],
    };
    assert.deepEqual(table(render('a', st)), ['Node_198_18_0_5 node specific as65001']);
    assert.deepEqual(table(render('d', st)), ['Node_198_18_0_6 node specific as65002']);
    assert.equal(render('d', st).asNumber, 65102);
  });
  it('a node-specific peer duplicating a global one is skipped; nextHopMode and sourceAddress None are honoured', () => {
    const st = { peers: [peer('only-a', { node: 'a', peerIP: '198.18.0.4', asNumber: 65010, nextHopMode: 'Self' }), peer('all', { peerIP: '198.18.0.4', asNumber: 65010, sourceAddress: 'None' })] };
    const c = render('a', st);
    const tor = c.peers.filter((p) => formatIP(p.address) === '198.18.0.4');
    assert.equal(tor.length, 1);
    assert.equal(tor[0]!.peerType, 'global');
    assert.equal(tor[0]!.localAddress, undefined);
    assert.equal(tor[0]!.nextHopMode, 'Auto');
  });
  it('passes a password\'s secret and ttlSecurity on to the peer; a secretKeyRef without a name is refused', () => {
    const c = render('a', { peers: [
      peer('md5', { peerIP: '198.18.0.4', asNumber: 65010, password: { secretKeyRef: { name: 's', key: 'k' } } }),
      peer('gtsm', { peerIP: '198.18.0.5', asNumber: 65010, ttlSecurity: 2 }),
      peer('noname', { peerIP: '198.18.0.6', asNumber: 65010, password: { secretKeyRef: { key: 'k' } } }),
    ] });
    const by = (src: string) => c.peers.find((p) => p.source === src);
    assert.deepEqual(by('md5')!.password, { name: 's', key: 'k' });
    assert.equal(by('md5')!.ttlSecurity, undefined);
    assert.equal(by('gtsm')!.ttlSecurity, 2);
    assert.equal(by('gtsm')!.password, undefined);
    assert.deepEqual(c.refused.map((r) => r.source), ['noname']);
    assert.match(c.refused[0]!.reason, /BGPPeer noname .*secretKeyRef has no name/);
    assert.equal(c.peers.filter((p) => p.peerType === 'node-to-node mesh' && p.password === undefined).length, 6, 'the mesh is untouched');
  });
  it('the mesh takes its password from nodeMeshPassword', () => {
    const c = render('a', { configurations: [config('default', { nodeMeshPassword: { secretKeyRef: { name: 'mesh', key: 'pw' } } })] });
    const mesh = c.peers.filter((p) => p.peerType === 'node-to-node mesh');
    assert.ok(mesh.length > 0);
    for (const p of mesh) assert.deepEqual(p.password, { name: 'mesh', key: 'pw' });
  });
  it('a route reflector treats an external iBGP peer (no cluster ID) as its client', () => {
    const c = render('a', { nodes: nodes({ a: { routeReflectorClusterID: '244.0.0.1' } }), peers: [peer('ext', { node: 'a', peerIP: '198.18.0.4', asNumber: 64512 })] });
    assert.equal(c.peers.find((p) => p.source === 'ext')!.routeReflectorClient, true);
  });
});

describe('cluster BGP: what a node announces', () => {
  const originate = (c: NodeBgpConfig) => c.originate.map((o) => `${formatCIDR(o.prefix)} ${o.why}${o.communities.length ? ` ${o.communities.map((x) => `${x >>> 16}:${x & 0xffff}`).join(',')}` : ''}${o.largeCommunities.length ? ` ${o.largeCommunities.map((l) => `${l.global}:${l.local1}:${l.local2}`).join(',')}` : ''}`);
  it('its confirmed affine blocks (v4 and v6), the addresses it holds in other nodes\' blocks, nothing of disableBGPExport pools', () => {
    const st: Partial<ClusterBgpState> = {
      pools: [...pools, pool('quiet', '10.99.0.0/16', { disableBGPExport: true })],
      affinities: [
        { node: 'a', cidr: parseCIDR('10.244.0.0/26'), state: 'confirmed', deleted: false },
        { node: 'a', cidr: parseCIDR('10.244.9.0/26'), state: 'pending', deleted: false },
        { node: 'a', cidr: parseCIDR('10.99.0.0/26'), state: 'confirmed', deleted: false },
        { node: 'b', cidr: parseCIDR('10.244.0.64/26'), state: 'confirmed', deleted: false },
      ],
      blocks: [block('fd00:10:244::/122', 'a'), block('10.244.0.64/26', 'b', { 0: 'b', 5: 'a' }), block('10.99.0.64/26', 'b', { 3: 'a' }), block('10.244.3.7/32', 'a')],
    };
    assert.deepEqual(originate(render('a', st)), ['10.244.0.0/26 block', '10.244.0.69/32 borrowed', 'fd00:10:244::/122 block']);
    assert.deepEqual(originate(render('b', st)), ['10.244.0.64/26 block']);
  });
  it('service ranges from every node, except external/LB ranges on excluded nodes; prefixAdvertisements add communities', () => {
    const st: Partial<ClusterBgpState> = {
      nodes: nodes({}, { d: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } }),
      configurations: [config('default', {
        serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
        serviceExternalIPs: [{ cidr: '203.0.113.0/24' }],
        serviceLoadBalancerIPs: [{ cidr: '198.51.100.0/24' }],
        communities: [{ name: 'pods', value: '65001:100' }, { name: 'big', value: '65001:1:2' }],
        prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['pods', '65001:200', 'big'] }, { cidr: '10.96.0.0/12', communities: ['65001:300'] }],
      })],
      affinities: [{ node: 'a', cidr: parseCIDR('10.244.0.0/26'), state: 'confirmed', deleted: false }],
    };
    assert.deepEqual(originate(render('a', st)), ['10.96.0.0/12 service 65001:300', '10.244.0.0/26 block 65001:100,65001:200 65001:1:2', '198.51.100.0/24 service', '203.0.113.0/24 service']);
    assert.deepEqual(originate(render('d', st)), ['10.96.0.0/12 service 65001:300']);
  });
  it('is deterministic whatever order the resources arrive in', () => {
    const st = { nodes: nodes().reverse(), peers: [peer('z', { peerIP: '198.18.0.4', asNumber: 65010 }), peer('y', { peerIP: '198.18.0.5', asNumber: 65010 })] };
    const st2 = { nodes: nodes(), peers: [...st.peers].reverse() };
    assert.deepEqual(render('a', st), render('a', st2));
  });
});

describe('cluster BGP: logSeverityScreen and ignoredInterfaces', () => {
  it('logSeverityScreen: node.<name> over default, Info when neither sets it; mapped to the speaker\'s log level', () => {
    assert.equal(render('a', {}).logSeverityScreen, 'Info');
    const cfgs = [config('default', { logSeverityScreen: 'Debug' }), config('node.b', { logSeverityScreen: 'Warning' })];
    assert.equal(render('a', { configurations: cfgs }).logSeverityScreen, 'Debug');
    assert.equal(render('b', { configurations: cfgs }).logSeverityScreen, 'Warning');
    const levels = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal', 'debug', 'WARNING', '', undefined].map((l) => speakerLogLevel(l));
    assert.deepEqual(levels, ['debug', 'debug', 'info', 'warn', 'error', 'error', 'debug', 'warn', 'info', 'info']);
  });
  it('logSeverityScreen is no part of the speaker\'s configuration, so changing it restarts no session', () => {
    const at = (l: string) => clusterSpeakerConfig(render('a', { configurations: [config('default', { logSeverityScreen: l })] }));
    assert.deepEqual(at('Debug'), at('Error'));
  });
  it('ignoredInterfaces is named as having no effect (no device routes are read) and changes nothing else', () => {
    const plain = render('a', { configurations: [config('default', { asNumber: 65001 })] });
    const ignoring = render('a', { configurations: [config('default', { asNumber: 65001, ignoredInterfaces: ['eth9', 'ens*'] })] });
    assert.deepEqual({ ...ignoring, problems: [] }, { ...plain, problems: [] });
    assert.deepEqual(plain.problems, []);
    assert.equal(ignoring.problems.length, 1);
    assert.match(ignoring.problems[0]!, /^BGPConfiguration default spec\.ignoredInterfaces \(eth9, ens\*\) has no effect: Tabby's speaker reads no device or kernel routes/);
    const perNode = render('a', { configurations: [config('default', {}), config('node.a', { ignoredInterfaces: ['eth9'] })] });
    assert.match(perNode.problems[0]!, /^BGPConfiguration node\.a spec\.ignoredInterfaces \(eth9\)/);
  });
});
