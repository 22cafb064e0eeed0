// Group commit in the allocator (assign-batch.ts, release.ts, group-commit.ts): concurrent
// requests for one node are written in fewer transactions than requests, and every invariant of
// one-at-a-time allocation still holds inside a batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TxnOp, TxnResult } from '../datastore/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { enclosingCIDR, parseIP } from '../ip/index.js';
import { BlockAllocator } from './allocator.js';
import { type AssignedAddress, IpamError } from './api.js';
import { checkIpam } from './core/check.js';
import { ordinalOf } from './core/block.js';
import { blockKey, decodeBlock } from '../model/index.js';
import { IpamStore } from './store.js';
import { putNode, putPool } from '../testing/resources.js';

/** A memory datastore that counts transactions and can run a hook before one. */
class CountingDatastore extends MemoryDatastore {
  txns = 0;
  beforeTxn: ((ops: readonly TxnOp[]) => Promise<void>) | undefined;
  override async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    this.txns++;
    const hook = this.beforeTxn;
    if (hook) await hook(ops);
    return super.txn(ops);
  }
}

const attrs = (pod: string) => ({ pod, namespace: 'default', node: 'node-a' });
const blockOf = (text: string) => enclosingCIDR(parseIP(text.split('/')[0]!), Number(text.split('/')[1]));

async function setup(pools: Record<string, Record<string, string | number>> = { 'pool-a': { cidr: '10.244.0.0/24' } }) {
  const ds = new CountingDatastore();
  for (const [name, spec] of Object.entries(pools)) await putPool(ds, name, spec);
  await putNode(ds, 'node-a');
  const ipam = new BlockAllocator(ds);
  // The node's first block, so the requests below can all be served from it.
  await ipam.autoAssign({ handleId: 'first', node: 'node-a', num4: 1, num6: 0, attrs: attrs('first') });
  return { ds, ipam };
}

async function noProblems(ds: MemoryDatastore): Promise<ReturnType<typeof checkIpam>> {
  const report = checkIpam(await new IpamStore(ds).snapshot());
  // No pods exist in these tests, so every allocation counts as a leak; anything else is a fault.
  const faults = report.problems.filter((p) => p.kind !== 'LeakedAddress');
  assert.deepEqual(faults.map((p) => p.message), [], 'ipam check finds nothing wrong');
  return report;
}

