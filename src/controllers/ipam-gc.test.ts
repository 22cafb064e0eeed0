import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Datastore, ListResult } from '../datastore/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { enclosingCIDR, formatCIDR, parseCIDR, parseIP } from '../ip/index.js';
import { BlockAllocator, checkIpam, IpamStore } from '../ipam/index.js';
import { affinityKey, blockKey, handleKey } from '../model/index.js';
import { putNode, putPool, putWorkloadEndpoint, wepKey } from '../testing/resources.js';
import { IpamGarbageCollector } from './ipam-gc.js';

const MIN = 60_000;

async function cluster(pools: Record<string, Record<string, unknown>> = { p: { cidr: '10.244.0.0/24', blockSize: 28 } }) {
  const ds = new MemoryDatastore();
  for (const [name, spec] of Object.entries(pools)) await putPool(ds, name, spec as never);
  for (const n of ['node-a', 'node-b']) await putNode(ds, n);
  const ipam = new BlockAllocator(ds);
  let clock = Date.parse('2024-05-01T00:00:00Z');
  const gc = (grace = 15 * MIN) => new IpamGarbageCollector(ds, { leakGracePeriodMs: grace, now: () => clock });
  const pod = async (node: string, name: string, withEndpoint = true, extra: Record<string, string> = {}) => {
    const r = await ipam.autoAssign({ handleId: `k8s-pod-network.${name}`, node, num4: 1, num6: 0, attrs: { pod: name, namespace: 'default', node, ...extra } });
    const ip = r.ipv4[0]!.ip;
    if (withEndpoint) await putWorkloadEndpoint(ds, 'default', node, name, [ip]);
    return ip;
  };
  return { ds, ipam, gc, pod, tick: (ms: number) => (clock += ms), store: new IpamStore(ds) };
}

