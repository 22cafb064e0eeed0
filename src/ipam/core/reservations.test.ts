import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR, parseIP } from '../../ip/index.js';
import { fnv1a32, blockCandidates } from './block-order.js';
import { poolFromResource } from './pools.js';
import { ReservationSet, reservedCidrsOf } from './reservations.js';

describe('IPAM reservations', () => {
  it('answers membership and whole-block coverage across merged, adjacent ranges', () => {
    const set = new ReservationSet([parseCIDR('10.0.0.0/27'), parseCIDR('10.0.0.32/27'), parseCIDR('10.0.1.5/32'), parseCIDR('fd00::/120')]);
    assert.ok(set.isReserved(parseIP('10.0.0.63')));
    assert.ok(!set.isReserved(parseIP('10.0.0.64')));
    assert.ok(set.isReserved(parseIP('fd00::ff')));
    assert.ok(set.coversBlock(parseCIDR('10.0.0.0/26')), 'two adjacent /27s cover the /26');
    assert.ok(!set.coversBlock(parseCIDR('10.0.1.0/26')));
  });

  it('reads IPReservation specs, bare IPs as host routes, and names bad entries', () => {
    const cidrs = reservedCidrsOf({ spec: { reservedCIDRs: ['10.0.0.1', '10.1.0.0/24'] } }, '/r');
    assert.deepEqual(cidrs.map((c) => c.prefix), [32, 24]);
    assert.throws(() => reservedCidrsOf({ spec: { reservedCIDRs: ['10.0.0.x'] } }, '/r'), /\/r: spec\.reservedCIDRs\[0\]/);
  });
});

describe('IPAM block order', () => {
  const pool = poolFromResource({ metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/24', blockSize: 28 } }, '/p');
  it('visits every subnet once, from a start that depends on the hostname only', () => {
    const a = [...blockCandidates(pool, fnv1a32('node-a'))];
    assert.equal(a.length, 16);
    assert.equal(new Set(a.map((c) => c.base)).size, 16);
    assert.deepEqual([...blockCandidates(pool, fnv1a32('node-a'))], a, 'deterministic');
    const starts = new Set(['node-a', 'node-b', 'node-c', 'node-d', 'node-e'].map((n) => blockCandidates(pool, fnv1a32(n)).next().value!.base));
    assert.ok(starts.size >= 3, 'different hosts start in different places');
  });
  it('handles IPv6 pools with 2^74 blocks lazily', () => {
    const v6 = poolFromResource({ metadata: { name: 'v6' }, spec: { cidr: 'fd00:10:244::/48' } }, '/p');
    const it = blockCandidates(v6, fnv1a32('node-a'));
    const first = it.next().value!;
    const second = it.next().value!;
    assert.equal(first.prefix, 122);
    assert.ok(second.base === first.base + 64n || second.base === parseCIDR('fd00:10:244::/122').base);
  });
});
