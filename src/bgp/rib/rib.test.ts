import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CIDR, parseCIDR, parseIP } from '../../ip/index.js';
import type { PathAttributes, UpdateMessage } from '../wire/index.js';
import { type ExportTarget, Rib, filterAccepts, type RouteSource } from './index.js';

const LOCAL = { localAs: 65000, routerId: 0x01010101, clusterId: 0x01010101 };
const c = (t: string): CIDR => parseCIDR(t);
const ip4 = (t: string) => parseIP(t);
const upd = (attrs: PathAttributes, nlri: string[], withdrawn: string[] = []): UpdateMessage => ({
  type: 'UPDATE',
  withdrawn: withdrawn.map((p) => ({ prefix: c(p) })),
  attributes: attrs,
  nlri: nlri.map((p) => ({ prefix: c(p) })),
});
const base = (nh: string, extra: PathAttributes = {}): PathAttributes => ({ origin: 'igp', asPath: [], nextHop: ip4(nh), localPref: 100, ...extra });
const target = (kind: 'ibgp' | 'ebgp', extra: Partial<ExportTarget> = {}): Omit<ExportTarget, 'slot' | 'sessionKey'> => ({
  kind, asn: kind === 'ibgp' ? 65000 : 65009, rrClient: false, nextHopSelf: false, nextHopKeep: false, localV4: ip4('198.18.0.1'), ...extra,
});

function peer(rib: Rib, id: number, kind: 'ibgp' | 'ebgp', opts: { rrClient?: boolean; up?: Partial<ExportTarget> } = {}): number {
  const src: Omit<RouteSource, 'slot'> = { kind, asn: kind === 'ibgp' ? 65000 : 65000 + id, routerId: id, address: ip4(`198.18.0.${id}`), rrClient: opts.rrClient ?? false };
  const slot = rib.addPeer(src);
  rib.peerUp(slot, target(kind, { rrClient: opts.rrClient ?? false, asn: src.asn, ...opts.up }), id, new Set([4, 6]));
  return slot;
}
const drainedPrefixes = (rib: Rib, slot: number) => {
  const b = rib.drain(slot);
  return {
    announce: b.announce.flatMap((g) => g.nlri.map((n) => `${n.prefix.base}/${n.prefix.prefix}`)).length,
    groups: b.announce,
    withdraw: b.withdraw.flatMap((w) => w.nlri).length,
  };
};

describe('best path selection (RFC 4271 §9.1.2.2, RFC 4456 §9)', () => {
  const cases: [string, PathAttributes, PathAttributes, 'a' | 'b'][] = [
    ['higher LOCAL_PREF', base('198.18.0.2', { localPref: 200, asPath: [{ type: 'sequence', asns: [1, 2, 3] }] }), base('198.18.0.3'), 'a'],
    ['shorter AS_PATH', base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [1, 2] }] }), base('198.18.0.3', { asPath: [{ type: 'sequence', asns: [1] }] }), 'b'],
    ['an AS_SET counts one', base('198.18.0.2', { asPath: [{ type: 'set', asns: [1, 2, 3] }] }), base('198.18.0.3', { asPath: [{ type: 'sequence', asns: [1, 2] }] }), 'a'],
    ['lower ORIGIN', base('198.18.0.2', { origin: 'incomplete' }), base('198.18.0.3', { origin: 'egp' }), 'b'],
    ['lower MED from the same AS', base('198.18.0.2', { med: 5, asPath: [{ type: 'sequence', asns: [7] }] }), base('198.18.0.3', { med: 1, asPath: [{ type: 'sequence', asns: [7] }] }), 'b'],
    ['MED ignored across ASes (then lower router ID)', base('198.18.0.2', { med: 5, asPath: [{ type: 'sequence', asns: [7] }] }), base('198.18.0.3', { med: 1, asPath: [{ type: 'sequence', asns: [8] }] }), 'a'],
    ['ORIGINATOR_ID stands in for the router ID', base('198.18.0.2', { originatorId: 9 }), base('198.18.0.3', { originatorId: 4 }), 'b'],
    ['shorter CLUSTER_LIST', base('198.18.0.2', { originatorId: 4, clusterList: [7, 8] }), base('198.18.0.3', { originatorId: 4, clusterList: [7] }), 'b'],
  ];
  for (const [name, a, b, want] of cases) {
    it(`prefers the ${name}`, () => {
      for (const order of [['a', 'b'], ['b', 'a']] as const) {
        const rib = new Rib(LOCAL);
        const pa = peer(rib, 2, 'ibgp');
        const pb = peer(rib, 3, 'ibgp');
        for (const who of order) rib.applyUpdate(who === 'a' ? pa : pb, upd(who === 'a' ? a : b, ['10.0.0.0/24']));
        const best = rib.tables[4].get(c('10.0.0.0/24'))!.best!;
        assert.equal(best.source.slot, want === 'a' ? pa : pb, `order ${order}`);
      }
    });
  }
  it('prefers eBGP over iBGP, and a local route over both', () => {
    const rib = new Rib(LOCAL);
    const i = peer(rib, 2, 'ibgp');
    const e = peer(rib, 3, 'ebgp');
    rib.applyUpdate(i, upd(base('198.18.0.2'), ['10.0.0.0/24']));
    rib.applyUpdate(e, upd(base('198.18.0.3', { asPath: [{ type: 'sequence', asns: [65003] }] }), ['10.0.0.0/24']));
    // eBGP path: AS_PATH length 1 vs 0 loses on length; make them equal length
    rib.applyUpdate(i, upd(base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [65100] }] }), ['10.0.0.0/24']));
    const entry = [...rib.tables[4].values()][0]!;
    assert.equal(entry.best!.source.kind, 'ebgp');
    rib.originate(c('10.0.0.0/24'));
    assert.equal(entry.best!.source.kind, 'local');
  });
});