describe('IPAM GC', () => {
  it('never frees an address a WorkloadEndpoint lists, even with no grace period', async () => {
    const c = await cluster();
    const ips = [await c.pod('node-a', 'a1'), await c.pod('node-a', 'a2'), await c.pod('node-b', 'b1')];
    const r = await c.gc(0).runOnce();
    assert.deepEqual(r.releasedAddresses, []);
    for (const [i, name] of ['a1', 'a2', 'b1'].entries()) assert.deepEqual(await c.ipam.addressesByHandle(`k8s-pod-network.${name}`), [ips[i]]);
    assert.equal(checkIpam(await c.store.snapshot()).problems.length, 0);
  });

  it('frees a leaked address only after the grace period, measured across passes', async () => {
    const c = await cluster();
    await c.pod('node-a', 'live');
    const leaked = await c.pod('node-a', 'gone', false);
    const gc = c.gc();
    const first = await gc.runOnce();
    assert.deepEqual(first.releasedAddresses, []);
    assert.equal(first.candidates, 1);
    c.tick(10 * MIN);
    assert.deepEqual((await gc.runOnce()).releasedAddresses, []);
    c.tick(6 * MIN);
    assert.deepEqual((await gc.runOnce()).releasedAddresses, [leaked]);
    assert.equal(await c.ds.get(handleKey('k8s-pod-network.gone')), undefined, 'handle deleted with its last address');
    const report = checkIpam(await c.store.snapshot());
    assert.equal(report.summary.leaked, 0);
    assert.equal(report.problems.length, 0);
  });

  it('trusts an allocation timestamp older than the grace period in a single pass', async () => {
    const c = await cluster();
    const old = new Date(Date.parse('2024-05-01T00:00:00Z') - 20 * MIN).toISOString();
    const young = new Date(Date.parse('2024-05-01T00:00:00Z') - 1 * MIN).toISOString();
    const leakedOld = await c.pod('node-a', 'old', false, { timestamp: old });
    await c.pod('node-a', 'young', false, { timestamp: young });
    const r = await c.gc().runOnce();
    assert.deepEqual(r.releasedAddresses, [leakedOld]);
    assert.equal(r.candidates, 1);
  });

  it('releases all of a handle or none of it', async () => {
    const c = await cluster();
    const r = await c.ipam.autoAssign({ handleId: 'multi', node: 'node-a', num4: 2, num6: 0, attrs: { pod: 'm', namespace: 'default', node: 'node-a' } });
    await putWorkloadEndpoint(c.ds, 'default', 'node-a', 'm', [r.ipv4[0]!.ip]);
    assert.deepEqual((await c.gc(0).runOnce()).releasedAddresses, []);
    assert.equal((await c.ipam.addressesByHandle('multi')).length, 2);
    await c.ds.delete(wepKey('default', 'node-a', 'm'));
    assert.deepEqual((await c.gc(0).runOnce()).releasedAddresses.sort(), r.ipv4.map((a) => a.ip).sort());
  });

  it('re-validates with sequence numbers: an address released and handed out again after the snapshot is kept', async () => {
    const ds0 = new MemoryDatastore();
    await putPool(ds0, 'one', { cidr: '10.9.9.9/32', blockSize: 32 });
    await putNode(ds0, 'node-a');
    const ipam = new BlockAllocator(ds0);
    await ipam.autoAssign({ handleId: 'old', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'old', namespace: 'default', node: 'node-a' } });
    // Between GC's snapshot and its release, the leaked address is freed and given to a new pod
    // whose endpoint is not written yet (a CNI ADD in flight): it still looks leaked.
    const racing = interceptFirstList(ds0, '/calico/resources/v3/projectcalico.org/workloadendpoints/', async () => {
      await ipam.releaseByHandle('old');
      await ipam.assignIP({ ip: '10.9.9.9', handleId: 'new', node: 'node-a', attrs: { pod: 'new', namespace: 'default', node: 'node-a' } });
    });
    const r = await new IpamGarbageCollector(racing, { leakGracePeriodMs: 0 }).runOnce();
    assert.deepEqual(r.releasedAddresses, []);
    assert.equal(r.skipped, 1);
    assert.deepEqual(await ipam.addressesByHandle('new'), ['10.9.9.9']);
  });

  it('releases tunnel addresses, affinities and blocks of a deleted node (non-empty blocks lose their owner)', async () => {
    const c = await cluster({ p: { cidr: '10.244.0.0/24', blockSize: 28, vxlanMode: 'Always' } });
    const tunnel = await c.ipam.assignTunnelAddress('node-b', 4, 'vxlan');
    const live = await c.pod('node-b', 'survivor');
    const block = enclosingCIDR(parseIP(live), 28);
    assert.deepEqual(enclosingCIDR(parseIP(tunnel.ip), 28), block, 'one block holds both');
    await c.ds.delete('/calico/resources/v3/projectcalico.org/nodes/node-b');
    const r = await c.gc().runOnce();
    assert.deepEqual(r.releasedAddresses, [tunnel.ip]);
    assert.deepEqual(r.releasedBlocks, [formatCIDR(block)]);
    assert.equal(await c.ds.get(affinityKey('node-b', block)), undefined);
    const kv = await c.ds.get(blockKey(block));
    assert.ok(kv, 'block with a live workload kept');
    assert.equal((kv.value as { affinity: unknown }).affinity, null);
    assert.deepEqual(await c.ipam.addressesByHandle('k8s-pod-network.survivor'), [live]);
    // The unowned block goes away with its last address.
    await c.ds.delete(wepKey('default', 'node-b', 'survivor'));
    assert.deepEqual(await c.ipam.releaseByHandle('k8s-pod-network.survivor'), [live]);
    assert.equal(await c.ds.get(blockKey(block)), undefined, 'empty unowned block deleted on release');
  });

  it('releases a node’s empty block after the grace period but never its last one', async () => {
    const c = await cluster({ p: { cidr: '10.244.0.0/24', blockSize: 30 } });
    const r = await c.ipam.autoAssign({ handleId: 'h', node: 'node-a', num4: 8, num6: 0, attrs: {} });
    assert.equal(new Set(r.ipv4.map((a) => formatCIDR(enclosingCIDR(parseIP(a.ip), 30)))).size, 2);
    await c.ipam.releaseByHandle('h');
    const gc = c.gc();
    assert.deepEqual((await gc.runOnce()).releasedBlocks, []);
    c.tick(16 * MIN);
    assert.equal((await gc.runOnce()).releasedBlocks.length, 1);
    c.tick(16 * MIN);
    assert.equal((await gc.runOnce()).releasedBlocks.length, 0, 'the last block stays');
    assert.equal((await c.store.listAffinities('node-a', 4)).length, 1);
  });

  it('repairs handle records and removes interrupted claims', async () => {
    const c = await cluster();
    const ip = await c.pod('node-a', 'p1');
    const block = formatCIDR(enclosingCIDR(parseIP(ip), 28));
    await c.ds.put(handleKey('k8s-pod-network.p1'), { handleID: 'k8s-pod-network.p1', block: { [block]: 5 }, deleted: false });
    await c.ds.put(handleKey('orphan'), { handleID: 'orphan', block: { '10.244.0.0/28': 1 }, deleted: false });
    const free = ['10.244.0.0/28', '10.244.0.240/28'].find((x) => x !== block)!;
    await c.ds.create(affinityKey('node-a', parseCIDR(free)), { state: 'pending', deleted: false });
    const before = checkIpam(await c.store.snapshot());
    assert.deepEqual(before.problems.map((p) => p.kind).sort(), ['HandleCountMismatch', 'OrphanedHandle', 'StaleAffinity']);
    const r = await c.gc(0).runOnce();
    assert.equal(r.handlesFixed, 2);
    assert.equal(r.affinitiesFixed, 1);
    const after = checkIpam(await c.store.snapshot());
    assert.deepEqual(after.problems, []);
  });
});

/** A datastore that runs `hook` once, just before the first list of `prefix` is answered. */
function interceptFirstList(ds: Datastore, prefix: string, hook: () => Promise<void>): Datastore {
  let fired = false;
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'list') {
        return async (p: string): Promise<ListResult> => {
          if (!fired && p === prefix) {
            fired = true;
            await hook();
          }
          return target.list(p);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
