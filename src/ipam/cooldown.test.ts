// IP cooldown end to end on the in-memory datastore: the allocator never hands out a released
// address before ipCooldownSeconds have passed, check and show report it, GC and the next release
// write return it to the free list once cooled, and with 0 nothing changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpamGarbageCollector } from '../controllers/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { parseIP } from '../ip/index.js';
import { BlockAllocator } from './allocator.js';
import { IpamError } from './api.js';
import { coolingOrdinals } from './core/block.js';
import { checkIpam } from './core/check.js';
import { blockKey, handleKey, IPAM_CONFIG_KEY, encodeIpamConfig } from '../model/index.js';
import { addressInfo, utilisation } from './core/show.js';
import { IpamStore } from './store.js';
import { putNode, putPool, putWorkloadEndpoint, wepKey } from '../testing/resources.js';

const BLOCK = '10.9.0.0/29'; // one block of 8 addresses: a full block leaves nowhere else to go

async function setup(cooldown: number) {
  const ds = new MemoryDatastore();
  await putPool(ds, 'small', { cidr: BLOCK, blockSize: 29 });
  await putNode(ds, 'node-a');
  await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0, ipCooldownSeconds: cooldown }));
  const ipam = new BlockAllocator(ds);
  const pod = async (name: string) => {
    const a = (await ipam.autoAssign({ handleId: `k8s-pod-network.${name}`, node: 'node-a', num4: 1, num6: 0, attrs: { pod: name, namespace: 'default', node: 'node-a' } })).ipv4[0]!;
    await putWorkloadEndpoint(ds, 'default', 'node-a', name, [a.ip]);
    return a;
  };
  const fill = async () => {
    const got = [];
    for (let i = 0; i < 8; i++) got.push(await pod(`p${i}`));
    return got;
  };
  return { ds, ipam, pod, fill, store: new IpamStore(ds) };
}

