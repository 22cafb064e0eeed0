// Property tests with a seeded PRNG: random messages survive encode → decode unchanged, any
// chunking of a stream frames back into the same messages, packUpdates fills messages to the
// size limit without losing or reordering a prefix, and 4-octet paths sent to a 2-octet
// speaker come back whole after RFC 6793 reconciliation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CIDR, IPAddr } from '../../ip/index.js';
import { mulberry32 } from '../../util/index.js';
import {
  MessageFramer,
  decodeMessage,
  encodeMessage,
  packUpdates,
  packWithdrawals,
  reconcileAs4,
  updateRoutes,
  type AsPathSegment,
  type BgpMessage,
  type Capability,
  type CodecContext,
  type Nlri,
  type PathAttributes,
  type UpdateMessage,
} from './index.js';
import { prefixSize } from './nlri.js';

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number) => lo + (r() % (hi - lo + 1));
const u32 = (r: Rng) => r() >>> 0;
const big = (r: Rng, bits: number) => {
  let v = 0n;
  for (let b = 0; b < bits; b += 32) v = (v << 32n) | BigInt(u32(r));
  return v & ((1n << BigInt(bits)) - 1n);
};
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r() % xs.length]!;
const maybe = (r: Rng) => r() % 2 === 0;
const bytes = (r: Rng, n: number) => Uint8Array.from({ length: n }, () => r() & 0xff);

function prefix(r: Rng, family: 4 | 6): CIDR {
  const bits = family === 4 ? 32 : 128;
  const len = int(r, 0, bits);
  const host = (1n << BigInt(bits - len)) - 1n;
  return { family, base: big(r, bits) & ~host, prefix: len };
}
const nlriList = (r: Rng, family: 4 | 6, addPath: boolean, max: number): Nlri[] =>
  Array.from({ length: int(r, 0, max) }, () => (addPath ? { prefix: prefix(r, family), pathId: u32(r) } : { prefix: prefix(r, family) }));
const v4 = (r: Rng): IPAddr => ({ family: 4, value: BigInt(u32(r)) });
const v6 = (r: Rng): IPAddr => ({ family: 6, value: big(r, 128) });

function asPath(r: Rng, asnMax: number): AsPathSegment[] {
  return Array.from({ length: int(r, 0, 4) }, () => ({
    type: pick(r, ['set', 'sequence', 'confed-sequence', 'confed-set'] as const),
    asns: Array.from({ length: int(r, 1, 8) }, () => (asnMax === 0xffff ? r() & 0xffff : u32(r))),
  }));
}

function attributes(r: Rng, ctx: CodecContext, withMp: boolean): PathAttributes {
  const asnMax = ctx.as4 ? 0xffffffff : 0xffff;
  const a: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  if (maybe(r)) a.origin = pick(r, ['igp', 'egp', 'incomplete'] as const);
  if (maybe(r)) a.asPath = asPath(r, asnMax);
  if (maybe(r)) a.nextHop = v4(r);
  if (maybe(r)) a.med = u32(r);
  if (maybe(r)) a.localPref = u32(r);
  if (maybe(r)) a.atomicAggregate = true;
  if (maybe(r)) a.aggregator = { asn: asnMax === 0xffff ? r() & 0xffff : u32(r), address: v4(r) };
  if (maybe(r)) a.communities = Array.from({ length: int(r, 1, 6) }, () => u32(r));
  if (maybe(r)) a.originatorId = u32(r);
  if (maybe(r)) a.clusterList = Array.from({ length: int(r, 1, 4) }, () => u32(r));
  if (maybe(r)) a.extendedCommunities = Array.from({ length: int(r, 1, 4) }, () => big(r, 64));
  if (maybe(r)) a.largeCommunities = Array.from({ length: int(r, 1, 4) }, () => ({ global: u32(r), local1: u32(r), local2: u32(r) }));
  if (!ctx.as4 && maybe(r)) a.as4Path = asPath(r, 0xffffffff).filter((s) => s.type === 'set' || s.type === 'sequence');
  if (!ctx.as4 && maybe(r)) a.as4Aggregator = { asn: u32(r), address: v4(r) };
  if (maybe(r)) {
    const codes = [...new Set(Array.from({ length: int(r, 1, 3) }, () => int(r, 40, 250)))].sort((x, y) => x - y);
    a.unknown = codes.map((code) => ({ code, flags: pick(r, [0x80, 0xc0, 0xe0]), value: bytes(r, int(r, 0, 20)) }));
  }
  if (withMp && maybe(r)) {
    const nextHop = maybe(r) ? { kind: 'ipv6' as const, global: v6(r), linkLocal: v6(r) } : { kind: 'ipv6' as const, global: v6(r) };
    a.mpReach = { afi: 2, safi: 1, nextHop, nlri: nlriList(r, 6, ctx.addPath.has('2/1'), 20) };
  }
  if (withMp && maybe(r)) a.mpUnreach = { afi: 2, safi: 1, withdrawn: nlriList(r, 6, ctx.addPath.has('2/1'), 20) };
  return a;
}