describe('export rules', () => {
  it('to eBGP: prepends our AS, next hop self, drops LOCAL_PREF, RR attributes and a foreign MED', () => {
    const rib = new Rib(LOCAL);
    const from = peer(rib, 2, 'ebgp');
    const to = peer(rib, 3, 'ebgp');
    rib.drain(to);
    rib.applyUpdate(from, upd(base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [65002] }], med: 7, communities: [1] }), ['10.2.0.0/24']));
    const { groups } = drainedPrefixes(rib, to);
    assert.equal(groups.length, 1);
    const a = groups[0]!.attrs;
    assert.deepEqual(a.asPath, [{ type: 'sequence', asns: [65000, 65002] }]);
    assert.equal(a.nextHop?.value, ip4('198.18.0.1').value);
    assert.equal(a.localPref, undefined);
    assert.equal(a.med, undefined);
    assert.deepEqual(a.communities, [1]);
  });

  it('to iBGP: next hop unchanged, LOCAL_PREF set, our own routes with next hop self', () => {
    const rib = new Rib(LOCAL);
    const from = peer(rib, 2, 'ebgp');
    const to = peer(rib, 3, 'ibgp');
    rib.applyUpdate(from, upd(base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [65002] }], med: 7 }), ['10.2.0.0/24']));
    rib.originate(c('10.1.0.0/24'));
    const { groups } = drainedPrefixes(rib, to);
    const learned = groups.find((g) => g.nlri[0]!.prefix.base === 0x0a020000n)!.attrs;
    assert.equal(learned.nextHop?.value, ip4('198.18.0.2').value);
    assert.equal(learned.localPref, 100);
    assert.equal(learned.med, 7);
    assert.deepEqual(learned.asPath, [{ type: 'sequence', asns: [65002] }]);
    const own = groups.find((g) => g.nlri[0]!.prefix.base === 0x0a010000n)!.attrs;
    assert.equal(own.nextHop?.value, ip4('198.18.0.1').value);
    assert.deepEqual(own.asPath, []);
  });

  it('does not pass iBGP routes between non-clients; reflects client routes to all and non-client routes to clients (RFC 4456)', () => {
    const rib = new Rib(LOCAL);
    const client1 = peer(rib, 2, 'ibgp', { rrClient: true });
    const client2 = peer(rib, 3, 'ibgp', { rrClient: true });
    const non1 = peer(rib, 4, 'ibgp');
    const non2 = peer(rib, 5, 'ibgp');
    rib.applyUpdate(client1, upd(base('198.18.0.2'), ['10.2.0.0/24']));
    rib.applyUpdate(non1, upd(base('198.18.0.4'), ['10.4.0.0/24']));
    const c2 = drainedPrefixes(rib, client2);
    assert.equal(c2.announce, 2);
    const reflected = c2.groups.find((g) => g.nlri[0]!.prefix.base === 0x0a020000n)!.attrs;
    assert.equal(reflected.originatorId, 2);
    assert.deepEqual(reflected.clusterList, [LOCAL.clusterId]);
    assert.equal(drainedPrefixes(rib, non2).announce, 1, 'non-client gets only the client route');
    assert.equal(drainedPrefixes(rib, client1).announce, 1, 'never back to the source');
    assert.equal(rib.peer(client2).counters.advertised, 2);
  });

  it('keeps an existing ORIGINATOR_ID and prepends to an existing CLUSTER_LIST', () => {
    const rib = new Rib(LOCAL);
    const client1 = peer(rib, 2, 'ibgp', { rrClient: true });
    const client2 = peer(rib, 3, 'ibgp', { rrClient: true });
    rib.applyUpdate(client1, upd(base('198.18.0.2', { originatorId: 77, clusterList: [5] }), ['10.2.0.0/24']));
    const a = drainedPrefixes(rib, client2).groups[0]!.attrs;
    assert.equal(a.originatorId, 77);
    assert.deepEqual(a.clusterList, [LOCAL.clusterId, 5]);
  });
});