describe('allocator group commit', () => {
  it('serves a node holding many full blocks from its usable one, and from a full one again once an address is freed there', async () => {
    const { ds } = await setup({ 'pool-a': { cidr: '10.244.0.0/24', blockSize: 28 } });
    // A long-lived agent's allocator: its affinity list stays cached, so its cached blocks are what finds them.
    const ipam = new BlockAllocator(ds, { contextTtlMs: 60_000 });
    // Fill three /28 blocks (the first holds 'first' already) and start a fourth.
    const got: AssignedAddress[] = [];
    for (let i = 0; i < 3 * 16; i++) got.push((await ipam.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) })).ipv4[0]!);
    const batched = () => ipam.batcher.batchedRequests;
    const before = batched();
    await ipam.autoAssign({ handleId: 'x1', node: 'node-a', num4: 1, num6: 0, attrs: attrs('x1') });
    assert.equal(batched(), before + 1, 'the open block serves it in a batch');
    // Fill the open block too, then free an address in the first one: the next request must find
    // it through the batch path, not claim a new block.
    const store = new IpamStore(ds);
    while ((await store.snapshot()).blocks.some((b) => b.value.unallocated.length > 0)) {
      await ipam.autoAssign({ handleId: `fill${batched()}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs('fill') });
    }
    await ipam.releaseIPs([{ ip: got[3]!.ip, handleId: 'h3' }]);
    const blocksBefore = (await store.blockListing(4)).keys.length;
    const mark = batched();
    const r = await ipam.autoAssign({ handleId: 'reuse', node: 'node-a', num4: 1, num6: 0, attrs: attrs('reuse') });
    assert.equal(r.ipv4[0]!.ip, got[3]!.ip, 'the freed address is used');
    assert.equal(batched(), mark + 1, 'by a batch');
    assert.equal((await store.blockListing(4)).keys.length, blocksBefore, 'no block claimed');
    await noProblems(ds);
  });

  it('writes concurrent assignments for one node in fewer transactions, each with its own sequence number and handle', async () => {
    const { ds, ipam } = await setup();
    ds.txns = 0;
    const n = 20;
    const res = await Promise.all(Array.from({ length: n }, (_, i) => ipam.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) })));
    const got = res.map((r) => r.ipv4[0]!);
    assert.equal(new Set(got.map((a) => a.ip)).size, n, 'no address twice');
    assert.ok(ds.txns < n / 2, `${n} requests took ${ds.txns} transactions`);
    assert.ok(ipam.batcher.batchedRequests >= n, 'all were written by batches');
    // Each request is its own step in the block: distinct sequence numbers, as stored.
    assert.equal(new Set(got.map((a) => a.sequenceNumber)).size, n);
    const kv = (await ds.get(blockKey(blockOf(got[0]!.blockCidr))))!;
    const block = decodeBlock(kv.value, kv.key);
    for (const [i, a] of got.entries()) {
      const ord = ordinalOf(block, parseIP(a.ip));
      assert.equal(block.sequenceNumberForAllocation[String(ord)], a.sequenceNumber, `${a.ip}: stored sequence number`);
      assert.equal(block.attributes[block.allocations[ord]!]?.handleId, `h${i}`, `${a.ip} recorded for its own handle`);
      assert.deepEqual(await ipam.addressesByHandle(`h${i}`), [a.ip]);
    }
    const report = await noProblems(ds);
    assert.equal(report.summary.allocated, n + 1);
  });

  it('a batch that loses a compare-and-swap is worked out again from fresh reads', async () => {
    const { ds, ipam } = await setup();
    const other = new BlockAllocator(ds); // a second process acting for the same node
    let raced = false;
    let outsider = '';
    ds.beforeTxn = async (ops) => {
      if (raced || ops.length < 3) return; // the first batch of two or more requests
      raced = true;
      ds.beforeTxn = undefined;
      outsider = (await other.autoAssign({ handleId: 'outsider', node: 'node-a', num4: 1, num6: 0, attrs: attrs('outsider') })).ipv4[0]!.ip;
    };
    const res = await Promise.all(Array.from({ length: 6 }, (_, i) => ipam.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) })));
    assert.ok(raced, 'a batch was raced');
    const ips = res.map((r) => r.ipv4[0]!.ip);
    assert.equal(new Set([...ips, outsider]).size, 7, `no address twice: ${ips.join(', ')} and the outsider's ${outsider}`);
    const report = await noProblems(ds);
    assert.equal(report.summary.allocated, 8);
  });

  it('a stale release inside a batch frees nothing; the others in the batch are released', async () => {
    const { ds, ipam } = await setup();
    const mk = (i: number) => ipam.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) }).then((r) => r.ipv4[0]!);
    const [a, b, c] = [await mk(1), await mk(2), await mk(3)];
    // a is released and its address handed out again, to another handle.
    assert.deepEqual(await ipam.releaseIPs([{ ip: a.ip, sequenceNumber: a.sequenceNumber, handleId: 'h1' }]), [a.ip]);
    const again = await ipam.assignIP({ ip: a.ip, handleId: 'h9', node: 'node-a', attrs: attrs('p9') });
    ds.txns = 0;
    const [stale, wrongHandle, rb, rc] = await Promise.all([
      ipam.releaseIPs([{ ip: a.ip, sequenceNumber: a.sequenceNumber, handleId: 'h1' }]),
      ipam.releaseIPs([{ ip: a.ip, handleId: 'h1' }]),
      ipam.releaseIPs([{ ip: b.ip, sequenceNumber: b.sequenceNumber, handleId: 'h2' }]),
      ipam.releaseByHandle('h3'),
    ]);
    assert.deepEqual(stale, [], 'wrong sequence number: not released');
    assert.deepEqual(wrongHandle, [], 'wrong handle: not released');
    assert.deepEqual(rb, [b.ip]);
    assert.deepEqual(rc, [c.ip]);
    assert.ok(ds.txns < 2, `four concurrent releases in one block took ${ds.txns} transactions`);
    assert.deepEqual(await ipam.addressesByHandle('h9'), [again.ip], 'the re-assigned address is still held by its new handle');
    assert.equal(again.ip, a.ip);
    const report = await noProblems(ds);
    assert.equal(report.summary.allocated, 2); // "first" and h9
  });

  it('all or nothing per request: a dual-stack request whose IPv6 half fails keeps no IPv4 address, while its batch mates succeed', async () => {
    const { ds, ipam } = await setup({ v4: { cidr: '10.244.0.0/24' }, v6: { cidr: 'fd00::/126', blockSize: 126 } });
    const res = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => ipam.autoAssign({ handleId: `d${i}`, node: 'node-a', num4: 1, num6: 1, attrs: attrs(`d${i}`) })),
    );
    const ok = res.filter((r) => r.status === 'fulfilled');
    const failed = res.flatMap((r, i) => (r.status === 'rejected' ? [{ i, err: r.reason as unknown }] : []));
    assert.equal(ok.length, 4, 'the four IPv6 addresses went to four requests');
    assert.equal(failed.length, 2);
    for (const { i, err } of failed) {
      assert.ok(err instanceof IpamError && err.code === 'PoolExhausted', String(err));
      assert.deepEqual(await ipam.addressesByHandle(`d${i}`), [], `d${i} holds nothing`);
    }
    for (const r of ok) assert.equal(r.value.ipv4.length + r.value.ipv6.length, 2);
    const report = await noProblems(ds);
    assert.equal(report.summary.allocated, 1 + 4 * 2);
  });

  it('a request too large for a batch, or that needs a new block, takes the one-at-a-time path beside the batch', async () => {
    const { ds, ipam } = await setup({ 'pool-a': { cidr: '10.244.0.0/24', blockSize: 28 } });
    const res = await Promise.all([
      ipam.autoAssign({ handleId: 'big', node: 'node-a', num4: 20, num6: 0, attrs: attrs('big') }),
      ...Array.from({ length: 16 }, (_, i) => ipam.autoAssign({ handleId: `s${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`s${i}`) })),
    ]);
    const ips = res.flatMap((r) => r.ipv4.map((a) => a.ip));
    assert.equal(ips.length, 36);
    assert.equal(new Set(ips).size, 36, 'no address twice');
    const report = await noProblems(ds);
    assert.equal(report.summary.allocated, 37);
  });
});
