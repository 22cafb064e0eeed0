// The mapping between Datastore ops/pairs and etcd's messages, gRPC wire details, gRPC error
// mapping, and the retry timing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';
import { compareFor, decodeKv, decodeWatchEvents, keyAfter, lazyPair, parseValue, prefixRange, valueJson } from './etcd-codec.js';
import { CompareResult, CompareTarget, EventType } from './etcd-proto.js';
import { EtcdUnavailableError, grpcError } from './etcd-transport.js';
import { Deframer, GrpcFramingError, decodeGrpcMessage, frame, grpcTimeout } from './grpc-wire.js';

const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'utf8'));
const kv = (key: string, value: string, createRevision: number, modRevision: number) => ({ key: bytes(key), createRevision, modRevision, version: 1, value: bytes(value), lease: 0 });

describe('etcd codec', () => {
  it('computes the range of a prefix by incrementing its last byte below 0xff', () => {
    assert.deepEqual(prefixRange('/calico/'), { key: Buffer.from('/calico/'), rangeEnd: bytes('/calico0') });
    assert.deepEqual(prefixRange('a\u00ff').rangeEnd, Uint8Array.from([0x61, 0xc3, 0xc0])); // ÿ is c3 bf in UTF-8
    assert.deepEqual(prefixRange(''), { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
  });

  it('continues a paged range just after the last key', () => {
    assert.deepEqual(keyAfter(bytes('/k1')), bytes('/k1\0'));
  });

  it('stores values as JSON text and keeps foreign text as text', () => {
    const v = { a: [1, 'x', null, { b: true }] };
    assert.deepEqual(parseValue(valueJson(v, '/k')), v);
    assert.equal(parseValue('info'), 'info');
    assert.equal(parseValue(''), '');
    assert.throws(() => valueJson(undefined as never, '/k'), /value for key \/k is not JSON-serialisable/);
    assert.deepEqual(decodeKv(kv('/ns/é', '{"n":1}', 7, 9)), { key: '/ns/é', value: { n: 1 }, revision: 9, createRevision: 7 });
  });

  it('parses a written pair lazily, once, into a plain object equal to what a read returns', () => {
    const pair = lazyPair('/k', '{"spec":{"n":1}}', 5, 4);
    assert.deepEqual(pair, { key: '/k', value: { spec: { n: 1 } }, revision: 5, createRevision: 4 });
    assert.equal(pair.value, pair.value, 'parsed once and cached');
    assert.equal(Object.getPrototypeOf(pair), Object.prototype);
    assert.equal(JSON.stringify(pair), '{"key":"/k","value":{"spec":{"n":1}},"revision":5,"createRevision":4}');
  });

  it('states each op as the etcd compare Calico uses', () => {
    const k = bytes('/k');
    assert.deepEqual(compareFor({ op: 'create', key: '/k', value: 1 }, k), { key: k, target: CompareTarget.CREATE, result: CompareResult.EQUAL, createRevision: 0 });
    assert.deepEqual(compareFor({ op: 'update', key: '/k', value: 1, revision: 12 }, k), { key: k, target: CompareTarget.MOD, result: CompareResult.EQUAL, modRevision: 12 });
    assert.deepEqual(compareFor({ op: 'delete', key: '/k' }, k), { key: k, target: CompareTarget.CREATE, result: CompareResult.GREATER, createRevision: 0 });
    assert.equal(compareFor({ op: 'put', key: '/k', value: 1 }, k), undefined);
  });

  it('decodes watch events: a DELETE carries its revision and the previous pair', () => {
    const events = decodeWatchEvents([
      { type: EventType.PUT, kv: kv('/a', '2', 5, 6), prevKv: kv('/a', '1', 5, 5) },
      { type: EventType.DELETE, kv: kv('/a', '', 0, 7) },
    ]);
    assert.deepEqual(events, [
      { type: 'put', kv: { key: '/a', value: 2, revision: 6, createRevision: 5 }, prev: { key: '/a', value: 1, revision: 5, createRevision: 5 } },
      { type: 'delete', key: '/a', revision: 7 },
    ]);
  });
});

describe('gRPC wire', () => {
  it('frames a message behind a zero flag and a big-endian length', () => {
    assert.deepEqual(frame(bytes('hi')), Uint8Array.from([0, 0, 0, 0, 2, 0x68, 0x69]));
    assert.deepEqual(frame(new Uint8Array(70_000)).subarray(0, 5), Uint8Array.from([0, 0, 1, 0x11, 0x70]));
  });

  it('splits a byte stream into messages whatever the chunk boundaries', () => {
    const stream = Buffer.concat([frame(bytes('one')), frame(new Uint8Array(0)), frame(bytes('x'.repeat(1000)))]);
    for (const size of [1, 2, 5, 7, 333, stream.length]) {
      const d = new Deframer();
      const got: string[] = [];
      for (let i = 0; i < stream.length; i += size) for (const m of d.push(stream.subarray(i, i + size))) got.push(Buffer.from(m).toString());
      assert.deepEqual(got, ['one', '', 'x'.repeat(1000)], `chunks of ${size}`);
      assert.equal(d.pending, 0);
    }
  });

  it('refuses compressed frames and frames over the limit before buffering them', () => {
    assert.throws(() => new Deframer().push(Uint8Array.from([1, 0, 0, 0, 1, 0])), GrpcFramingError);
    assert.throws(() => new Deframer(100).push(Uint8Array.from([0, 0, 0, 0, 101])), /gRPC message of 101 bytes is over the 100-byte limit/);
  });

  it('writes grpc-timeout in at most 8 digits and percent-decodes grpc-message', () => {
    assert.equal(grpcTimeout(10_000), '10000m');
    assert.equal(grpcTimeout(100_000_000), '100000S');
    assert.equal(decodeGrpcMessage('etcdserver: request is too large'), 'etcdserver: request is too large');
    assert.equal(decodeGrpcMessage('caf%C3%A9 100%25 %zz'), 'café 100% %zz');
  });
});

describe('backoffDelay', () => {
  it('doubles from the minimum, caps at the maximum, and jitters by half either way', () => {
    const opts = { minMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(0, opts, () => 0.5), 100);
    assert.equal(backoffDelay(2, opts, () => 0.5), 400);
    assert.equal(backoffDelay(10, opts, () => 0.5), 1000);
    assert.equal(backoffDelay(10, opts, () => 0), 500);
    assert.equal(backoffDelay(10, opts, () => 0.999), 1499);
    assert.equal(backoffDelay(5000, opts, () => 0.5), 1000);
  });
});

describe('grpcError', () => {
  it('maps etcd gRPC statuses to Datastore error codes, keeping the endpoint and the message', () => {
    const compacted = grpcError('http://e:2379', '/etcdserverpb.KV/Range', 11, 'etcdserver: mvcc: required revision has been compacted');
    assert.equal(compacted.code, 'Compacted');
    assert.match(compacted.message, /^etcd at http:\/\/e:2379 failed \/etcdserverpb\.KV\/Range \(gRPC status 11 OUT_OF_RANGE\): etcdserver: mvcc/);
    assert.equal(grpcError('h', '/p', 3, 'etcdserver: request is too large').code, 'TooLarge');
    assert.equal(grpcError('h', '/p', 3, 'etcdserver: too many operations in txn request').code, 'TooLarge');
    assert.equal(grpcError('h', '/p', 8, 'grpc: received message larger than max (2621450 vs. 2097152)').code, 'TooLarge');
    assert.equal(grpcError('h', '/p', 3, 'etcdserver: duplicate key given in txn request').code, 'Invalid');
    assert.equal(grpcError('h', '/p', 12, 'unknown method').code, 'Invalid');
    for (const [status, message] of [[14, 'etcdserver: no leader'], [4, 'context deadline exceeded'], [14, 'etcdserver: server stopped']] as const) {
      const err = grpcError('http://e:2379', '/p', status, message);
      assert.ok(err instanceof EtcdUnavailableError, message);
      assert.equal(err.endpoint, 'http://e:2379');
    }
  });
});