describe('import loop detection', () => {
  it('rejects our AS in an eBGP AS_PATH, our router ID as ORIGINATOR_ID, our cluster ID in CLUSTER_LIST; counts them received, not accepted', () => {
    const rib = new Rib(LOCAL);
    const e = peer(rib, 2, 'ebgp');
    const i = peer(rib, 3, 'ibgp');
    rib.applyUpdate(e, upd(base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [65002, 65000] }] }), ['10.2.0.0/24']));
    rib.applyUpdate(i, upd(base('198.18.0.3', { originatorId: LOCAL.routerId }), ['10.3.0.0/24']));
    rib.applyUpdate(i, upd(base('198.18.0.3', { clusterList: [9, LOCAL.clusterId] }), ['10.4.0.0/24']));
    assert.deepEqual(rib.peer(e).counters, { received: 1, accepted: 0, advertised: 0 });
    assert.equal(rib.peer(i).counters.received, 2);
    assert.equal(rib.peer(i).counters.accepted, 0);
    for (const entry of rib.tables[4].values()) assert.equal(entry.best, undefined);
  });
});

describe('Adj-RIB-Out queue', () => {
  it('collapses changes before a send and groups announcements by attributes', () => {
    const rib = new Rib(LOCAL);
    const from = peer(rib, 2, 'ibgp', { rrClient: true });
    const to = peer(rib, 3, 'ibgp', { rrClient: true });
    rib.applyUpdate(from, upd(base('198.18.0.2'), ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']));
    rib.applyUpdate(from, upd(base('198.18.0.2', { med: 3 }), ['10.0.3.0/24']));
    rib.applyUpdate(from, upd({}, [], ['10.0.2.0/24']));
    const d = drainedPrefixes(rib, to);
    assert.equal(d.groups.length, 2);
    assert.deepEqual(d.groups.map((g) => g.nlri.length).sort(), [1, 2]);
    assert.equal(d.withdraw, 0, '10.0.2.0/24 was announced and withdrawn before any send: nothing to say');
    assert.equal(rib.peer(to).counters.advertised, 3);
    assert.equal(rib.hasPending(to), false);
    rib.applyUpdate(from, upd({}, [], ['10.0.1.0/24']));
    const again = drainedPrefixes(rib, to);
    assert.deepEqual([again.announce, again.withdraw], [0, 1], 'an advertised prefix is withdrawn');
    assert.equal(rib.peer(to).counters.advertised, 2);
  });

  it('shares one attribute set among all prefixes of one UPDATE and frees it when they go', () => {
    const rib = new Rib(LOCAL);
    const from = peer(rib, 2, 'ibgp');
    const prefixes = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    rib.applyUpdate(from, upd(base('198.18.0.2'), prefixes));
    assert.equal(rib.attrTable.size, 1);
    rib.peerDown(from, false);
    assert.equal(rib.attrTable.size, 0);
    assert.equal(rib.tables[4].size, 0);
  });

  it('keeps per-peer state right beyond 31 peers (the wide bit arrays)', () => {
    const rib = new Rib(LOCAL);
    const clients = Array.from({ length: 40 }, (_, i) => peer(rib, 10 + i, 'ibgp', { rrClient: true }));
    const src = clients[0]!;
    rib.applyUpdate(src, upd(base('198.18.0.10'), ['10.0.0.0/24', '10.0.1.0/24']));
    for (const c of clients.slice(1)) assert.equal(drainedPrefixes(rib, c).announce, 2, `client slot ${c}`);
    assert.equal(drainedPrefixes(rib, src).announce, 0, 'not back to the source');
    // A peer that drains late still sees the withdrawal; one that goes down forgets its state.
    rib.applyUpdate(src, upd({}, [], ['10.0.1.0/24']));
    const last = clients[39]!;
    rib.peerDown(clients[38]!, false);
    assert.deepEqual([drainedPrefixes(rib, last).withdraw, rib.peer(last).counters.advertised], [1, 1]);
    assert.equal(rib.peer(clients[38]!).counters.advertised, 0);
    rib.peerUp(clients[38]!, target('ibgp', { rrClient: true }), 48, new Set([4]));
    assert.deepEqual([drainedPrefixes(rib, clients[38]!).announce, rib.peer(clients[38]!).counters.advertised], [1, 1]);
  });

  it('limits a drain to the requested number of prefixes', () => {
    const rib = new Rib(LOCAL);
    const from = peer(rib, 2, 'ebgp');
    const to = peer(rib, 3, 'ebgp');
    rib.applyUpdate(from, upd(base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [65002] }] }), ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']));
    assert.equal(rib.drain(to, 2).announce[0]!.nlri.length, 2);
    assert.equal(rib.hasPending(to), true);
    assert.equal(rib.drain(to).announce[0]!.nlri.length, 1);
    assert.equal(rib.hasPending(to), false);
  });
});

