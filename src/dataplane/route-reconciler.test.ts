// The route reconciler against a real kernel: a network namespace made by the test, real `ip`,
// `bridge` and `nft`. Checks what lands in the kernel, that a second reconciler on the same kernel
// (an agent restart) sends no change, that a resync repairs drift, that only protocol-80 routes
// are removed, and live changes (mode switch, node removal). Needs root.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { spawnCommand } from '../cni/index.js';
import { parseCIDR, parseIP } from '../ip/index.js';
import { nullLogger } from '../util/log.js';
import { type KV, block, deleted, node, pool } from './core/scenario.testkit.js';
import { type CommandRunner, KernelDriver } from './kernel.js';
import { RouteReconciler } from './route-reconciler.js';

const NS = `tbo-rr-${process.pid}`;
const sh = (cmd: string): string => execFileSync('ip', ['netns', 'exec', NS, 'sh', '-c', cmd], { encoding: 'utf8' });
const MAC = { a: '66:00:00:00:00:0a', b: '66:00:00:00:00:0b', c: '66:00:00:00:00:0c' };

function cluster(mode: string): KV[] {
  return [
    pool('v4', '10.244.0.0/16', mode, true),
    pool('v6', 'fd00:10:244::/48', mode, true),
    node('a', { ipv4: '198.18.0.11/24', ipv6: '2001:2::11/64', vtep4: ['10.244.0.0', MAC.a], vtep6: ['fd00:10:244::', MAC.a] }),
    node('b', { ipv4: '198.18.0.12/24', ipv6: '2001:2::12/64', vtep4: ['10.244.1.0', MAC.b], vtep6: ['fd00:10:244::40', MAC.b] }),
    node('c', { ipv4: '198.19.0.13/24', ipv6: '2001:2:0:1::13/64', vtep4: ['10.244.2.0', MAC.c], vtep6: ['fd00:10:244::80', MAC.c] }),
    block('10.244.0.0/26', 'a'),
    block('10.244.1.0/26', 'b', { 0: 'b', 9: 'c' }),
    block('10.244.2.0/26', 'c'),
    block('fd00:10:244::/122', 'a'),
    block('fd00:10:244::40/122', 'b'),
  ];
}

/** A runner that records the commands that change something (batches that add, replace or delete; nft -f) and counts kernel reads. */
function recording(): { run: CommandRunner; writes: string[][]; reads: () => number } {
  const writes: string[][] = [];
  let reads = 0;
  return {
    writes,
    reads: () => reads,
    run: (argv, input) => {
      // The kernel read's first command: one `ip -d -j -batch` of routes, neighbours and links.
      if (argv.includes('-d') && argv.includes('-j') && argv.includes('-batch')) reads++;
      const changes = /^(route|neigh|fdb|link|addr) (replace|add|del|set)/m.test(input ?? '') || (argv.includes('nft') && argv.includes('-f'));
      if (changes) writes.push([...argv, ...(input ?? '').split('\n').filter(Boolean)]);
      return spawnCommand(argv, input);
    },
  };
}

async function reconciler(run: CommandRunner, kvs: readonly KV[]): Promise<RouteReconciler> {
  const r = new RouteReconciler({ nodename: 'a', driver: new KernelDriver(run, NS), log: nullLogger, defaultRefreshMs: 0 });
  r.onUpdates(kvs);
  r.setInSync(true);
  await r.settled();
  return r;
}

