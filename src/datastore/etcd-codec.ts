// Pure encoding between the Datastore contract and etcd's v3 JSON gateway (grpc-gateway).
//
// The gateway speaks the v3 protobuf messages as JSON with three quirks handled only here:
// keys and values are base64; int64 fields (revisions, counts) are decimal strings; fields at
// their zero value are omitted (a PUT event has no `type`, a failed txn no `succeeded`).
//
// Values are JSON documents. A value some other tool wrote that is not JSON comes back as its
// raw text (a string), so one foreign key can never break a list or a watch.

import type { JsonValue, KVPair, TxnOp, WatchEvent } from './datastore.js';

/** mvccpb.KeyValue as the gateway renders it. */
export interface GatewayKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface GatewayHeader {
  revision?: string;
}

export interface GatewayRangeResponse {
  header?: GatewayHeader;
  kvs?: GatewayKeyValue[];
  more?: boolean;
  count?: string;
}

export interface GatewayPutResponse {
  header?: GatewayHeader;
  prev_kv?: GatewayKeyValue;
}

export interface GatewayDeleteResponse {
  header?: GatewayHeader;
  deleted?: string;
  prev_kvs?: GatewayKeyValue[];
}

export interface GatewayTxnResponse {
  header?: GatewayHeader;
  succeeded?: boolean;
  responses?: {
    response_range?: GatewayRangeResponse;
    response_put?: GatewayPutResponse;
    response_delete_range?: GatewayDeleteResponse;
  }[];
}

export interface GatewayWatchResult {
  header?: GatewayHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: 'PUT' | 'DELETE'; kv?: GatewayKeyValue; prev_kv?: GatewayKeyValue }[];
}

export const encodeKey = (key: string): string => Buffer.from(key, 'utf8').toString('base64');
export const decodeKey = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');

export function encodeValue(value: JsonValue, key: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`value for key ${key} is not JSON-serialisable`);
  return Buffer.from(text, 'utf8').toString('base64');
}

export function decodeValue(b64: string | undefined): JsonValue {
  const text = Buffer.from(b64 ?? '', 'base64').toString('utf8');
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** An int64 from the gateway (string, or absent when zero). */
export const int64 = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

export const headerRevision = (h: GatewayHeader | undefined): number => int64(h?.revision);

export function decodeKv(kv: GatewayKeyValue): KVPair {
  return {
    key: decodeKey(kv.key),
    value: decodeValue(kv.value),
    revision: int64(kv.mod_revision),
    createRevision: int64(kv.create_revision),
  };
}

/**
 * The range end that selects every key starting with `prefix` (etcd's "prefix end": the prefix
 * with its last byte below 0xff incremented). An empty prefix means every key: range_end "\0".
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

/** The smallest key after `key` in byte order, as base64: where the next page of a range starts. */
export function keyAfter(b64Key: string): string {
  return Buffer.concat([Buffer.from(b64Key, 'base64'), Buffer.from([0])]).toString('base64');
}

/** etcd's Compare message for the condition an op carries, if any. */
export function compareFor(op: TxnOp): Record<string, string> | undefined {
  const key = encodeKey(op.key);
  switch (op.op) {
    case 'create':
      return { key, target: 'CREATE', result: 'EQUAL', create_revision: '0' };
    case 'update':
      return { key, target: 'MOD', result: 'EQUAL', mod_revision: String(op.revision) };
    case 'delete':
      return op.revision === undefined
        ? { key, target: 'CREATE', result: 'GREATER', create_revision: '0' }
        : { key, target: 'MOD', result: 'EQUAL', mod_revision: String(op.revision) };
    case 'put':
      return undefined;
  }
}

/** etcd's RequestOp that performs an op when the conditions hold. */
export function requestFor(op: TxnOp): Record<string, unknown> {
  if (op.op === 'delete') return { request_delete_range: { key: encodeKey(op.key), prev_kv: true } };
  return { request_put: { key: encodeKey(op.key), value: encodeValue(op.value, op.key), prev_kv: true } };
}

export function decodeWatchEvents(result: GatewayWatchResult): WatchEvent[] {
  return (result.events ?? []).map((e): WatchEvent => {
    const kv = decodeKv(e.kv ?? {});
    const prev = e.prev_kv ? decodeKv(e.prev_kv) : undefined;
    if (e.type === 'DELETE') {
      return prev ? { type: 'delete', key: kv.key, revision: kv.revision, prev } : { type: 'delete', key: kv.key, revision: kv.revision };
    }
    return prev ? { type: 'put', kv, prev } : { type: 'put', kv };
  });
}