describe('graceful restart (RFC 4724) and End-of-RIB', () => {
  it('keeps a restarting peer\'s routes stale, refreshes the re-announced ones, sweeps the rest', () => {
    const changes: string[] = [];
    const rib = new Rib(LOCAL, (e, _o, n) => changes.push(`${e.prefix.base}:${n ? 'up' : 'down'}`));
    const p = peer(rib, 2, 'ibgp');
    rib.applyUpdate(p, upd(base('198.18.0.2'), ['10.0.0.0/24', '10.0.1.0/24']));
    changes.length = 0;
    rib.peerDown(p, true);
    assert.equal(rib.tables[4].size, 2);
    assert.equal(changes.length, 0, 'stale routes stay selected (and installed)');
    assert.ok(rib.hasStale(p));
    rib.peerUp(p, target('ibgp'), 2, new Set([4]));
    rib.applyUpdate(p, upd(base('198.18.0.2'), ['10.0.0.0/24']));
    assert.deepEqual(rib.applyUpdate(p, upd({}, [])), [4], 'an empty UPDATE is the IPv4 End-of-RIB');
    assert.equal(rib.sweepStale(p), 1);
    assert.equal(rib.tables[4].size, 1);
    assert.ok(!rib.hasStale(p));
  });

  it('recognises the IPv6 End-of-RIB (an UPDATE holding only an empty MP_UNREACH_NLRI)', () => {
    const rib = new Rib(LOCAL);
    const p = peer(rib, 2, 'ibgp');
    assert.deepEqual(rib.applyUpdate(p, { type: 'UPDATE', withdrawn: [], nlri: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } }), [6]);
  });

  it('treat-as-withdraw removes the announced prefixes', () => {
    const rib = new Rib(LOCAL);
    const p = peer(rib, 2, 'ibgp');
    rib.applyUpdate(p, upd(base('198.18.0.2'), ['10.0.0.0/24']));
    rib.applyUpdate(p, { ...upd(base('198.18.0.2'), ['10.0.0.0/24']), treatAsWithdraw: true });
    assert.equal(rib.tables[4].size, 0);
  });

  it('carries IPv6 routes with their MP next hop, and exports them with our IPv6 address', () => {
    const rib = new Rib(LOCAL);
    const from = peer(rib, 2, 'ebgp');
    const to = peer(rib, 3, 'ebgp', { up: { localV6: parseIP('fd00::1') } });
    rib.applyUpdate(from, { type: 'UPDATE', withdrawn: [], nlri: [], attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [65002] }], mpReach: { afi: 2, safi: 1, nextHop: { kind: 'ipv6', global: parseIP('fd00::2') }, nlri: [{ prefix: c('fd00:2::/64') }] } } });
    const entry = [...rib.tables[6].values()][0]!;
    assert.equal(entry.best!.nextHop.address?.value, parseIP('fd00::2').value);
    const g = rib.drain(to).announce[0]!;
    assert.deepEqual(g.attrs.mpReach?.nextHop, { kind: 'ipv6', global: parseIP('fd00::1') });
  });
});