describe('IP cooldown', () => {
  it('never hands out a released address while it cools; GC returns it once cooled', async () => {
    const c = await setup(60);
    const got = await c.fill();
    const victim = got[3]!;
    await c.ds.delete(wepKey('default', 'node-a', 'p3'));
    assert.deepEqual(await c.ipam.releaseIPs([{ ip: victim.ip, sequenceNumber: victim.sequenceNumber }]), [victim.ip]);
    // The handle no longer holds it, and its record went with its last address.
    assert.deepEqual(await c.ipam.addressesByHandle('k8s-pod-network.p3'), []);
    assert.equal(await c.ds.get(handleKey('k8s-pod-network.p3')), undefined);
    // The block is full of 7 live and 1 cooling address: nothing to hand out.
    await assert.rejects(c.pod('late'), (e: unknown) => e instanceof IpamError && /no IPv4 addresses available/.test(e.message));
    // A second release of the cooling address frees nothing.
    assert.deepEqual(await c.ipam.releaseIPs([{ ip: victim.ip }]), []);

    // check and show see it as cooling, not as an allocation or a leak.
    const snap = await c.store.snapshot();
    const report = checkIpam(snap);
    assert.equal(report.summary.allocated, 7);
    assert.equal(report.summary.coolingDown, 1);
    assert.equal(report.problems.length, 0, JSON.stringify(report.problems));
    const entry = report.allocations[victim.ip]![0]!;
    assert.equal(entry.coolingDown, true);
    assert.equal(entry.inUse, false);
    assert.equal(entry.handle, 'k8s-pod-network.p3');
    const info = addressInfo(snap, parseIP(victim.ip));
    assert.equal(info.assigned, false);
    assert.ok(info.coolingDown);
    assert.equal(Date.parse(info.coolingDown.reusableAt) - Date.parse(info.coolingDown.releasedAt), 60_000);
    // (tabbyctl's text for both: ctl/ipam-text.test.ts)
    assert.deepEqual(utilisation(snap).map((r) => [r.inUse, r.coolingDown]), [[8n, 1n]]);

    // GC before the cooldown is over leaves it; after, returns it; then it is handed out again.
    const releasedAt = Date.parse(info.coolingDown.releasedAt);
    assert.equal((await new IpamGarbageCollector(c.ds, { now: () => releasedAt + 59_000 }).runOnce()).cooledAddresses, 0);
    assert.equal((await new IpamGarbageCollector(c.ds, { now: () => releasedAt + 60_000 }).runOnce()).cooledAddresses, 1);
    // A new allocator, as each CNI invocation is (a long-lived one's cached copy still shows the block full).
    c.ipam.invalidate();
    assert.equal((await c.pod('late')).ip, victim.ip);
    const after = checkIpam(await c.store.snapshot());
    assert.deepEqual([after.problems.length, after.summary.coolingDown, after.summary.allocated], [0, 0, 8]);
  });

  it('the allocator itself hands out an address once it has cooled, without waiting for GC or a release', async () => {
    const c = await setup(60);
    let clock = Date.now();
    const ipam = new BlockAllocator(c.ds, { now: () => new Date(clock), contextTtlMs: 60_000 });
    const pod = async (name: string) =>
      (await ipam.autoAssign({ handleId: `k8s-pod-network.${name}`, node: 'node-a', num4: 1, num6: 0, attrs: { pod: name, namespace: 'default', node: 'node-a' } })).ipv4[0]!;
    const got = [];
    for (let i = 0; i < 8; i++) got.push(await pod(`q${i}`));
    assert.deepEqual(await ipam.releaseIPs([{ ip: got[2]!.ip, sequenceNumber: got[2]!.sequenceNumber }]), [got[2]!.ip]);
    clock += 59_000;
    await assert.rejects(pod('early'), (e: unknown) => e instanceof IpamError && /no IPv4 addresses available/.test(e.message));
    await assert.rejects(
      ipam.assignIP({ ip: got[2]!.ip, handleId: 'k8s-pod-network.fixed', node: 'node-a', attrs: {} }),
      (e: unknown) => e instanceof IpamError && e.code === 'AddressInUse' && /is cooling down until .* \(ipCooldownSeconds 60\)/.test(e.message),
    );
    clock += 2_000; // cooled (61 s), and the same long-lived allocator sees it
    const again = await pod('cooled');
    assert.equal(again.ip, got[2]!.ip);
    const b = (await c.store.getBlock(parseCidr(BLOCK)))!.value;
    assert.deepEqual([coolingOrdinals(b).length, b.unallocated.length], [0, 0]);
    const report = checkIpam(await c.store.snapshot());
    assert.deepEqual([report.summary.allocated, report.summary.coolingDown], [8, 0]);
    assert.deepEqual(report.problems.filter((p) => p.kind === 'DuplicateAddress'), []);
  });

  it('with cooldown 0 reuses a released address at once (FIFO), as without the feature', async () => {
    const c = await setup(0);
    const got = await c.fill();
    await c.ipam.releaseByHandle('k8s-pod-network.p5');
    assert.equal((await c.pod('next')).ip, got[5]!.ip);
    const vb = await c.store.getBlock(parseCidr(BLOCK));
    assert.deepEqual(coolingOrdinals(vb!.value), []);
    assert.equal(JSON.stringify((await c.ds.get(blockKey(parseCidr(BLOCK))))!.value).includes('releasedAt'), false);
  });

  it('a later release in the block returns cooled addresses to the FIFO tail (release path, own clock)', async () => {
    const c = await setup(60);
    const got = await c.fill();
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const store = new IpamStore(c.ds);
    const releaser = new BlockAllocator(c.ds, { now: () => new Date(clock) });
    await releaser.releaseIPs([{ ip: got[1]!.ip }]);
    clock += 30_000;
    await releaser.releaseByHandle('k8s-pod-network.p2');
    let b = (await store.getBlock(parseCidr(BLOCK)))!.value;
    assert.deepEqual(coolingOrdinals(b).map((x) => x.ordinal), [1, 2]);
    assert.deepEqual(b.unallocated, []);
    clock += 31_000; // p1 cooled (61 s), p2 not (31 s)
    await releaser.releaseIPs([{ ip: got[6]!.ip }]);
    b = (await store.getBlock(parseCidr(BLOCK)))!.value;
    assert.deepEqual(b.unallocated, [1], 'the cooled address is back, the others still cool');
    assert.deepEqual(coolingOrdinals(b).map((x) => x.ordinal), [2, 6]);
    // The allocator hands out exactly that one, then runs dry.
    c.ipam.invalidate();
    assert.equal((await c.pod('again')).ip, got[1]!.ip);
    await assert.rejects(c.pod('none'), IpamError);
  });
});

function parseCidr(text: string) {
  const [ip, prefix] = text.split('/');
  const a = parseIP(ip!);
  return { family: a.family, base: a.value, prefix: Number(prefix) };
}