describe('route reconciler on a real kernel', () => {
  before(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    sh('ip link add eth0 type veth peer name peer0 && ip addr add 198.18.0.11/24 dev eth0 && ip addr add 2001:2::11/64 dev eth0 nodad && ip link set eth0 up && ip link set peer0 up');
    // Someone else's routes: must never be touched.
    sh('ip route add 10.99.0.0/24 via 198.18.0.1 && ip route add 10.98.0.0/24 via 198.18.0.1 proto 81');
  });
  after(() => {
    execFileSync('ip', ['netns', 'delete', NS]);
  });

  it('programs devices, routes, neighbours, FDB entries and the NAT table', async () => {
    const r = await reconciler(spawnCommand, cluster('Always'));
    assert.equal(r.status().lastError, undefined);
    assert.equal(sh('ip route show proto 80'), [
      'blackhole 10.244.0.0/26 ',
      '10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink ',
      '10.244.1.9 via 10.244.2.0 dev vxlan.calico onlink ',
      '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink ',
      '',
    ].join('\n'));
    assert.match(sh('ip -6 route show proto 80'), /fd00:10:244::40\/122 via fd00:10:244::40 dev vxlan-v6.calico metric 1024 onlink/);
    assert.match(sh('ip neigh show dev vxlan.calico'), /10\.244\.1\.0 lladdr 66:00:00:00:00:0b PERMANENT/);
    assert.match(sh('bridge fdb show dev vxlan.calico'), /66:00:00:00:00:0c dst 198\.19\.0\.13 self permanent/);
    assert.match(sh('ip -d link show vxlan.calico'), /mtu 1450 .*\n.*66:00:00:00:00:0a[\s\S]*vxlan id 4096 local 198\.18\.0\.11 dev eth0 .*dstport 4789/);
    assert.match(sh('ip -d link show vxlan-v6.calico'), /mtu 1430/);
    assert.match(sh('nft list table inet tabby-nat'), /ip saddr @nat-pools4 ip daddr != @all-pools4 masquerade[\s\S]*ip6 saddr @nat-pools6 ip6 daddr != @all-pools6 masquerade/);
    r.stop();
  });

  it('a restarted reconciler on the same kernel changes nothing', async () => {
    const rec = recording();
    const r = await reconciler(rec.run, cluster('Always'));
    assert.deepEqual(rec.writes, []);
    assert.equal(r.status().resyncs, 1);
    r.stop();
  });

  it('a resync puts back a route, a neighbour and an FDB entry deleted by hand, and removes a stray protocol-80 route only', async () => {
    const r = await reconciler(spawnCommand, cluster('Always'));
    sh('ip route del 10.244.2.0/26 && ip neigh del 10.244.1.0 dev vxlan.calico && bridge fdb del 66:00:00:00:00:0c dev vxlan.calico dst 198.19.0.13 self && ip route add 10.97.0.0/24 via 198.18.0.1 proto 80');
    await r.resync();
    assert.equal(r.status().repaired, 4);
    assert.match(sh('ip route show proto 80'), /10\.244\.2\.0\/26 via 10\.244\.2\.0 dev vxlan\.calico onlink/);
    assert.doesNotMatch(sh('ip route show proto 80'), /10\.97\.0\.0/);
    assert.match(sh('ip neigh show dev vxlan.calico'), /10\.244\.1\.0 lladdr/);
    assert.match(sh('bridge fdb show dev vxlan.calico'), /66:00:00:00:00:0c dst 198\.19\.0\.13/);
    assert.match(sh('ip route show'), /10\.99\.0\.0\/24 via 198\.18\.0\.1/);
    assert.match(sh('ip route show proto 81'), /10\.98\.0\.0\/24/);
    r.stop();
  });

  it('between resyncs a pass diffs against its cache and reads no kernel table; a failed apply makes the next pass read the kernel', async () => {
    const rec = recording();
    const r = await reconciler(rec.run, cluster('Always'));
    assert.equal(rec.reads(), 1, 'the first pass reads the kernel');
    r.onUpdates([deleted(block('10.244.2.0/26', 'c'))]);
    await r.settled();
    assert.doesNotMatch(sh('ip route show proto 80'), /10\.244\.2\.0\/26/);
    assert.equal(rec.reads(), 1, 'an incremental pass trusts the cache');
    // The device goes behind the reconciler's back: the next change cannot apply (its lines
    // name the device), so the cache is no longer trusted.
    sh('ip link del vxlan.calico');
    r.onUpdates([block('10.244.2.0/26', 'c')]);
    await r.settled();
    assert.match(r.status().lastError ?? '', /failed/);
    assert.equal(rec.reads(), 1);
    r.onUpdates([block('10.244.3.0/26', 'c')]);
    await r.settled();
    assert.equal(rec.reads(), 2, 'the pass after a failed apply reads the kernel');
    assert.equal(r.status().lastError, undefined);
    const routes = sh('ip route show proto 80');
    assert.match(routes, /10\.244\.1\.0\/26 via 10\.244\.1\.0 dev vxlan\.calico onlink/, 'the device is back with what lived on it');
    assert.match(routes, /10\.244\.2\.0\/26 via 10\.244\.2\.0 dev vxlan\.calico onlink/);
    assert.match(routes, /10\.244\.3\.0\/26 via 10\.244\.2\.0 dev vxlan\.calico onlink/);
    assert.match(sh('bridge fdb show dev vxlan.calico'), /66:00:00:00:00:0b dst 198\.18\.0\.12/);
    r.onUpdates([deleted(block('10.244.3.0/26', 'c'))]);
    await r.settled();
    assert.equal(rec.reads(), 2, 'trusted again after a clean apply');
    r.stop();
  });

  it('deleting entries that were already deleted by hand does not fail the pass (idempotent deletes)', async () => {
    const rec = recording();
    const r = await reconciler(rec.run, cluster('Always'));
    sh('ip route del 10.244.2.0/26 && ip route del 10.244.1.9 && ip neigh del 10.244.2.0 dev vxlan.calico && bridge fdb del 66:00:00:00:00:0c dev vxlan.calico dst 198.19.0.13 self');
    // Node c leaves: its route, borrowed address, neighbour and FDB entry are to be removed, and
    // every one of them is already gone. The neighbour line comes before others in the batch.
    r.onUpdates([deleted(node('c', {})), deleted(block('10.244.2.0/26', 'c'))]);
    await r.settled();
    assert.equal(r.status().lastError, undefined);
    assert.equal(rec.reads(), 1, 'no failure, so no re-read');
    const removal = rec.writes.at(-1)!.join('\n');
    assert.match(removal, /neigh flush to 10\.244\.2\.0 dev vxlan\.calico nud permanent/);
    r.onUpdates([node('c', { ipv4: '198.19.0.13/24', ipv6: '2001:2:0:1::13/64', vtep4: ['10.244.2.0', MAC.c], vtep6: ['fd00:10:244::80', MAC.c] }), block('10.244.2.0/26', 'c')]);
    await r.settled();
    assert.equal(r.status().lastError, undefined);
    assert.match(sh('ip route show proto 80'), /10\.244\.1\.9 via 10\.244\.2\.0 dev vxlan\.calico onlink/);
    assert.match(sh('ip neigh show dev vxlan.calico'), /10\.244\.2\.0 lladdr 66:00:00:00:00:0c PERMANENT/);
    r.stop();
  });

  it('follows live changes: CrossSubnet, a node leaving, a block released', async () => {
    const r = await reconciler(spawnCommand, cluster('Always'));
    r.onUpdates([pool('v4', '10.244.0.0/16', 'CrossSubnet', true), pool('v6', 'fd00:10:244::/48', 'CrossSubnet', true)]);
    await r.settled();
    let routes = sh('ip route show proto 80');
    assert.match(routes, /10\.244\.1\.0\/26 via 198\.18\.0\.12 dev eth0/);
    assert.match(routes, /10\.244\.2\.0\/26 via 10\.244\.2\.0 dev vxlan\.calico onlink/);
    assert.match(sh('ip -6 route show proto 80'), /fd00:10:244::40\/122 via 2001:2::12 dev eth0/);
    r.onUpdates([pool('v4', '10.244.0.0/16', 'Always', true), pool('v6', 'fd00:10:244::/48', 'Always', true)]);
    await r.settled();
    assert.equal(r.status().lastError, undefined);
    assert.match(sh('ip -6 route show proto 80'), /fd00:10:244::40\/122 via fd00:10:244::40 dev vxlan-v6.calico/, 'back from direct to VXLAN, IPv6 too');
    r.onUpdates([deleted(node('c', {})), deleted(block('10.244.1.0/26', 'b'))]);
    await r.settled();
    routes = sh('ip route show proto 80');
    assert.doesNotMatch(routes, /10\.244\.2\.0|10\.244\.1\.0\/26/);
    assert.doesNotMatch(sh('bridge fdb show dev vxlan.calico'), /66:00:00:00:00:0c/);
    r.onUpdates([pool('v4', '10.244.0.0/16', 'Never', false), pool('v6', 'fd00:10:244::/48', 'Never', false)]);
    await r.settled();
    assert.equal(sh('ip link show type vxlan'), '');
    assert.equal(sh('ip route show proto 80'), 'blackhole 10.244.0.0/26 \n');
    assert.doesNotMatch(sh('nft list tables'), /tabby-nat/);
    r.stop();
  });

  it('learned (BGP) routes: installed straight at the node; after a restart held until the source has converged, then withdrawn', async () => {
    const never = cluster('Never');
    const learned = [{ dst: parseCIDR('10.244.1.0/26'), gateway: parseIP('198.18.0.12') }];
    const first = await reconciler(spawnCommand, never);
    first.setLearned(learned);
    await first.settled();
    assert.match(sh('ip route show proto 80'), /^10\.244\.1\.0\/26 via 198\.18\.0\.12 dev eth0/m);
    first.stop();
    // A restarted agent expecting BGP: nothing learned yet, the kernel's route stays.
    const rec = recording();
    const r = new RouteReconciler({ nodename: 'a', driver: new KernelDriver(rec.run, NS), log: nullLogger, defaultRefreshMs: 0 });
    r.expectLearned(60_000);
    r.onUpdates(never);
    r.setInSync(true);
    await r.settled();
    assert.deepEqual(rec.writes, [], 'the held route is neither removed nor re-added');
    r.setLearned([], false);
    await r.settled();
    assert.match(sh('ip route show proto 80'), /^10\.244\.1\.0\/26 via 198\.18\.0\.12/m, 'still held while the source restarts');
    r.setLearned([], true);
    await r.settled();
    assert.doesNotMatch(sh('ip route show proto 80'), /10\.244\.1\.0\/26/, 'withdrawn once the converged set lacks it');
    r.stop();
  });
});