describe('BGPFilter rules (Calico semantics)', () => {
  const f = (rules: Parameters<typeof filterAccepts>[0]['v4']) => ({ v4: rules, v6: [] });
  it('first matching rule decides; nothing matching is accepted', () => {
    const filter = f([{ action: 'Accept', cidr: c('10.0.0.0/16'), matchOperator: 'In', prefixLength: { min: 24 } }, { action: 'Reject', cidr: c('10.0.0.0/8'), matchOperator: 'In' }]);
    assert.equal(filterAccepts(filter, c('10.0.1.0/24')), true);
    assert.equal(filterAccepts(filter, c('10.0.0.0/20')), false);
    assert.equal(filterAccepts(filter, c('10.9.0.0/24')), false);
    assert.equal(filterAccepts(filter, c('192.168.0.0/24')), true);
  });
  it('Equal, NotEqual, NotIn and a rule with no cidr', () => {
    assert.equal(filterAccepts(f([{ action: 'Reject', cidr: c('10.0.0.0/24'), matchOperator: 'Equal' }]), c('10.0.0.0/24')), false);
    assert.equal(filterAccepts(f([{ action: 'Reject', cidr: c('10.0.0.0/24'), matchOperator: 'Equal' }]), c('10.0.0.0/25')), true);
    assert.equal(filterAccepts(f([{ action: 'Reject', cidr: c('10.0.0.0/24'), matchOperator: 'NotEqual' }]), c('10.0.0.0/25')), false);
    assert.equal(filterAccepts(f([{ action: 'Reject', cidr: c('44.0.0.0/16'), matchOperator: 'NotIn' }]), c('44.0.3.0/24')), true);
    assert.equal(filterAccepts(f([{ action: 'Reject', cidr: c('44.0.0.0/16'), matchOperator: 'NotIn' }]), c('45.0.0.0/24')), false);
    assert.equal(filterAccepts(f([{ action: 'Reject' }]), c('1.2.3.0/24')), false);
  });
  it('an import filter rejects per prefix, an export filter withholds per peer', () => {
    const rib = new Rib(LOCAL);
    const src: Omit<RouteSource, 'slot'> = { kind: 'ebgp', asn: 65002, routerId: 2, address: ip4('198.18.0.2'), rrClient: false };
    const from = rib.addPeer(src, { importFilter: f([{ action: 'Reject', cidr: c('10.9.0.0/16'), matchOperator: 'In' }]) });
    rib.peerUp(from, target('ebgp', { asn: 65002 }), 2, new Set([4]));
    const to = rib.addPeer({ ...src, asn: 65003, routerId: 3, address: ip4('198.18.0.3') }, { exportFilter: f([{ action: 'Reject', cidr: c('10.1.0.0/24'), matchOperator: 'Equal' }]) });
    rib.peerUp(to, target('ebgp', { asn: 65003 }), 3, new Set([4]));
    rib.applyUpdate(from, upd(base('198.18.0.2', { asPath: [{ type: 'sequence', asns: [65002] }] }), ['10.9.1.0/24', '10.1.0.0/24', '10.2.0.0/24']));
    assert.deepEqual(rib.peer(from).counters, { received: 3, accepted: 2, advertised: 0 });
    assert.equal(drainedPrefixes(rib, to).announce, 1);
  });
});
