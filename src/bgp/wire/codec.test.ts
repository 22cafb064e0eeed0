// Behaviours beyond the vectors: negotiation, forwarding rules, encoder limits, RFC 9072 long
// OPENs, shutdown text, path helpers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR, parseIP } from '../../ip/index.js';
import {
  ATTR_FLAG,
  BgpDecodeError,
  BgpEncodeError,
  MessageFramer,
  decodeMessage,
  encodeMessage,
  endOfRib,
  endOfRibMessage,
  negotiate,
  notificationName,
  openAsn,
  prependAsn,
  prepareForForwarding,
  shutdownNotification,
  toHex,
  twoOctetAs,
  type CodecContext,
  type OpenMessage,
} from './index.js';

const ctx: CodecContext = { as4: true, addPath: new Set(), extendedMessage: false };

function open(caps: OpenMessage['capabilities'], asn = 65001): OpenMessage {
  return { type: 'OPEN', version: 4, myAs: twoOctetAs(asn), holdTime: 90, bgpId: 0xc6120001, capabilities: [{ kind: 'four-octet-as', asn }, ...caps] };
}

describe('OPEN negotiation', () => {
  it('ADD-PATH is per direction, 4-octet AS and extended messages need both sides', () => {
    const local = open([{ kind: 'extended-message' }, { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: true }, { afi: 2, safi: 1, send: false, receive: true }] }], 4200000001);
    const remote = open([{ kind: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: true }, { afi: 2, safi: 1, send: true, receive: false }] }]);
    const { rx, tx } = negotiate(local, remote, { external: true });
    assert.deepEqual([...rx.addPath], ['2/1']);
    assert.deepEqual([...tx.addPath], ['1/1']);
    assert.equal(rx.as4, true);
    assert.equal(rx.extendedMessage, false);
    assert.equal(rx.external, true);
    assert.equal(openAsn(local), 4200000001);
    assert.equal(local.myAs, 23456);
    const old = { ...remote, capabilities: [] };
    assert.equal(negotiate(local, old).rx.as4, false);
  });

  it('an OPEN whose parameters exceed 255 octets uses the RFC 9072 extended length and decodes back', () => {
    const caps = Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol' as const, afi: 1, safi: i + 1 }));
    const m = open(caps);
    const wire = encodeMessage(m, ctx);
    assert.equal(wire[28], 255);
    assert.equal(wire[29], 255);
    const back = decodeMessage(wire, ctx);
    assert.ok(back.type === 'OPEN');
    assert.deepEqual(back.capabilities, m.capabilities);
    assert.deepEqual(encodeMessage(back, ctx), wire);
  });
});

describe('forwarding and encoding rules', () => {
  it('unknown transitive attributes are passed on with Partial set; non-transitive ones are dropped', () => {
    const out = prepareForForwarding({
      origin: 'igp',
      unknown: [
        { code: 200, flags: ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE, value: new Uint8Array([1]) },
        { code: 201, flags: ATTR_FLAG.OPTIONAL, value: new Uint8Array([2]) },
      ],
      layout: { order: [201, 200, 1], flags: new Map() },
    });
    assert.deepEqual(out, { origin: 'igp', unknown: [{ code: 200, flags: 0xe0, value: new Uint8Array([1]) }] });
    const wire = encodeMessage({ type: 'UPDATE', withdrawn: [], nlri: [], attributes: out }, ctx);
    assert.equal(toHex(wire.subarray(23)), '400101' + '00' + 'e0c80101');
  });

  it('MP_REACH_NLRI is written first, then attributes by type code', () => {
    const wire = encodeMessage(
      {
        type: 'UPDATE',
        withdrawn: [],
        nlri: [],
        attributes: { localPref: 5, origin: 'igp', asPath: [], mpReach: { afi: 2, safi: 1, nextHop: { kind: 'ipv6', global: parseIP('2001:db8::1') }, nlri: [{ prefix: parseCIDR('2001:db8:1::/48') }] } },
      },
      ctx,
    );
    const codes: number[] = [];
    for (let p = 23; p < wire.length; ) {
      codes.push(wire[p + 1]!);
      p += 3 + wire[p + 2]!;
    }
    assert.deepEqual(codes, [14, 1, 2, 5]);
  });

  it('a message over the size limit is refused, and allowed once extended messages are negotiated', () => {
    const nlri = Array.from({ length: 1100 }, (_, i) => ({ prefix: { family: 4 as const, base: BigInt(i) << 8n, prefix: 24 } }));
    const m = { type: 'UPDATE' as const, withdrawn: [], nlri, attributes: { origin: 'igp' as const, asPath: [], nextHop: parseIP('198.18.0.1') } };
    assert.throws(() => encodeMessage(m, ctx), (e: unknown) => e instanceof BgpEncodeError && /4096/.test(e.message));
    const big = encodeMessage(m, { ...ctx, extendedMessage: true });
    assert.ok(big.length > 4096);
    assert.throws(() => new MessageFramer().push(big), (e: unknown) => e instanceof BgpDecodeError && e.notification.subcode === 2);
    const framer = new MessageFramer();
    framer.extendedMessage = true;
    assert.equal(framer.push(big).length, 1);
  });

  it('values out of range are encode errors naming the field', () => {
    assert.throws(() => encodeMessage({ type: 'UPDATE', withdrawn: [], nlri: [], attributes: { med: -1 } }, ctx), /MULTI_EXIT_DISC/);
    assert.throws(() => encodeMessage({ type: 'UPDATE', withdrawn: [], nlri: [], attributes: { nextHop: parseIP('::1') } }, ctx), /NEXT_HOP/);
    assert.throws(() => encodeMessage({ ...open([]), holdTime: 2 }, ctx), /hold time/);
    assert.throws(() => encodeMessage({ type: 'UPDATE', withdrawn: [{ prefix: parseCIDR('2001:db8::/32') }], nlri: [], attributes: {} }, ctx), /IPv6/);
  });
});

describe('NOTIFICATION, End-of-RIB, AS paths', () => {
  it('shutdown communication round trip and names', () => {
    const n = shutdownNotification('maintenance: back at 05:00 — über');
    const back = decodeMessage(encodeMessage(n, ctx), ctx);
    assert.ok(back.type === 'NOTIFICATION');
    assert.equal(back.shutdownCommunication, 'maintenance: back at 05:00 — über');
    assert.equal(notificationName(6, 2), 'Cease / Administrative Shutdown');
    assert.equal(notificationName(3, 0), 'UPDATE Message Error / Unspecific');
    assert.throws(() => encodeMessage(shutdownNotification('x'.repeat(256)), ctx), /255/);
  });

  it('End-of-RIB markers round trip and are recognised', () => {
    for (const fam of [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]) {
      const back = decodeMessage(encodeMessage(endOfRibMessage(fam), ctx), ctx);
      assert.ok(back.type === 'UPDATE');
      assert.deepEqual(endOfRib(back), fam);
    }
  });

  it('prepend joins the leading sequence until it is full', () => {
    assert.deepEqual(prependAsn([{ type: 'sequence', asns: [2] }], 1, 2), [{ type: 'sequence', asns: [1, 1, 2] }]);
    assert.deepEqual(prependAsn([{ type: 'set', asns: [2, 3] }], 1), [{ type: 'sequence', asns: [1] }, { type: 'set', asns: [2, 3] }]);
    const full = prependAsn([{ type: 'sequence', asns: Array(255).fill(7) }], 1);
    assert.equal(full.length, 2);
  });
});
