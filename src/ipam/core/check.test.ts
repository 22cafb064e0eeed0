import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../../datastore/index.js';
import { parseIP } from '../../ip/index.js';
import { BlockAllocator } from '../allocator.js';
import { IpamStore } from '../store.js';
import { putNode, putPool, putWorkloadEndpoint } from '../../testing/resources.js';
import { checkIpam } from './check.js';
import { addressInfo, utilisation } from './show.js';

async function world() {
  const ds = new MemoryDatastore();
  await putPool(ds, 'pool-a', { cidr: '10.244.0.0/24', blockSize: 26 });
  await putNode(ds, 'node-a');
  const ipam = new BlockAllocator(ds);
  const store = new IpamStore(ds);
  return { ds, ipam, store };
}

describe('ipam check', () => {
  it('accounts for every allocation and reports nothing on a consistent datastore', async () => {
    const { ds, ipam, store } = await world();
    const a = await ipam.autoAssign({ handleId: 'k8s-pod-network.1', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'web', namespace: 'default', node: 'node-a' } });
    await putWorkloadEndpoint(ds, 'default', 'node-a', 'web', [a.ipv4[0]!.ip]);
    await ipam.assignTunnelAddress('node-a', 4, 'wireguard');
    const r = checkIpam(await store.snapshot());
    assert.deepEqual(r.summary, { pools: 1, blocks: 1, handles: 2, allocated: 2, inUseWorkload: 1, inUseTunnel: 1, leaked: 0, unowned: 0, coolingDown: 0, problems: 0 });
    assert.deepEqual(r.allocations[a.ipv4[0]!.ip]?.[0]?.owners, ['Workload(default/node--a-k8s-web-eth0)']);
    assert.equal(r.problems.length, 0);
  });

  it('reports leaks, unowned and duplicate addresses, endpoints IPAM does not know, overlapping pools and missing nodes', async () => {
    const { ds, ipam, store } = await world();
    await putPool(ds, 'pool-b', { cidr: '10.244.0.128/25', blockSize: 26 });
    const leaked = (await ipam.autoAssign({ handleId: 'k8s-pod-network.gone', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'gone', namespace: 'default', node: 'node-a' } })).ipv4[0]!.ip;
    // A fixed address for an unregistered node, in a /26 that node-a did not claim.
    const other = ['10.244.0.10', '10.244.0.200'].find((ip) => (parseIP(ip).value & ~63n) !== (parseIP(leaked).value & ~63n))!;
    await ipam.assignIP({ ip: other, handleId: 'manual', node: 'node-x', attrs: { note: 'by hand' } });
    const unallocated = ['10.244.0.70', '10.244.0.250'].find((ip) => (parseIP(ip).value & ~63n) !== (parseIP(leaked).value & ~63n) && (parseIP(ip).value & ~63n) !== (parseIP(other).value & ~63n)) ?? '10.244.0.71';
    await putWorkloadEndpoint(ds, 'default', 'node-a', 'p1', [unallocated]);
    await putWorkloadEndpoint(ds, 'other', 'node-a', 'p2', [unallocated]);
    const r = checkIpam(await store.snapshot());
    const kinds = r.problems.map((p) => p.kind).sort();
    assert.deepEqual(kinds, ['AffinityToMissingNode', 'DuplicateAddress', 'InUseNotAllocated', 'InUseNotAllocated', 'LeakedAddress', 'OverlappingPools', 'UnownedAddress']);
    assert.equal(r.summary.allocated, r.summary.inUseWorkload + r.summary.inUseTunnel + r.summary.leaked + r.summary.unowned);
    // calicoctl's leakedHandles are handle records no allocation refers to; this handle still has its (leaked) address.
    assert.deepEqual(r.leakedHandles, []);
    assert.equal(r.allocations[leaked]?.[0]?.inUse, false);
    assert.equal(r.allocations[leaked]?.[0]?.handle, 'k8s-pod-network.gone');
    const leak = r.problems.find((p) => p.kind === 'LeakedAddress')!;
    assert.equal(leak.ip, leaked);
    assert.match(leak.message, /handle k8s-pod-network\.gone.*no WorkloadEndpoint lists it/);
    assert.match(r.problems.find((p) => p.kind === 'OverlappingPools')!.message, /^pool pool-a \(10\.244\.0\.0\/24\) overlaps pool pool-b/);
  });
});

describe('ipam show', () => {
  it('counts utilisation per pool and per block, and names an address’s owner', async () => {
    const { ds, ipam, store } = await world();
    await putPool(ds, 'v6', { cidr: 'fd00:10:244::/48' });
    const got = await ipam.autoAssign({ handleId: 'h1', node: 'node-a', num4: 5, num6: 1, attrs: { pod: 'web', namespace: 'default' } });
    const snap = await store.snapshot();
    const rows = utilisation(snap, true);
    assert.deepEqual(rows.map((r) => [r.grouping, r.total.toString(), r.inUse.toString()]), [
      ['IP Pool', '256', '5'],
      ['Block', '64', '5'],
      ['IP Pool', (1n << 80n).toString(), '1'],
      ['Block', '64', '1'],
    ]);
    // (tabbyctl's table and text: ctl/ipam-text.test.ts)
    const info = addressInfo(snap, parseIP(got.ipv4[0]!.ip));
    assert.equal(info.handle, 'h1');
    assert.deepEqual([info.assigned, info.block, info.attributes], [true, rows[1]!.cidr, { pod: 'web', namespace: 'default' }]);
    const free = addressInfo(snap, parseIP('10.244.0.250'));
    assert.deepEqual([free.assigned, free.pool, free.handle], [false, 'pool-a', undefined]);
  });
});