function capabilities(r: Rng): Capability[] {
  const all: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'route-refresh' },
    { kind: 'enhanced-route-refresh' },
    { kind: 'extended-message' },
    { kind: 'four-octet-as', asn: u32(r) },
    { kind: 'graceful-restart', restarting: maybe(r), notification: maybe(r), restartTime: int(r, 0, 4095), families: [{ afi: 1, safi: 1, forwardingPreserved: maybe(r) }, { afi: 2, safi: 1, forwardingPreserved: maybe(r) }] },
    { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: maybe(r) }] },
    { kind: 'unknown', code: 73, value: bytes(r, int(r, 0, 30)) },
  ];
  return all.filter(() => maybe(r));
}

function message(r: Rng, ctx: CodecContext): BgpMessage {
  switch (int(r, 0, 5)) {
    case 0:
      return { type: 'OPEN', version: 4, myAs: r() & 0xffff, holdTime: pick(r, [0, 3, 90, 180, 65535]), bgpId: (u32(r) | 1) >>> 0, capabilities: capabilities(r) };
    case 1:
      return { type: 'KEEPALIVE' };
    case 2: {
      const data = bytes(r, int(r, 0, 12));
      return { type: 'NOTIFICATION', code: int(r, 1, 7), subcode: int(r, 0, 11), data };
    }
    case 3:
      return maybe(r) ? { type: 'ROUTE-REFRESH', afi: pick(r, [1, 2]), safi: 1, subtype: pick(r, [0, 1, 2]) } : { type: 'ROUTE-REFRESH', afi: 1, safi: 1, subtype: 0, data: bytes(r, int(r, 1, 10)) };
    default: {
      const addPath = ctx.addPath.has('1/1');
      const nlri = nlriList(r, 4, addPath, 30);
      let attrs = attributes(r, ctx, true);
      // Announcements need the well-known mandatory attributes (else RFC 7606 treat-as-withdraw).
      if (nlri.length > 0 || attrs.mpReach) attrs = { origin: 'igp', asPath: [], ...attrs, ...(nlri.length > 0 && !attrs.nextHop ? { nextHop: v4(r) } : {}) };
      return { type: 'UPDATE', withdrawn: nlriList(r, 4, addPath, 30), attributes: attrs, nlri };
    }
  }
}

function context(r: Rng): CodecContext {
  const addPath = new Set<`${number}/${number}`>();
  if (maybe(r)) addPath.add('1/1');
  if (maybe(r)) addPath.add('2/1');
  return { as4: maybe(r), addPath, extendedMessage: maybe(r) };
}

describe('codec round trip (seeded)', () => {
  it('2000 random messages decode to what was encoded, and re-encode to the same bytes', () => {
    const r = mulberry32(0x7b1);
    for (let i = 0; i < 2000; i++) {
      const ctx = context(r);
      const m = message(r, ctx);
      const wire = encodeMessage(m, ctx);
      const back = decodeMessage(wire, ctx);
      assert.deepEqual(back, m, `message ${i} (${m.type}, as4=${ctx.as4})`);
      assert.deepEqual(encodeMessage(back, ctx), wire, `message ${i} re-encodes`);
    }
  });

  it('any chunking of a stream frames back into the same messages', () => {
    const r = mulberry32(42);
    const ctx: CodecContext = { as4: true, addPath: new Set(), extendedMessage: false };
    const msgs = Array.from({ length: 300 }, () => encodeMessage(message(r, ctx), ctx));
    const stream = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
    let at = 0;
    for (const m of msgs) {
      stream.set(m, at);
      at += m.length;
    }
    for (let trial = 0; trial < 20; trial++) {
      const framer = new MessageFramer();
      const got: Uint8Array[] = [];
      for (let p = 0; p < stream.length; ) {
        const n = trial === 0 ? 1 : int(r, 1, 700);
        got.push(...framer.push(stream.slice(p, p + n)));
        p += n;
      }
      assert.equal(framer.pending, 0);
      assert.deepEqual(got.map((g) => Buffer.from(g).toString('hex')), msgs.map((m) => Buffer.from(m).toString('hex')), `trial ${trial}`);
    }
  });

  it('a 4-octet path sent to a 2-octet speaker reconciles back to itself (RFC 6793)', () => {
    const r = mulberry32(6793);
    const old: CodecContext = { as4: false, addPath: new Set(), extendedMessage: false };
    for (let i = 0; i < 300; i++) {
      const path = asPath(r, 0xffffffff).filter((s) => s.type === 'sequence' || s.type === 'set');
      // An AGGREGATOR holding a real 2-octet AS would make the receiver ignore AS4_PATH
      // (RFC 6793 §4.2.3), so the aggregator here is absent or 4-octet.
      const aggregator = maybe(r) ? { aggregator: { asn: 0x10000 + (u32(r) % 0xfffeffff), address: v4(r) } } : {};
      const m: UpdateMessage = { type: 'UPDATE', withdrawn: [], nlri: [{ prefix: prefix(r, 4) }], attributes: { origin: 'igp', asPath: path, nextHop: v4(r), ...aggregator } };
      const back = decodeMessage(encodeMessage(m, old), old);
      assert.ok(back.type === 'UPDATE' && !back.issues);
      const merged = reconcileAs4(back.attributes);
      assert.deepEqual(merged.asPath, path, `path ${i}`);
      assert.deepEqual(merged.aggregator, aggregator.aggregator, `aggregator ${i}`);
    }
  });
});

