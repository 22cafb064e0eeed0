import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR } from '../../ip/index.js';
import { checkPoolOverlap, choosePools, poolFromResource } from './pools.js';

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
    assert.throws(() => pool('x', { cidr: '10.0.0.1/16' }), /ippools\/x: spec\.cidr: .*host bits/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', blockSize: 19 }), /spec\.blockSize: 19 is not an integer in 20\.\.32/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/28', blockSize: 26 }), /spec\.cidr: prefix \/28 is longer than blockSize 26/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', allowedUses: ['Everything'] }), /spec\.allowedUses: "Everything"/);
    assert.throws(() => pool('x', { cidr: '10.0.0.0/16', assignmentMode: 'Sometimes' }), /spec\.assignmentMode/);
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
