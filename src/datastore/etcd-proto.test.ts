// etcd's protobuf messages and the generic wire codec under them: golden bytes worked out by
// hand from the protobuf encoding spec and etcd's field numbers, round trips of every message
// Tabby sends or reads, and malformed input (truncated, garbage) that must fail cleanly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../util/index.js';
import {
  CompareCodec,
  CompareResult,
  CompareTarget,
  DeleteRangeRequestCodec,
  DeleteRangeResponseCodec,
  EventType,
  KeyValueCodec,
  PutRequestCodec,
  PutResponseCodec,
  RangeRequestCodec,
  RangeResponseCodec,
  StatusResponseCodec,
  TxnRequestCodec,
  TxnResponseCodec,
  WatchRequestCodec,
  WatchResponseCodec,
} from './etcd-proto.js';
import { ProtoDecodeError } from './protobuf.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'utf8'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)/g, '$1 ').trim();

const kv = (key: string, value: string, createRevision: number, modRevision: number) => ({
  key: bytes(key),
  createRevision,
  modRevision,
  version: 1,
  value: bytes(value),
  lease: 0,
});

describe('etcd protobuf messages: golden bytes', () => {
  it('encodes PutRequest{key "foo", value "bar", prev_kv} as the spec says', () => {
    // field 1 (key), wire 2: 0a 03 "foo"; field 2 (value), wire 2: 12 03 "bar"; field 4 (prev_kv), wire 0: 20 01
    assert.equal(toHex(PutRequestCodec.encode({ key: bytes('foo'), value: bytes('bar'), prevKv: true })), '0a 03 66 6f 6f 12 03 62 61 72 20 01');
  });

  it('sends a value given as text as the UTF-8 bytes of the text', () => {
    const big = `{"n":"${'x'.repeat(300)}"}`; // a length that takes a two-byte varint
    for (const [text, value] of [
      ['bar', 'bar'],
      ['ünï ✓', 'ünï ✓'],
      [big, big],
    ] as const) {
      const expected = PutRequestCodec.encode({ key: bytes('foo'), value: bytes(text), prevKv: true });
      assert.deepEqual(PutRequestCodec.encode({ key: bytes('foo'), value, prevKv: true }), expected, JSON.stringify(value));
      // Framed in place: the 5-byte gRPC prefix, then the same message.
      const framed = PutRequestCodec.frame({ key: bytes('foo'), value, prevKv: true });
      assert.deepEqual(framed.subarray(5), expected);
      assert.deepEqual([...framed.subarray(0, 5)], [0, 0, 0, expected.length >> 8, expected.length & 0xff]);
    }
  });

  it('encodes a Compare with a multi-byte varint and field 64 (two-byte tag)', () => {
    // result EQUAL (0) omitted; target MOD: 10 02; key: 1a 01 "k"; mod_revision 300 = ac 02 under tag 30;
    // range_end is field 64: tag 64<<3|2 = 514 = 82 04, then 01 "z".
    const c = { result: CompareResult.EQUAL, target: CompareTarget.MOD, key: bytes('k'), modRevision: 300, rangeEnd: bytes('z') };
    assert.equal(toHex(CompareCodec.encode(c)), '10 02 1a 01 6b 30 ac 02 82 04 01 7a');
  });

  it('writes a oneof member at zero (create_revision == 0), which plain proto3 scalars omit', () => {
    const c = { result: CompareResult.EQUAL, target: CompareTarget.CREATE, key: bytes('k'), createRevision: 0 };
    assert.equal(toHex(CompareCodec.encode(c)), '10 01 1a 01 6b 28 00');
    assert.deepEqual(CompareCodec.decode(hex('10 01 1a 01 6b 28 00')), { result: 0, target: 1, key: bytes('k'), createRevision: 0, rangeEnd: new Uint8Array(0) });
  });

  it('decodes a hand-made RangeResponse, skipping a uint64 cluster id and unknown fixed fields', () => {
    const wire = hex(`
      0a 0d  08 ff ff ff ff ff ff ff ff ff 01  18 05
      12 0a  0a 01 61  10 02  18 03  2a 01 31
      18 01
      20 01
      7d 01 02 03 04
      81 01 01 02 03 04 05 06 07 08`);
    const res = RangeResponseCodec.decode(wire);
    assert.deepEqual(res, {
      header: { revision: 5 },
      kvs: [{ key: bytes('a'), createRevision: 2, modRevision: 3, version: 0, value: bytes('1'), lease: 0 }],
      more: true,
      count: 1,
    });
  });
});