describe('packUpdates', () => {
  const cases: [string, CodecContext][] = [
    ['4096-octet messages', { as4: true, addPath: new Set(), extendedMessage: false }],
    ['65535-octet extended messages', { as4: true, addPath: new Set(), extendedMessage: true }],
    ['ADD-PATH for both families', { as4: true, addPath: new Set(['1/1', '2/1']), extendedMessage: false }],
  ];
  for (const [name, ctx] of cases) {
    it(`fills ${name} to the limit, every prefix once and in order`, () => {
      const r = mulberry32(name.length);
      const addPath = ctx.addPath.size > 0;
      const prefixes = [...nlriList(r, 4, addPath, 0), ...Array.from({ length: 20000 }, () => ({ prefix: prefix(r, 4), ...(addPath ? { pathId: u32(r) } : {}) }))];
      const v6list = Array.from({ length: 3000 }, () => ({ prefix: prefix(r, 6), ...(addPath ? { pathId: u32(r) } : {}) }));
      const attrs: PathAttributes = {
        origin: 'igp',
        asPath: [{ type: 'sequence', asns: [65001, 65002] }],
        nextHop: v4(r),
        localPref: 100,
        communities: [1, 2, 3],
        mpReach: { afi: 2, safi: 1, nextHop: { kind: 'ipv6', global: v6(r), linkLocal: v6(r) }, nlri: [] },
      };
      const all = [...prefixes, ...v6list];
      const msgs = packUpdates(attrs, all, ctx);
      const max = ctx.extendedMessage ? 65535 : 4096;
      const got: Nlri[] = [];
      msgs.forEach((wire, i) => {
        assert.ok(wire.length <= max, `message ${i} is ${wire.length} octets`);
        const m = decodeMessage(wire, ctx);
        assert.ok(m.type === 'UPDATE' && !m.issues, `message ${i} decodes cleanly`);
        assert.equal(m.attributes.localPref, 100);
        const routes = updateRoutes(m).announce.flatMap((f) => f.nlri);
        got.push(...routes);
        // Full: the next prefix of the same family would not have fitted.
        const next = all[got.length];
        const sameFamily = next && next.prefix.family === routes[0]!.prefix.family;
        if (i < msgs.length - 1 && sameFamily) assert.ok(wire.length + prefixSize(next, addPath) > max, `message ${i} (${wire.length} octets) had room for the next prefix`);
      });
      assert.deepEqual(got, all);
      const min = ctx.extendedMessage ? 2 : 20;
      assert.ok(msgs.length >= min, `${msgs.length} messages`);
    });
  }

  it('withdrawals pack the same way', () => {
    const r = mulberry32(9);
    const ctx: CodecContext = { as4: true, addPath: new Set(), extendedMessage: false };
    const all = [...Array.from({ length: 5000 }, () => ({ prefix: prefix(r, 4) })), ...Array.from({ length: 800 }, () => ({ prefix: prefix(r, 6) }))];
    const msgs = packWithdrawals(all, ctx);
    const got = msgs.flatMap((w) => {
      assert.ok(w.length <= 4096);
      const m = decodeMessage(w, ctx);
      assert.ok(m.type === 'UPDATE');
      return updateRoutes(m).withdraw.flatMap((f) => f.nlri);
    });
    assert.deepEqual(got, all);
  });

  it('refuses IPv4 prefixes without a next hop, and IPv6 without MP_REACH_NLRI', () => {
    const ctx: CodecContext = { as4: true, addPath: new Set(), extendedMessage: false };
    assert.throws(() => packUpdates({ origin: 'igp', asPath: [] }, [{ prefix: { family: 4, base: 0n, prefix: 0 } }], ctx), /nextHop/);
    assert.throws(() => packUpdates({ origin: 'igp', asPath: [] }, [{ prefix: { family: 6, base: 0n, prefix: 0 } }], ctx), /mpReach/);
  });
});
