// Pure encoding to and from etcd's JSON gateway, and the retry timing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';
import { EtcdUnavailableError, gatewayError } from './etcd-transport.js';
import { compareFor, decodeKv, decodeValue, decodeWatchEvents, encodeKey, encodeValue, keyAfter, prefixRangeEnd } from './etcd-codec.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');

describe('etcd gateway codec', () => {
  it('computes the range end of a prefix by incrementing its last byte below 0xff', () => {
    assert.equal(unb64(prefixRangeEnd('/calico/')).toString(), '/calico0');
    assert.deepEqual(unb64(prefixRangeEnd('a\u00ff')), Buffer.from([0x61, 0xc3, 0xc0])); // ÿ is c3 bf in UTF-8
    assert.deepEqual(unb64(prefixRangeEnd('')), Buffer.from([0]));
  });

  it('continues a paged range just after the last key', () => {
    assert.deepEqual(unb64(keyAfter(b64('/k1'))), Buffer.from('/k1\0'));
  });

  it('round-trips keys and JSON values through base64, and keeps foreign text as text', () => {
    assert.equal(unb64(encodeKey('/ns/é')).toString(), '/ns/é');
    const v = { a: [1, 'x', null, { b: true }] };
    assert.deepEqual(decodeValue(encodeValue(v, '/k')), v);
    assert.equal(decodeValue(b64('info')), 'info');
    assert.equal(decodeValue(undefined), '');
    assert.throws(() => encodeValue(undefined as never, '/k'), /value for key \/k is not JSON-serialisable/);
  });

  it('reads int64 strings and omitted zero fields', () => {
    assert.deepEqual(decodeKv({ key: b64('/a'), value: b64('1'), create_revision: '7', mod_revision: '9' }), { key: '/a', value: 1, revision: 9, createRevision: 7 });
  });

  it('states each op as the etcd compare Calico uses', () => {
    assert.deepEqual(compareFor({ op: 'create', key: '/k', value: 1 }), { key: b64('/k'), target: 'CREATE', result: 'EQUAL', create_revision: '0' });
    assert.deepEqual(compareFor({ op: 'update', key: '/k', value: 1, revision: 12 }), { key: b64('/k'), target: 'MOD', result: 'EQUAL', mod_revision: '12' });
    assert.deepEqual(compareFor({ op: 'delete', key: '/k' }), { key: b64('/k'), target: 'CREATE', result: 'GREATER', create_revision: '0' });
    assert.equal(compareFor({ op: 'put', key: '/k', value: 1 }), undefined);
  });

  it('decodes watch events: a PUT has no type field, a DELETE carries its revision', () => {
    const events = decodeWatchEvents({
      events: [
        { kv: { key: b64('/a'), value: b64('2'), create_revision: '5', mod_revision: '6' }, prev_kv: { key: b64('/a'), value: b64('1'), create_revision: '5', mod_revision: '5' } },
        { type: 'DELETE', kv: { key: b64('/a'), mod_revision: '7' } },
      ],
    });
    assert.deepEqual(events, [
      { type: 'put', kv: { key: '/a', value: 2, revision: 6, createRevision: 5 }, prev: { key: '/a', value: 1, revision: 5, createRevision: 5 } },
      { type: 'delete', key: '/a', revision: 7 },
    ]);
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

describe('gatewayError', () => {
  it('maps etcd answers to Datastore error codes, keeping the endpoint and the message', () => {
    const err = (code: number, message: string) => JSON.stringify({ error: message, message, code });
    const compacted = gatewayError('http://e:2379', '/v3/kv/range', 400, err(11, 'etcdserver: mvcc: required revision has been compacted'));
    assert.equal(compacted.code, 'Compacted');
    assert.match(compacted.message, /^etcd at http:\/\/e:2379 failed \/v3\/kv\/range \(HTTP 400, gRPC code 11\): etcdserver: mvcc/);
    assert.equal(gatewayError('h', '/p', 400, err(3, 'etcdserver: request is too large')).code, 'TooLarge');
    assert.equal(gatewayError('h', '/p', 400, err(3, 'etcdserver: too many operations in txn request')).code, 'TooLarge');
    assert.equal(gatewayError('h', '/p', 400, err(3, 'etcdserver: duplicate key given in txn request')).code, 'Invalid');
    assert.equal(gatewayError('h', '/p', 404, 'Not Found').code, 'Invalid');
    const noLeader = gatewayError('http://e:2379', '/p', 503, err(14, 'etcdserver: no leader'));
    assert.ok(noLeader instanceof EtcdUnavailableError);
    assert.equal(noLeader.endpoint, 'http://e:2379');
  });
});
