import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCIDR, parseCIDR } from '../../ip/index.js';
import { checkPoolOverlap, choosePools, poolFromResource } from './pools.js';
import { BlockIndex } from './block-index.js';

const all = () => ({ matches: () => true });
const pool = (name: string, spec: Record<string, unknown>) => poolFromResource({ metadata: { name }, spec } as never, `/calico/resources/v3/projectcalico.org/ippools/${name}`);

describe('IPAM pools', () => {
  it('applies Calico defaults: block size 26/122, all() nodes, Workload+Tunnel, Automatic', () => {
    const p4 = pool('a', { cidr: '10.0.0.0/16' });
    assert.equal(p4.blockSize, 26);
    assert.equal(p4.nodeSelector, 'all()');
    assert.deepEqual(p4.allowedUses, ['Workload', 'Tunnel']);
    assert.equal(p4.assignmentMode, 'Automatic');
    assert.equal(pool('b', { cidr: 'fd00::/48' }).blockSize, 122);
  });

  it('rejects bad pools naming the key and the field', () => {
    // Host bits are accepted and the CIDR normalised, as Calico's validator does (model/resources/ippool.ts).
    assert.equal(formatCIDR(pool('x', { cidr: '10.0.0.1/16' }).cidr), '10.0.0.0/16');
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', blockSize: 19 }), /spec\.blockSize: IPv4 block size must be from 20 to 32/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/28', blockSize: 26 }), /spec\.cidr: the pool \/28 is smaller than its \/26 blocks/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', allowedUses: ['Everything'] }), /spec\.allowedUses\[0\]: must be one of/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', assignmentMode: 'Sometimes' }), /spec\.assignmentMode/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', namespaceSelector: 'a == "b"' }), /Tunnel addresses cannot have a namespaceSelector/);
  });

  it('finds overlapping pools but not the candidate itself', () => {
    const pools = [pool('a', { cidr: '10.0.0.0/16' }), pool('b', { cidr: '10.1.0.0/16' }), pool('c', { cidr: 'fd00::/48' })];
    assert.deepEqual(checkPoolOverlap(pools, { name: 'new', cidr: parseCIDR('10.0.128.0/17') }).map((p) => p.name), ['a']);
    assert.deepEqual(checkPoolOverlap(pools, { name: 'big', cidr: parseCIDR('10.0.0.0/8') }).map((p) => p.name), ['a', 'b']);
    assert.deepEqual(checkPoolOverlap(pools, { name: 'a', cidr: parseCIDR('10.0.0.0/16') }), []);
    assert.deepEqual(checkPoolOverlap(pools, { name: 'v6', cidr: parseCIDR('fd00:0:0:1::/64') }).map((p) => p.name), ['c']);
  });

  it('chooses automatic pools by family, enabled state, mode and use', () => {
    const pools = [
      pool('w', { cidr: '10.0.0.0/16' }),
      pool('off', { cidr: '10.1.0.0/16', disabled: true }),
      pool('man', { cidr: '10.2.0.0/16', assignmentMode: 'Manual' }),
      pool('lb', { cidr: '10.3.0.0/16', allowedUses: ['LoadBalancer'] }),
      pool('v6', { cidr: 'fd00::/48' }),
    ];
    const pick = (use: 'Workload' | 'LoadBalancer', family: 4 | 6 = 4) => {
      const c = choosePools(pools, { family, nodeLabels: {}, use }, all);
      return c.ok ? c.pools.map((p) => p.name) : c.code;
    };
    assert.deepEqual(pick('Workload'), ['w']);
    assert.deepEqual(pick('LoadBalancer'), ['lb']);
    assert.deepEqual(pick('Workload', 6), ['v6']);
  });
});

describe('IPAM pool overlap', () => {
  const dated = (name: string, cidr: string, createdAt: string) =>
    poolFromResource({ metadata: { name, creationTimestamp: createdAt }, spec: { cidr } } as never, `/calico/resources/v3/projectcalico.org/ippools/${name}`);
  it('keeps the older of two overlapping pools allocatable and refuses the newer one, even when named', () => {
    const old = dated('old', '10.0.0.0/16', '2024-01-01T00:00:00Z');
    const young = dated('young', '10.0.128.0/17', '2024-02-01T00:00:00Z');
    const apart = dated('apart', '10.1.0.0/16', '2024-03-01T00:00:00Z');
    const all = () => ({ matches: () => true });
    const auto = choosePools([young, old, apart], { family: 4, nodeLabels: {}, use: 'Workload' }, all);
    assert.ok(auto.ok);
    assert.deepEqual(auto.pools.map((p) => p.name), ['old', 'apart']);
    const named = choosePools([young, old], { family: 4, explicit: ['young'], nodeLabels: {}, use: 'Workload' }, all);
    assert.ok(!named.ok);
    assert.match(named.message, /"young" \(10\.0\.128\.0\/17\) overlaps the older pool "old" \(10\.0\.0\.0\/16\) and is not allocatable/);
  });
});

describe('IPAM block index', () => {
  it('finds overlap with larger, equal and smaller existing blocks', () => {
    const idx = new BlockIndex([parseCIDR('10.0.0.0/26'), parseCIDR('10.0.1.16/28'), parseCIDR('fd00::/122')]);
    assert.ok(idx.overlaps(parseCIDR('10.0.0.16/28')), 'inside an existing /26');
    assert.ok(idx.overlaps(parseCIDR('10.0.0.0/26')), 'equal');
    assert.ok(idx.overlaps(parseCIDR('10.0.1.0/26')), 'contains an existing /28');
    assert.ok(!idx.overlaps(parseCIDR('10.0.0.64/26')));
    assert.ok(!idx.overlaps(parseCIDR('10.0.1.32/28')));
    assert.ok(!idx.overlaps(parseCIDR('fd00::40/122')));
    assert.ok(idx.overlaps(parseCIDR('fd00::/120')));
  });
});
