import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCIDR, parseCIDR } from '../../ip/index.js';
import { clusterMetaOf } from './cluster-info.js';
import { mergeReports, parseReport } from './check-report.js';
import { splitCidr, splitPoolName } from './split.js';
import { decodeIpamConfig, encodeIpamConfig, ipamConfigProblems } from '../../model/index.js';

describe('ipam split arithmetic', () => {
  it('splits into equal children in address order, IPv4 and IPv6', () => {
    assert.deepEqual(splitCidr(parseCIDR('172.16.0.0/16'), 4, 26).map(formatCIDR), ['172.16.0.0/18', '172.16.64.0/18', '172.16.128.0/18', '172.16.192.0/18']);
    assert.deepEqual(splitCidr(parseCIDR('fd00::/48'), 2, 122).map(formatCIDR), ['fd00::/49', 'fd00:0:0:8000::/49']);
  });
  it('refuses non powers of two, 1, and children smaller than a block or than an address', () => {
    for (const n of [0, 1, 3, 6, 2.5]) assert.throws(() => splitCidr(parseCIDR('10.0.0.0/16'), n, 26), /power of two of at least 2/);
    assert.throws(() => splitCidr(parseCIDR('10.0.0.0/24'), 8, 26), /\/27 pools, smaller than the pool's blockSize \/26; split into at most 4 pools/);
    assert.throws(() => splitCidr(parseCIDR('10.0.0.1/32'), 2, 32), /not large enough/);
  });
  it('names children as calicoctl does, cutting long names', () => {
    assert.equal(splitPoolName('default-ipv4-ippool', 3), 'split-default-ipv4-ippool-3');
    assert.equal(splitPoolName('x'.repeat(250), 1), `split-${'x'.repeat(245)}-1`);
  });
});

describe('ipam check reports read back', () => {
  const report = (allocs: Record<string, unknown[]>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ version: 'v0.1.0', clusterGUID: 'g', clusterInformationRevision: '7', allocations: allocs, leakedHandles: [{ ID: 'h0', UID: null, Revision: '3' }], ...extra });
  it('takes unused, not cooling allocations with their guards', () => {
    const r = parseReport(
      report({
        '10.0.0.1': [{ handle: 'h1', sequenceNumber: 5, inUse: false }],
        '10.0.0.2': [{ handle: 'h2', sequenceNumber: 6, inUse: true }],
        '10.0.0.3': [{ handle: 'h3', sequenceNumber: 0, inUse: false, coolingDown: true }],
      }),
      'r.json',
    );
    assert.deepEqual(r.candidates, [{ ip: '10.0.0.1', handle: 'h1', sequenceNumber: 5 }]);
    assert.deepEqual(r.handles, [{ id: 'h0', revision: '3' }]);
  });
  it('names the file and field of what is wrong', () => {
    assert.throws(() => parseReport('{', 'a.json'), /report a\.json is not JSON/);
    assert.throws(() => parseReport('[]', 'a.json'), /not a JSON object/);
    assert.throws(() => parseReport(report({}, { clusterGUID: 1 }), 'a.json'), /a\.json: field clusterGUID is not a string/);
    assert.throws(() => parseReport(report({ x: [{ sequenceNumber: 1 }] }), 'a.json'), /allocations\["x"\]\[0\]\.inUse is missing/);
    assert.throws(() => parseReport(report({}, { leakedHandles: [{ ID: 'h' }] }), 'a.json'), /leakedHandles\[0\] is not/);
  });
  it('merges several reports to what all of them agree on', () => {
    const a = parseReport(report({ '10.0.0.1': [{ handle: 'h1', sequenceNumber: 5, inUse: false }], '10.0.0.2': [{ handle: 'h2', sequenceNumber: 6, inUse: false }] }), 'a');
    const b = parseReport(report({ '10.0.0.1': [{ handle: 'h1', sequenceNumber: 9, inUse: false }], '10.0.0.2': [{ handle: 'h2', sequenceNumber: 6, inUse: false }] }, { leakedHandles: [{ ID: 'h0', Revision: '4' }] }), 'b');
    assert.deepEqual(mergeReports([a, b]), { candidates: [{ ip: '10.0.0.2', handle: 'h2', sequenceNumber: 6 }], handles: [] });
  });
});

describe('IPAM configuration record', () => {
  it('writes ipCooldownSeconds only when set, and reads back what it wrote', () => {
    assert.deepEqual(encodeIpamConfig({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0 }), { strict_affinity: false, auto_allocate_blocks: true, maxBlocksPerHost: 0 });
    const c = { strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 2, ipCooldownSeconds: 30 };
    assert.deepEqual(decodeIpamConfig(encodeIpamConfig(c)), c);
    assert.equal(decodeIpamConfig({ ipCooldownSeconds: 99999 }).ipCooldownSeconds, 1200);
  });
  it('applies Calico’s cross-field rules', () => {
    assert.deepEqual(ipamConfigProblems({ strictAffinity: true, autoAllocateBlocks: false, maxBlocksPerHost: 4, ipCooldownSeconds: 1200 }), []);
    assert.match(ipamConfigProblems({ strictAffinity: false, autoAllocateBlocks: false, maxBlocksPerHost: 0 }).join(), /no way to get addresses/);
    assert.match(ipamConfigProblems({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 1 }).join(), /needs strictAffinity true/);
    assert.match(ipamConfigProblems({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 0, ipCooldownSeconds: 1201 }).join(), /0\.\.1200/);
  });
  it('reads ClusterInformation lock state and revision', () => {
    assert.deepEqual(clusterMetaOf({ spec: { clusterGUID: 'g', datastoreReady: false } }, 12), { exists: true, clusterGUID: 'g', clusterType: '', datastoreLocked: true, revision: '12' });
    assert.equal(clusterMetaOf({ spec: {} }, 3).datastoreLocked, false);
    assert.equal(clusterMetaOf(undefined, undefined).exists, false);
  });
});
