// Integration: pods on different nodes routed by BGP (encapsulation None), real packets, one lab
// shared by the cases (3 nodes, a BIRD ToR), in order: the full mesh (every pod reaches every
// pod over TCP and UDP, IPv4 and IPv6; routes point straight at the nodes; the ToR holds every
// block); graceful restart (both daemons of a node SIGKILLed while a cross-node TCP stream runs:
// no byte lost, and the other node's route to it never leaves the kernel); route reflectors
// switched on live the way Calico's docs do it (sessions the change does not touch stay up);
// deleting a node withdraws its blocks on the nodes and the ToR. GoBGP and FRR ToRs get a small
// lab each. Needs root and a `make build`.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BgpLab as Lab, type Matrix, blockOf, checkedStream, escapeRegExp as esc, established, podYaml as pod, tabbyOk, until } from './testing.js';
const ok = (args: string[]) => tabbyOk(args, 300_000);

describe('BGP in the cluster: full mesh, graceful restart, route reflectors, a BIRD ToR, node deletion', { timeout: 900_000 }, () => {
  const lab = new Lab(`tbgp${process.pid % 10000}`);
  before(() => lab.up(3, ['--tor', 'bird'], pod('p1', 'node-1') + pod('p2', 'node-2') + pod('p3', 'node-3')));
  after(() => lab.down());

  it('full mesh: every pod reaches every pod (TCP, UDP, IPv4, IPv6) over routes straight to the nodes; the ToR holds every block', async () => {
    for (const n of ['node-1', 'node-2', 'node-3']) await until(`${n} sessions`, () => lab.bgpStatus(n), established);
    await lab.assertAllReach('full mesh');
    const routes4 = await lab.exec('node-1', 'ip', 'route', 'show', 'proto', '80');
    const routes6 = await lab.exec('node-1', 'ip', '-6', 'route', 'show', 'proto', '80');
    assert.match(routes4, new RegExp(`^${esc(blockOf(lab.ip('p2', 4)))} via 198\\.18\\.0\\.12 dev eth0`, 'm'), routes4);
    assert.match(routes4, new RegExp(`^${esc(blockOf(lab.ip('p3', 4)))} via 198\\.18\\.0\\.13 dev eth0`, 'm'), routes4);
    assert.match(routes6, new RegExp(`^${esc(blockOf(lab.ip('p2', 6)))} via 2001:2::12 dev eth0`, 'm'), routes6);
    assert.doesNotMatch(await lab.exec('node-1', 'ip', 'link'), /vxlan/, 'no overlay device');
    const s = await lab.bgpStatus('node-1');
    assert.deepEqual(Object.entries(s.peerTypes).sort(), [
      ['Global_198_18_0_4', 'global'], ['Global_2001_2__4', 'global'],
      ['Mesh_198_18_0_12', 'node-to-node mesh'], ['Mesh_198_18_0_13', 'node-to-node mesh'], ['Mesh_2001_2__12', 'node-to-node mesh'], ['Mesh_2001_2__13', 'node-to-node mesh'],
    ]);
    const tor = await until('the ToR holds every block', () => lab.exec('tor', 'birdc', 'show', 'route'), (t) => ['p1', 'p2', 'p3'].every((p) => t.includes(blockOf(lab.ip(p, 4))) && t.includes(blockOf(lab.ip(p, 6)))));
    assert.match(tor, new RegExp(`^${esc(blockOf(lab.ip('p3', 4)))}\\s+unicast .*\\[AS64512i\\]`, 'm'));
  });

  it('graceful restart: both daemons of node-2 SIGKILLed mid-stream; the stream loses nothing and node-1 never loses its route to node-2', async () => {
    const p1 = lab.state.pods.find((p) => p.name === 'p1')!;
    const p2 = lab.state.pods.find((p) => p.name === 'p2')!;
    const start = checkedStream(lab.workdir, 6 * 1024 * 1024, 20);
    const block2 = blockOf(p2.ips.find((a) => !a.includes(':'))!);
    const server = start(p2.netns, ['server']);
    let client: ReturnType<typeof start> | undefined;
    let watching = true;
    const seen: boolean[] = [];
    const watch = (async () => {
      while (watching) {
        const r = await lab.exec('node-1', 'ip', 'route', 'show', block2).catch(() => '');
        seen.push(r.includes('via 198.18.0.12'));
      }
    })();
    try {
      await until('stream server', async () => server.out(), (o) => o.includes('listening'));
      client = start(p1.netns, ['client', p2.ips.find((a) => !a.includes(':'))!]);
      await until('stream client', async () => client!.out(), (o) => o.includes('connected'));
      const before = await lab.children('node-2');
      for (const c of before) process.kill(c.pid, 'SIGKILL');
      const t0 = Date.now();
      await until('node-2 daemons back', () => lab.children('node-2'), (cs) => cs.length === 2 && cs.every((c) => c.ready && !before.some((b) => b.pid === c.pid)));
      await until('node-2 sessions back', () => lab.bgpStatus('node-2'), established);
      process.stdout.write(`# node-2 daemons and sessions back ${Date.now() - t0} ms after SIGKILL\n`);
      assert.equal(await client.exited, 0, `client: ${client.out()}`);
      await server.exited;
      const result = JSON.parse(server.out().split('\n').find((l) => l.startsWith('{'))!) as { n: number; bad: number };
      assert.deepEqual(result, { n: 6 * 1024 * 1024, bad: -1 }, 'every byte arrived, in order, and the stream ended cleanly');
    } finally {
      watching = false;
      await watch;
      server.proc.kill('SIGKILL');
      client?.proc.kill('SIGKILL');
    }
    process.stdout.write(`# node-1's route to node-2's block checked ${seen.length} times during the restart\n`);
    assert.ok(seen.length >= 5 && seen.every(Boolean), `node-1 kept its route to ${block2} throughout: ${seen.map((x) => (x ? '.' : 'X')).join('')}`);
    await lab.assertAllReach('after the restart');
  });

  it('route reflectors switched on live (Calico\'s docs: cluster ID, label, BGPPeer, mesh off): clients peer with the reflector only, ToR sessions stay up', async () => {
    // The previous test restarted node-2's daemons: wait until every session of it is back before
    // taking the ToR session's start time the change must not touch.
    const settled = await until('node-2 has every session established again', () => lab.bgpStatus('node-2'), (s) => established(s));
    const torBefore = settled.peers.find((p) => p.address === '198.18.0.4')!;
    await lab.ctl('node-1', 'patch', 'node', 'node-1', '-p', '{"spec":{"bgp":{"routeReflectorClusterID":"244.0.0.1"}}}');
    await lab.ctl('node-1', 'label', 'node', 'node-1', 'route-reflector=true');
    writeFileSync(join(lab.workdir, 'rr.yaml'), `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-route-reflectors}
spec: {nodeSelector: all(), peerSelector: route-reflector == 'true'}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
`);
    await ok(['lab', 'apply', '--name', lab.name, '-f', join(lab.workdir, 'rr.yaml')]);
    const client = await until('node-2 peers with the reflector only', () => lab.bgpStatus('node-2'), (s) => established(s) && s.peers.length === 4 && !s.peers.some((p) => p.name.startsWith('Mesh_')));
    assert.deepEqual(client.peers.map((p) => p.name).sort(), ['Global_198_18_0_4', 'Global_2001_2__4', 'Node_198_18_0_11', 'Node_2001_2__11']);
    const torAfter = client.peers.find((p) => p.address === '198.18.0.4')!;
    assert.equal(torAfter.since, torBefore.since, 'the ToR session was not touched by the change');
    const rr = await until('node-1 reflects for node-2 and node-3', () => lab.bgpStatus('node-1'), (s) => established(s) && s.peers.filter((p) => p.name.startsWith('Node_')).length === 4);
    assert.ok(rr.peers.every((p) => !p.name.startsWith('Mesh_')));
    const wide = await lab.ctl('node-1', 'get', 'bgppeers', '-o', 'wide');
    assert.match(wide, /^NAME +PEERIP +NODE +ASN +PEERSELECTOR +NODESELECTOR +NEXTHOPMODE +FILTERS +BFD/m);
    assert.match(wide, /^peer-with-route-reflectors +route-reflector == 'true' +all\(\)/m);
    assert.match(wide, /^tor +198\.18\.0\.4 +65010/m);
    await lab.assertAllReach('route reflector');
    // node-2 learns node-3's block through the reflector, next hop still node-3.
    assert.match(await lab.exec('node-2', 'ip', 'route', 'show', 'proto', '80'), new RegExp(`^${esc(blockOf(lab.ip('p3', 4)))} via 198\\.18\\.0\\.13 dev eth0`, 'm'));
  });

  it('service ranges and prefixAdvertisements communities reach the ToR live, without restarting its sessions', async () => {
    const before = (await lab.bgpStatus('node-1')).peers.find((p) => p.address === '198.18.0.4')!;
    writeFileSync(join(lab.workdir, 'adv.yaml'), `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  nodeToNodeMeshEnabled: false
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
  communities: [{name: pods, value: "65001:100"}]
  prefixAdvertisements: [{cidr: 10.244.0.0/16, communities: [pods, "65001:1:2"]}]
`);
    await ok(['lab', 'apply', '--name', lab.name, '-f', join(lab.workdir, 'adv.yaml')]);
    const b1 = blockOf(lab.ip('p1', 4));
    await until('the ToR learns the service range', () => lab.exec('tor', 'birdc', 'show', 'route', '10.96.0.0/12'), (t) => t.includes('10.96.0.0/12'));
    const all = await until('the communities on node-1\'s block', () => lab.exec('tor', 'birdc', 'show', 'route', b1, 'all'), (t) => t.includes('(65001,100)'));
    assert.match(all, /BGP\.community: \(65001,100\)/);
    assert.match(all, /BGP\.large_community: \(65001, 1, 2\)/);
    const after = (await lab.bgpStatus('node-1')).peers.find((p) => p.address === '198.18.0.4')!;
    assert.equal(after.since, before.since, 'the ToR session stayed up');
  });

  it('deleting a node withdraws its blocks on every node and on the ToR', async () => {
    const b3 = blockOf(lab.ip('p3', 4));
    const b3v6 = blockOf(lab.ip('p3', 6));
    await lab.ctl('node-1', 'delete', 'node', 'node-3');
    await until('node-3\'s block gone from node-1 and node-2', async () => (await lab.exec('node-1', 'ip', 'route')) + (await lab.exec('node-2', 'ip', 'route')) + (await lab.exec('node-2', 'ip', '-6', 'route')), (r) => !r.includes(b3) && !r.includes(b3v6));
    const tor = await until('node-3\'s block gone from the ToR', () => lab.exec('tor', 'birdc', 'show', 'route'), (t) => !t.includes(b3) && !t.includes(b3v6));
    assert.ok(tor.includes(blockOf(lab.ip('p1', 4))) && tor.includes(blockOf(lab.ip('p2', 4))), 'the other blocks stay');
    const m = JSON.parse(await ok(['lab', 'probe', '--name', lab.name, '-o', 'json'])) as Matrix;
    assert.equal(m.matrix[0]![1], true, 'p1 still reaches p2');
  });
});

