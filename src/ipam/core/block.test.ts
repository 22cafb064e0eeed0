import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR, parseIP } from '../../ip/index.js';
import {
  assignFromBlock,
  assignOrdinal,
  blockProblems,
  decodeBlock,
  encodeBlock,
  isEmpty,
  newBlock,
  ordinalsOfHandle,
  releaseFromBlock,
  sequenceOf,
} from './block.js';

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
    assert.deepEqual(Object.keys(json).sort(), ['affinity', 'affinityClaimTime', 'allocations', 'attributes', 'cidr', 'deleted', 'sequenceNumber', 'sequenceNumberForAllocation', 'strictAffinity', 'unallocated']);
    assert.equal(json['cidr'], '10.0.0.0/29');
    assert.deepEqual(json['attributes'], [{ handle_id: 'h1', secondary: { pod: 'p', namespace: 'ns' } }]);
    assert.deepEqual(decodeBlock(JSON.parse(JSON.stringify(json)), 'k'), a);
  });

  it('rejects malformed blocks naming the key and field, and finds structural problems', () => {
    assert.throws(() => decodeBlock({ cidr: '10.0.0.1/29', allocations: [] }, '/k'), /\/k: field cidr.*host bits/);
    assert.throws(() => decodeBlock({ cidr: '10.0.0.0/29', allocations: 'x' }, '/k'), /\/k: field allocations is not a list/);
    const broken = { ...b0, unallocated: [0, 1, 1, 2, 3, 4, 5, 6] };
    assert.deepEqual(blockProblems(broken), ['block 10.0.0.0/29: ordinal 1 is listed twice in unallocated', 'block 10.0.0.0/29: ordinal 7 is neither allocated nor unallocated']);
  });
});
