import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR, parseIP } from '../../ip/index.js';
import { assignFromBlock, assignableCount, collectCooled, coolingOrdinals, isActive, isCooling, assignOrdinal, blockProblems, isEmpty, newBlock, ordinalsOfHandle, releaseFromBlock, sequenceOf } from './block.js';
import { decodeBlock, encodeBlock } from '../../model/index.js';

const now = new Date('2024-05-01T00:00:00Z');
const b0 = newBlock(parseCIDR('10.0.0.0/29'), 'node-a', now);

describe('IPAM block', () => {
  it('starts with every ordinal free in address order and a sequence number below 2^53', () => {
    assert.deepEqual(b0.unallocated, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(b0.allocations.every((a) => a === null));
    assert.ok(Number.isSafeInteger(b0.sequenceNumber));
    assert.deepEqual(blockProblems(b0), []);
  });

  it('takes ordinals from the FIFO head, skipping reserved ones, and shares one attribute per handle', () => {
    const reserved = (a: { value: bigint }) => a.value === parseIP('10.0.0.0').value;
    const r = assignFromBlock(b0, 3, 'h1', { pod: 'p' }, reserved);
    assert.deepEqual(r.ordinals, [1, 2, 3]);
    assert.deepEqual(r.block.unallocated, [0, 4, 5, 6, 7]);
    assert.equal(r.block.attributes.length, 1);
    assert.deepEqual(r.block.allocations.slice(0, 4), [null, 0, 0, 0]);
    assert.equal(sequenceOf(r.block, 1), b0.sequenceNumber);
    assert.equal(r.block.sequenceNumber, b0.sequenceNumber + 1);
    assert.deepEqual(blockProblems(r.block), []);
    assert.equal(b0.allocations[1], null, 'input not mutated');
  });

  it('appends released ordinals to the tail and refuses stale or foreign releases', () => {
    const a = assignFromBlock(b0, 2, 'h1', {}).block;
    const rel = releaseFromBlock(a, [{ ordinal: 0, sequenceNumber: sequenceOf(a, 0) }, { ordinal: 1, sequenceNumber: 999 }, { ordinal: 5 }]);
    assert.deepEqual(rel.released, [{ ordinal: 0, handleId: 'h1' }]);
    assert.deepEqual(rel.skipped, [{ ordinal: 1, reason: 'BadSequenceNumber' }, { ordinal: 5, reason: 'NotAllocated' }]);
    assert.deepEqual(rel.block.unallocated, [2, 3, 4, 5, 6, 7, 0]);
    const other = releaseFromBlock(rel.block, [{ ordinal: 1, handleId: 'h2' }]);
    assert.deepEqual(other.skipped, [{ ordinal: 1, reason: 'HandleMismatch' }]);
    const all = releaseFromBlock(rel.block, [{ ordinal: 1, handleId: 'h1' }]);
    assert.ok(isEmpty(all.block));
    assert.deepEqual(all.block.attributes, [], 'unused attribute records dropped');
    assert.deepEqual(blockProblems(all.block), []);
  });

  it('assigns a specific ordinal once and names the owner the second time', () => {
    const r = assignOrdinal(b0, 4, 'fixed', { pod: 'db' });
    assert.ok(r.ok);
    const again = assignOrdinal(r.block, 4, 'other', {});
    assert.ok(!again.ok);
    assert.equal(again.owner?.handleId, 'fixed');
    assert.deepEqual(ordinalsOfHandle(r.block, 'fixed'), [4]);
  });

  it('round-trips through Calico’s JSON field names', () => {
    const a = assignFromBlock(b0, 2, 'h1', { pod: 'p', namespace: 'ns' }).block;
    const json = encodeBlock(a) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), ['affinity', 'affinity_claim_time', 'allocations', 'attributes', 'cidr', 'deleted', 'sequenceNumber', 'sequenceNumberForAllocation', 'strictAffinity', 'unallocated']);
    assert.equal(json['cidr'], '10.0.0.0/29');
    assert.deepEqual(json['attributes'], [{ handle_id: 'h1', secondary: { pod: 'p', namespace: 'ns' } }]);
    assert.deepEqual(decodeBlock(JSON.parse(JSON.stringify(json)), 'k'), a);
    // Values written before the field name was fixed still read.
    const { affinity_claim_time: t, ...older } = json;
    assert.equal(decodeBlock({ ...older, affinityClaimTime: t } as never, 'k').affinityClaimTime, a.affinityClaimTime);
  });

  it('rejects malformed blocks naming the key and field, and finds structural problems', () => {
    assert.throws(() => decodeBlock({ cidr: '10.0.0.1/29', allocations: [] }, '/k'), /\/k: field cidr.*host bits/);
    assert.throws(() => decodeBlock({ cidr: '10.0.0.0/29', allocations: 'x' }, '/k'), /\/k: field allocations is not a list/);
    const broken = { ...b0, unallocated: [0, 1, 1, 2, 3, 4, 5, 6] };
    assert.deepEqual(blockProblems(broken), ['block 10.0.0.0/29: ordinal 1 is listed twice in unallocated', 'block 10.0.0.0/29: ordinal 7 is neither allocated nor unallocated']);
  });

  describe('cooldown (released addresses held back, Calico ReleasedAt)', () => {
    const t0 = new Date('2024-05-01T00:00:00.250Z');
    const later = (s: number) => new Date(t0.getTime() + s * 1000);
    const taken = assignFromBlock(b0, 3, 'h1', { pod: 'p', namespace: 'ns' }).block; // ordinals 0, 1, 2

    it('keeps a released ordinal allocated and out of the free list, stamped in whole seconds rounded up', () => {
      const rel = releaseFromBlock(taken, [{ ordinal: 1, sequenceNumber: sequenceOf(taken, 1) }], t0);
      assert.deepEqual(rel.released, [{ ordinal: 1, handleId: 'h1' }]);
      const b = rel.block;
      assert.ok(isCooling(b, 1) && !isActive(b, 1) && isActive(b, 0));
      assert.ok(!b.unallocated.includes(1));
      assert.equal(assignableCount(b), 5);
      assert.deepEqual(coolingOrdinals(b), [{ ordinal: 1, releasedAt: '2024-05-01T00:00:01Z', handleId: 'h1', secondary: { pod: 'p', namespace: 'ns' } }]);
      assert.deepEqual(ordinalsOfHandle(b, 'h1'), [0, 2], 'a cooling ordinal belongs to no handle');
      assert.equal(sequenceOf(b, 1), 0);
      assert.ok(!isEmpty(b));
      assert.deepEqual(blockProblems(b), []);
      // The allocator's view: the cooling address is never handed out, even when asked for everything.
      const all = assignFromBlock(b, 8, 'h2', {});
      assert.deepEqual(all.ordinals, [3, 4, 5, 6, 7]);
      assert.ok(!assignOrdinal(b, 1, 'h3', {}).ok);
      // A second release of it frees nothing.
      assert.deepEqual(releaseFromBlock(b, [{ ordinal: 1 }], t0).skipped, [{ ordinal: 1, reason: 'NotAllocated' }]);
      // Round-trips through the stored form.
      assert.deepEqual(decodeBlock(JSON.parse(JSON.stringify(encodeBlock(b))), 'k'), b);
      assert.equal((encodeBlock(b) as { attributes: { releasedAt?: string }[] }).attributes.filter((a) => a.releasedAt === '2024-05-01T00:00:01Z').length, 1);
    });

    it('returns cooled ordinals to the FIFO tail, oldest release first, and leaves cooling ones', () => {
      const first = releaseFromBlock(taken, [{ ordinal: 2 }], t0).block;
      const second = releaseFromBlock(first, [{ ordinal: 0 }], later(30)).block;
      assert.equal(collectCooled(second, later(59), 60).block, second, 'nothing cooled: same block');
      const c1 = collectCooled(second, later(61), 60);
      assert.deepEqual(c1.collected, [2]);
      assert.deepEqual(c1.block.unallocated, [3, 4, 5, 6, 7, 2]);
      assert.ok(isCooling(c1.block, 0));
      assert.deepEqual(blockProblems(c1.block), []);
      const c2 = collectCooled(c1.block, later(100), 60);
      assert.deepEqual(c2.block.unallocated, [3, 4, 5, 6, 7, 2, 0]);
      assert.deepEqual(c2.block.attributes.length, 1, 'cooling records dropped once collected');
      assert.deepEqual(ordinalsOfHandle(c2.block, 'h1'), [1]);
      // Cooldown 0 collects everything on the next write.
      assert.deepEqual(collectCooled(second, later(31), 0).collected, [2, 0]);
    });

    it('without a release time frees at once, exactly as before', () => {
      const rel = releaseFromBlock(taken, [{ ordinal: 1 }]);
      assert.deepEqual(rel.block.unallocated, [3, 4, 5, 6, 7, 1]);
      assert.deepEqual(coolingOrdinals(rel.block), []);
    });
  });
});
