// The mapping between the Datastore contract and etcd v3's messages (etcd-proto.ts): keys and
// values as bytes, ops as Compare/RequestOp, KeyValues and Events as KVPairs and WatchEvents.
//
// Values are JSON documents stored as UTF-8 JSON text. A value some other tool wrote that is not
// JSON comes back as its raw text (a string), so one foreign key can never break a list or a
// watch. A pair we wrote ourselves (put/txn results) parses its value from the text we sent only
// when first read: the value "as a later read returns it", at no cost to callers that never look.

import type { JsonValue, KVPair, TxnOp, WatchEvent } from './datastore.js';
import { type Compare, CompareResult, CompareTarget, type Event, EventType, type KeyValue, type RequestOp } from './etcd-proto.js';

export const keyBytes = (key: string): Buffer => Buffer.from(key, 'utf8');

/** UTF-8 text of a byte view, without copying it first. */
export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** The JSON text of a value; throws a TypeError naming the key if it has none. */
export function valueJson(value: JsonValue, key: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`value for key ${key} is not JSON-serialisable`);
  return text;
}

export function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

export function decodeKv(kv: KeyValue): KVPair {
  return { key: utf8(kv.key), value: parseValue(utf8(kv.value)), revision: kv.modRevision, createRevision: kv.createRevision };
}

/** A pair whose value is parsed from `json` on first access (then cached); a plain object. */
export function lazyPair(key: string, json: string, revision: number, createRevision: number): KVPair {
  let parsed = false;
  let value: JsonValue = null;
  return {
    key,
    get value(): JsonValue {
      if (!parsed) {
        value = parseValue(json);
        parsed = true;
      }
      return value;
    },
    revision,
    createRevision,
  };
}

/**
 * The range that selects every key starting with `prefix`: [key, rangeEnd), where rangeEnd is
 * the prefix with its last byte below 0xff incremented (etcd's "prefix end"). An empty prefix
 * means every key: key "\0", range end "\0" (etcd rejects an empty key).
 */
export function prefixRange(prefix: string): { key: Uint8Array; rangeEnd: Uint8Array } {
  const bytes = keyBytes(prefix);
  if (bytes.length === 0) return { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Uint8Array.from(bytes.subarray(0, i + 1));
      end[i]! += 1;
      return { key: bytes, rangeEnd: end };
    }
  }
  return { key: bytes, rangeEnd: Uint8Array.of(0) };
}

/** The smallest key after `key` in byte order: where the next page of a range starts. */
export function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** etcd's Compare for the condition an op carries, if any (the conditions Calico uses). */
export function compareFor(op: TxnOp, key: Uint8Array): Compare | undefined {
  switch (op.op) {
    case 'create':
      return { key, target: CompareTarget.CREATE, result: CompareResult.EQUAL, createRevision: 0 };
    case 'update':
      return { key, target: CompareTarget.MOD, result: CompareResult.EQUAL, modRevision: op.revision };
    case 'delete':
      return op.revision === undefined
        ? { key, target: CompareTarget.CREATE, result: CompareResult.GREATER, createRevision: 0 }
        : { key, target: CompareTarget.MOD, result: CompareResult.EQUAL, modRevision: op.revision };
    case 'put':
      return undefined;
  }
}

/** etcd's RequestOp performing an op; `text` is the value's JSON text (not used for delete). */
export function requestFor(op: TxnOp, key: Uint8Array, json: string | undefined, prevKv = true): RequestOp {
  if (op.op === 'delete' || json === undefined) return { requestDeleteRange: { key, prevKv: true } };
  return { requestPut: { key, value: json, prevKv } };
}

export function decodeWatchEvents(events: readonly Event[]): WatchEvent[] {
  return events.map((e): WatchEvent => {
    const kv = e.kv ? decodeKv(e.kv) : { key: '', value: '', revision: 0, createRevision: 0 };
    const prev = e.prevKv ? decodeKv(e.prevKv) : undefined;
    if (e.type === EventType.DELETE) {
      return prev ? { type: 'delete', key: kv.key, revision: kv.revision, prev } : { type: 'delete', key: kv.key, revision: kv.revision };
    }
    return prev ? { type: 'put', kv, prev } : { type: 'put', kv };
  });
}