describe('etcd protobuf messages: round trips', () => {
  const big = 'x'.repeat(11_000);
  const cases: [string, { encode(m: never): Uint8Array; decode(b: Uint8Array): unknown }, object][] = [
    ['RangeRequest', RangeRequestCodec, { key: bytes('/a/'), rangeEnd: bytes('/a0'), limit: 1000, revision: 2 ** 40, serializable: false, keysOnly: true, countOnly: false }],
    ['RangeResponse', RangeResponseCodec, { header: { revision: 9 }, kvs: [kv('/a/1', '{"n":1}', 3, 4), kv('/a/2', big, 5, 9)], more: false, count: 2 }],
    ['PutRequest', PutRequestCodec, { key: bytes('/k'), value: bytes(big), prevKv: true }],
    ['PutResponse', PutResponseCodec, { header: { revision: 10 }, prevKv: kv('/k', '1', 2, 3) }],
    ['DeleteRangeRequest', DeleteRangeRequestCodec, { key: bytes('/k'), rangeEnd: new Uint8Array(0), prevKv: true }],
    ['DeleteRangeResponse', DeleteRangeResponseCodec, { header: { revision: 11 }, deleted: 1, prevKvs: [kv('/k', 'ü', 2, 3)] }],
    [
      'TxnRequest',
      TxnRequestCodec,
      {
        compare: [
          { result: CompareResult.EQUAL, target: CompareTarget.CREATE, key: bytes('/a'), createRevision: 0, rangeEnd: new Uint8Array(0) },
          { result: CompareResult.GREATER, target: CompareTarget.MOD, key: bytes('/b'), modRevision: 7, rangeEnd: new Uint8Array(0) },
        ],
        success: [
          { requestPut: { key: bytes('/a'), value: bytes(big), prevKv: true } },
          { requestDeleteRange: { key: bytes('/b'), rangeEnd: new Uint8Array(0), prevKv: true } },
        ],
        failure: [{ requestRange: { key: bytes('/a'), rangeEnd: new Uint8Array(0), limit: 0, revision: 0, serializable: false, keysOnly: true, countOnly: false } }],
      },
    ],
    [
      'TxnResponse',
      TxnResponseCodec,
      {
        header: { revision: 12 },
        succeeded: true,
        responses: [{ responsePut: { header: { revision: 12 }, prevKv: kv('/a', '0', 1, 1) } }, { responseDeleteRange: { header: { revision: 12 }, deleted: 1, prevKvs: [] } }, { responseRange: { kvs: [], more: false, count: 0 } }],
      },
    ],
    ['WatchRequest create', WatchRequestCodec, { createRequest: { key: bytes('/p/'), rangeEnd: bytes('/p0'), startRevision: 42, progressNotify: true, prevKv: true, fragment: false } }],
    ['WatchRequest cancel', WatchRequestCodec, { cancelRequest: { watchId: 0 } }],
    [
      'WatchResponse',
      WatchResponseCodec,
      {
        header: { revision: 50 },
        watchId: 3,
        created: false,
        canceled: true,
        compactRevision: 40,
        cancelReason: 'mvcc: required revision has been compacted ✓',
        fragment: false,
        events: [
          { type: EventType.PUT, kv: kv('/p/a', '2', 1, 45), prevKv: kv('/p/a', '1', 1, 44) },
          { type: EventType.DELETE, kv: { ...kv('/p/b', '', 0, 46), version: 0 } },
        ],
      },
    ],
    ['StatusResponse', StatusResponseCodec, { header: { revision: 7 }, version: '3.4.30', dbSize: 20480 }],
  ];
  for (const [name, codec, msg] of cases) {
    it(`${name} decodes to what was encoded`, () => {
      assert.deepEqual(codec.decode(codec.encode(msg as never)), msg);
    });
  }

  it('int64 values up to 2^53 - 1 survive; 2^53 and negative values are refused, not rounded', () => {
    const max = Number.MAX_SAFE_INTEGER;
    assert.equal(KeyValueCodec.decode(KeyValueCodec.encode({ ...kv('/k', '', 1, max) })).modRevision, max);
    // mod_revision (field 3) = 2^53 = 16·2^49: 18, then seven 80s (7 zero groups of 7 bits), then 10
    assert.throws(() => KeyValueCodec.decode(hex('18 80 80 80 80 80 80 80 10')), /cannot decode KeyValue\.modRevision at byte 1: integer 9007199254740992 is beyond 2\^53/);
    // -1 as int64 on the wire: ten bytes, ff x9 01
    assert.throws(() => KeyValueCodec.decode(hex('18 ff ff ff ff ff ff ff ff ff 01')), /beyond 2\^53 \(or negative\)/);
    assert.throws(() => KeyValueCodec.encode({ ...kv('/k', '', 1, -1) }), /cannot encode -1 as a protobuf varint/);
  });
});

