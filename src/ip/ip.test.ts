import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addIP,
  cidrAddress,
  cidrAddresses,
  cidrContains,
  cidrContainsIP,
  cidrIndexOf,
  cidrKeySegment,
  cidrSize,
  cidrsOverlap,
  compareIP,
  formatCIDR,
  formatIP,
  isIPv4Mapped,
  parseCIDR,
  parseCIDRKeySegment,
  parseIP,
  splitCIDR,
  subnetAt,
  subnetCount,
  tryParseCIDR,
  tryParseIP,
  unmapIPv4,
} from './index.js';

describe('parseIP / formatIP', () => {
  const roundTrips: [string, string][] = [
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['10.244.1.2', '10.244.1.2'],
    ['::', '::'],
    ['::1', '::1'],
    ['FD00:10:244::1', 'fd00:10:244::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['::ffff:a01:203', '::ffff:10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, canonical] of roundTrips) {
    it(`formats ${input} as ${canonical}`, () => assert.equal(formatIP(parseIP(input)), canonical));
  }
  const invalid = ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-1', 'a.b.c.d', '1:2:3:4:5:6:7:8:9', '1::2::3',
    '12345::', 'fe80::1%eth0', ':::', '1:2:3:4:5:6:7::8:9', ' 1.2.3.4', '::ffff:1.2.3'];
  for (const bad of invalid) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseIP(bad), /invalid IP address/);
      assert.equal(tryParseIP(bad), undefined);
    });
  }
  it('keeps IPv4-mapped IPv6 as IPv6 and unmaps on request', () => {
    const a = parseIP('::ffff:192.168.1.1');
    assert.equal(a.family, 6);
    assert.ok(isIPv4Mapped(a));
    assert.equal(formatIP(unmapIPv4(a)), '192.168.1.1');
    assert.equal(unmapIPv4(parseIP('::1')).family, 6);
  });
  it('orders v4 before v6 and numerically within a family', () => {
    const sorted = ['::1', '10.0.0.2', '10.0.0.10', '9.255.255.255'].map(parseIP).sort(compareIP).map(formatIP);
    assert.deepEqual(sorted, ['9.255.255.255', '10.0.0.2', '10.0.0.10', '::1']);
  });
  it('adds with overflow detection', () => {
    assert.equal(formatIP(addIP(parseIP('10.0.0.255'), 1n)), '10.0.1.0');
    assert.throws(() => addIP(parseIP('255.255.255.255'), 1n), RangeError);
  });
});

describe('parseCIDR', () => {
  it('parses /0, /32 and /128', () => {
    assert.equal(cidrSize(parseCIDR('0.0.0.0/0')), 1n << 32n);
    assert.equal(cidrSize(parseCIDR('10.1.2.3/32')), 1n);
    assert.equal(cidrSize(parseCIDR('::/0')), 1n << 128n);
    assert.equal(formatCIDR(parseCIDR('fd00::1/128')), 'fd00::1/128');
  });
  it('rejects host bits in strict mode, naming the network', () => {
    assert.throws(() => parseCIDR('10.244.0.1/16'), /host bits are set; the network is 10\.244\.0\.0\/16/);
    assert.throws(() => parseCIDR('fd00:10:244::1/48'), /host bits are set/);
  });
  it('masks host bits and accepts bare addresses in lenient mode', () => {
    assert.equal(formatCIDR(parseCIDR('10.244.0.1/16', { lenient: true })), '10.244.0.0/16');
    assert.equal(formatCIDR(parseCIDR('10.1.1.1', { lenient: true })), '10.1.1.1/32');
    assert.equal(formatCIDR(parseCIDR('fd00::5', { lenient: true })), 'fd00::5/128');
    assert.throws(() => parseCIDR('10.1.1.1'), /missing "\/prefix"/);
  });
  it('normalises IPv6 text', () => {
    assert.equal(formatCIDR(parseCIDR('FD00:0010:0244:0000::/64')), 'fd00:10:244::/64');
  });
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/a', '/24', 'x/24']) {
    it(`rejects ${bad}`, () => assert.equal(tryParseCIDR(bad), undefined));
  }
  it('handles IPv4-mapped IPv6 CIDRs as IPv6', () => {
    const c = parseCIDR('::ffff:10.0.0.0/104');
    assert.equal(c.family, 6);
    assert.ok(cidrContainsIP(c, parseIP('::ffff:10.9.9.9')));
    assert.ok(!cidrContainsIP(c, parseIP('10.9.9.9')));
  });
});

describe('containment and overlap', () => {
  const p = (s: string) => parseCIDR(s);
  it('contains addresses and subnets', () => {
    assert.ok(cidrContainsIP(p('10.244.0.0/16'), parseIP('10.244.255.255')));
    assert.ok(!cidrContainsIP(p('10.244.0.0/16'), parseIP('10.245.0.0')));
    assert.ok(cidrContainsIP(p('0.0.0.0/0'), parseIP('1.2.3.4')));
    assert.ok(!cidrContainsIP(p('0.0.0.0/0'), parseIP('::1')));
    assert.ok(cidrContains(p('10.0.0.0/8'), p('10.1.0.0/16')));
    assert.ok(cidrContains(p('10.0.0.0/8'), p('10.0.0.0/8')));
    assert.ok(!cidrContains(p('10.1.0.0/16'), p('10.0.0.0/8')));
  });
  it('detects overlap both ways and not across families', () => {
    assert.ok(cidrsOverlap(p('10.0.0.0/8'), p('10.200.0.0/16')));
    assert.ok(cidrsOverlap(p('10.200.0.0/16'), p('10.0.0.0/8')));
    assert.ok(!cidrsOverlap(p('10.0.0.0/16'), p('10.1.0.0/16')));
    assert.ok(!cidrsOverlap(p('0.0.0.0/0'), p('::/0')));
  });
});

describe('blocks and iteration', () => {
  it('splits a /24 into /26 blocks in order', () => {
    assert.deepEqual([...splitCIDR(parseCIDR('10.0.0.0/24'), 26)].map(formatCIDR),
      ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26']);
  });
  it('indexes huge IPv6 splits lazily', () => {
    const pool = parseCIDR('fd00:10:244::/48');
    assert.equal(subnetCount(pool, 122), 1n << 74n);
    assert.equal(formatCIDR(subnetAt(pool, 122, 3n)), 'fd00:10:244::c0/122');
    const first = splitCIDR(pool, 122).next().value;
    assert.equal(first && formatCIDR(first), 'fd00:10:244::/122');
  });
  it('iterates and indexes addresses', () => {
    const c = parseCIDR('192.168.0.0/30');
    assert.deepEqual([...cidrAddresses(c)].map(formatIP), ['192.168.0.0', '192.168.0.1', '192.168.0.2', '192.168.0.3']);
    assert.equal(formatIP(cidrAddress(c, 2n)), '192.168.0.2');
    assert.equal(cidrIndexOf(c, parseIP('192.168.0.3')), 3n);
    assert.throws(() => cidrIndexOf(c, parseIP('192.168.0.4')), RangeError);
    assert.throws(() => subnetCount(c, 29), RangeError);
  });
  it('spells CIDRs in keys the Calico way', () => {
    assert.equal(cidrKeySegment(parseCIDR('10.244.1.64/26')), '10.244.1.64-26');
    assert.equal(cidrKeySegment(parseCIDR('fd00:10:244::40/122')), 'fd00:10:244::40-122');
    assert.equal(formatCIDR(parseCIDRKeySegment('fd00:10:244::40-122')), 'fd00:10:244::40/122');
  });
});