for (const [flavour, show] of [['gobgp', ['gobgp', 'global', 'rib']], ['frr', ['vtysh', '-c', 'show bgp ipv4 unicast']]] as const) {
  describe(`BGP in the cluster: a ${flavour} ToR`, { timeout: 600_000 }, () => {
    const lab = new Lab(`tb${flavour.slice(0, 2)}${process.pid % 10000}`);
    before(() => lab.up(2, ['--tor', flavour], pod('p1', 'node-1') + pod('p2', 'node-2')));
    after(() => lab.down());
    it(`every pod reaches every pod, and \`tabby lab exec tor -- ${show.join(' ')}\` shows every node's block`, async () => {
      await lab.assertAllReach(`${flavour} ToR`);
      const rib = await until(`the ${flavour} ToR holds every block`, () => lab.exec('tor', ...show), (t) => ['p1', 'p2'].every((p) => t.includes(blockOf(lab.ip(p, 4)))));
      assert.match(rib, /198\.18\.0\.1[12]/, rib);
      for (const n of ['node-1', 'node-2']) {
        const s = await until(`${n} sessions`, () => lab.bgpStatus(n), established);
        assert.ok(s.peers.some((p) => p.address === '198.18.0.4') && s.peers.some((p) => p.address === '2001:2::4'));
      }
    });
  });
}