describe('etcd protobuf messages: malformed input', () => {
  it('names the message, the byte offset and what is wrong', () => {
    assert.throws(() => KeyValueCodec.decode(hex('10 80')), /cannot decode KeyValue\.createRevision at byte 1: varint runs past the end/);
    assert.throws(() => KeyValueCodec.decode(hex('0a 05 61')), /cannot decode KeyValue\.key at byte 1: length 5 runs past the end of the message \(1 bytes left\)/);
    assert.throws(() => KeyValueCodec.decode(hex('08 01')), /cannot decode KeyValue at byte 0: field 1 \(key\) has wire type 0, expected 2/);
    assert.throws(() => KeyValueCodec.decode(hex('0b')), /field 1 \(key\) has wire type 3/);
    assert.throws(() => KeyValueCodec.decode(hex('7b')), /cannot decode KeyValue at byte 0: field 15 has wire type 3, which proto3 does not use/);
    assert.throws(() => KeyValueCodec.decode(hex('00')), /field number 0 is not allowed/);
    assert.throws(() => KeyValueCodec.decode(hex('7d 01 02')), /fixed32 field runs past the end/);
    assert.throws(() => KeyValueCodec.decode(hex('18 80 80 80 80 80 80 80 80 80 80 01')), /varint longer than 10 bytes/);
    // An error deep inside nested messages reports the absolute offset.
    assert.throws(() => RangeResponseCodec.decode(hex('12 04 0a 05 61 62')), /cannot decode KeyValue\.key at byte 3: length 5 runs past the end of the message \(2 bytes left\)/);
  });

  it('every truncation of a valid message either decodes or throws a ProtoDecodeError', () => {
    const full = TxnResponseCodec.encode({
      header: { revision: 12 },
      succeeded: false,
      responses: [{ responseRange: { header: { revision: 12 }, kvs: [kv('/a', '{"big":"' + 'y'.repeat(300) + '"}', 1, 2)], more: false, count: 1 } }],
    });
    let failed = 0;
    for (let n = 0; n < full.length; n++) {
      try {
        TxnResponseCodec.decode(full.subarray(0, n));
      } catch (err) {
        assert.ok(err instanceof ProtoDecodeError, `prefix of ${n} bytes: ${String(err)}`);
        failed++;
      }
    }
    assert.ok(failed > full.length / 2, 'most truncations are caught');
  });

  it('random garbage either decodes or throws a ProtoDecodeError, and always terminates', () => {
    const next = mulberry32(20240611);
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const buf = Uint8Array.from({ length: 1 + (next() % 64) }, () => next() & 0xff);
      for (const codec of [WatchResponseCodec, TxnResponseCodec, RangeResponseCodec]) {
        try {
          codec.decode(buf);
        } catch (err) {
          assert.ok(err instanceof ProtoDecodeError, `garbage ${toHex(buf)}: ${String(err)}`);
          errors++;
        }
      }
    }
    assert.ok(errors > 0);
  });
});
