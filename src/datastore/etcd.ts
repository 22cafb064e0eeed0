// EtcdDatastore: the Datastore contract on etcd v3, through etcd's gRPC API (etcd-transport.ts).
//
// Every conditional write is one etcd transaction: create = If create_revision == 0, update =
// If mod_revision == rev, delete = If the key exists (and mod_revision == rev when given); a
// multi-op txn is the conjunction, all or nothing. A lone put or unconditional delete is the
// plain Put/DeleteRange call (one key, atomic by itself, cheaper in etcd). When a txn's
// conditions fail, its failure branch reads every conditioned key (keys only) in the same
// transaction, so the error names the op whose condition failed (opIndex) from one consistent
// view, without a second round trip. Lists (with or without values) read one revision: the first
// page's header revision pins the following pages; a compaction between pages starts over.
// Kept small in imports: the CNI path loads it.

import {
  type Datastore,
  DatastoreError,
  type JsonValue,
  type KVPair,
  type KeyInfo,
  type KeyListResult,
  type ListResult,
  MAX_TXN_OPS,
  checkTxnShape,
  type Revision,
  type TxnOp,
  type TxnResult,
  type WatchHandle,
  type WatchHandler,
  alreadyExists,
  conflict,
  isDatastoreError,
  notFound,
} from './datastore.js';
import { compareFor, decodeKv, keyAfter, keyBytes, lazyPair, prefixRange, requestFor, utf8, valueJson } from './etcd-codec.js';
import {
  type Compare,
  DeleteRangeRequestCodec,
  DeleteRangeResponseCodec,
  EtcdMethod,
  type KeyValue,
  PutRequestCodec,
  PutResponseCodec,
  type RangeRequest,
  RangeRequestCodec,
  type RangeResponse,
  RangeResponseCodec,
  type RequestOp,
  STATUS_REQUEST_FRAME,
  StatusResponseCodec,
  TxnRequestCodec,
  type TxnResponse,
  TxnResponseCodec,
} from './etcd-proto.js';
import { EtcdTransport, type EtcdTransportOptions } from './etcd-transport.js';
import type { BackoffOptions } from './backoff.js';
import { EtcdWatch } from './etcd-watch.js';

export interface EtcdDatastoreOptions extends EtcdTransportOptions {
  /** Keys per range request when listing (default 1000); bigger lists take several pages. */
  pageSize?: number;
  /** Retry timing for watches that lost their stream. */
  watchBackoff?: BackoffOptions;
}

export class EtcdDatastore implements Datastore {
  readonly description: string;
  private readonly transport: EtcdTransport;
  private readonly pageSize: number;
  private readonly watches = new Set<EtcdWatch>();

  constructor(private readonly opts: EtcdDatastoreOptions) {
    this.transport = new EtcdTransport(opts);
    this.pageSize = opts.pageSize ?? 1000;
    this.description = `etcdv3 ${this.transport.endpointList.join(',')}`;
  }

  async get(key: string): Promise<KVPair | undefined> {
    const res = await this.range({ key: keyBytes(key) });
    const kv = res.kvs[0];
    return kv && decodeKv(kv);
  }

  async list(prefix: string): Promise<ListResult> {
    const { kvs, revision } = await this.rangeAll(prefix, false);
    return { items: kvs.map(decodeKv), revision };
  }

  async listKeys(prefix: string): Promise<KeyListResult> {
    const { kvs, revision } = await this.rangeAll(prefix, true);
    return { keys: kvs.map((kv): KeyInfo => ({ key: utf8(kv.key), revision: kv.modRevision, createRevision: kv.createRevision })), revision };
  }

  async create(key: string, value: JsonValue): Promise<KVPair> {
    return (await this.txn([{ op: 'create', key, value }])).results[0]!;
  }

  async update(key: string, value: JsonValue, revision: Revision): Promise<KVPair> {
    return (await this.txn([{ op: 'update', key, value, revision }])).results[0]!;
  }

  // An unconditional put or delete of one key is a single etcd request, cheaper than a txn.
  async put(key: string, value: JsonValue): Promise<KVPair> {
    const json = checkedJson(value, key);
    const request = PutRequestCodec.frame({ key: keyBytes(key), value: json, prevKv: true });
    const res = await this.call(EtcdMethod.Put, request, PutResponseCodec.decode, false);
    const revision = res.header?.revision ?? 0;
    return lazyPair(key, json, revision, res.prevKv ? res.prevKv.createRevision : revision);
  }

  async delete(key: string, revision?: Revision): Promise<KVPair> {
    if (revision !== undefined) return (await this.txn([{ op: 'delete', key, revision }])).results[0]!;
    const request = DeleteRangeRequestCodec.frame({ key: keyBytes(key), prevKv: true });
    const res = await this.call(EtcdMethod.DeleteRange, request, DeleteRangeResponseCodec.decode, false);
    const prev = res.prevKvs[0];
    if (!prev) throw notFound(key);
    return decodeKv(prev);
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    checkTxnShape(ops);
    const compare: Compare[] = [];
    const failure: RequestOp[] = [];
    const success: RequestOp[] = [];
    const values: (string | undefined)[] = [];
    // Where each op's answer is among the responses. A write to a key that may already exist
    // needs the key's create revision for its result: a keys-only read right after the put gives
    // it without etcd sending the previous value back (an IPAM block: ~11 KB). A transaction with
    // no room for those reads (etcd's limit of MAX_TXN_OPS per branch) asks for prev_kv instead.
    const reads = ops.reduce((n, op) => (op.op === 'update' || op.op === 'put' ? n + 1 : n), 0);
    const readBack = ops.length + reads <= MAX_TXN_OPS;
    const answers: number[] = [];
    ops.forEach((op, i) => {
      const key = keyBytes(op.key);
      const c = compareFor(op, key);
      if (c) {
        compare.push(c);
        failure.push({ requestRange: { key, keysOnly: true } });
      }
      const json = op.op === 'delete' ? undefined : checkedJson(op.value, op.key, i);
      values.push(json);
      answers.push(success.length);
      const readAfter = readBack && (op.op === 'update' || op.op === 'put');
      success.push(requestFor(op, key, json, !readAfter));
      if (readAfter) success.push({ requestRange: { key, keysOnly: true } });
    });
    const request = TxnRequestCodec.frame({ compare, success, failure });
    const res = await this.call(EtcdMethod.Txn, request, TxnResponseCodec.decode, false);
    const revision = res.header?.revision ?? 0;
    if (!res.succeeded && compare.length > 0) throw whyFailed(ops, res);
    const results = ops.map((op, i): KVPair => {
      const at = answers[i]!;
      const r = res.responses[at];
      if (op.op === 'delete') {
        const prev = r?.responseDeleteRange?.prevKvs[0];
        if (!prev) throw new DatastoreError('Unavailable', `etcd deleted ${op.key} but returned no previous value`, op.key, i);
        return decodeKv(prev);
      }
      if (op.op === 'create') return lazyPair(op.key, values[i]!, revision, revision);
      const written = readBack ? res.responses[at + 1]?.responseRange?.kvs[0] : r?.responsePut?.prevKv;
      if (readBack && !written) throw new DatastoreError('Unavailable', `etcd wrote ${op.key} but its read-back found nothing`, op.key, i);
      return lazyPair(op.key, values[i]!, revision, written ? written.createRevision : revision);
    });
    return { revision, results };
  }

  watch(prefix: string, fromRevision: Revision, handler: WatchHandler): WatchHandle {
    const w = new EtcdWatch(this.transport, prefix, fromRevision, handler, (p) => this.list(p), this.opts.watchBackoff);
    this.watches.add(w);
    return {
      close: async () => {
        this.watches.delete(w);
        await w.close();
      },
    };
  }

  /** etcd's Maintenance/Status: proves the endpoint answers, with its version and revision. */
  async status(): Promise<{ version: string; revision: Revision }> {
    const res = await this.call(EtcdMethod.Status, STATUS_REQUEST_FRAME, StatusResponseCodec.decode, true);
    return { version: res.version || 'unknown', revision: res.header?.revision ?? 0 };
  }

  async close(): Promise<void> {
    const watches = [...this.watches];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.close()));
    this.transport.close();
  }

  private range(req: RangeRequest): Promise<RangeResponse> {
    return this.call(EtcdMethod.Range, RangeRequestCodec.frame(req), RangeResponseCodec.decode, true);
  }

  /**
   * One unary call with `request` framed (a codec's `frame`); an answer that does not decode is
   * etcd (or a proxy) misbehaving: Unavailable.
   */
  private async call<T>(method: string, request: Uint8Array, decode: (bytes: Uint8Array) => T, idempotent: boolean): Promise<T> {
    const answer = await this.transport.call(method, request, idempotent);
    try {
      return decode(answer);
    } catch (err) {
      throw new DatastoreError('Unavailable', `etcd's answer to ${method} does not decode: ${(err as Error).message}`, undefined, undefined, { cause: err });
    }
  }

  /** Every KeyValue under `prefix` at one revision, page by page; restarts after a compaction. */
  private async rangeAll(prefix: string, keysOnly: boolean): Promise<{ kvs: KeyValue[]; revision: Revision }> {
    // A compaction between two pages makes the pinned revision unreadable: start over.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.rangeAllOnce(prefix, keysOnly);
      } catch (err) {
        if (!isDatastoreError(err, 'Compacted') || attempt >= 3) throw err;
      }
    }
  }

  private async rangeAllOnce(prefix: string, keysOnly: boolean): Promise<{ kvs: KeyValue[]; revision: Revision }> {
    const kvs: KeyValue[] = [];
    const { key: first, rangeEnd } = prefixRange(prefix);
    let key = first;
    let revision = 0;
    for (;;) {
      const res = await this.range({ key, rangeEnd, limit: this.pageSize, revision, keysOnly });
      if (revision === 0) revision = res.header?.revision ?? 0;
      for (const kv of res.kvs) kvs.push(kv);
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return { kvs, revision };
      key = keyAfter(last.key);
    }
  }
}

/** The value's JSON; a value without one is the caller's mistake, reported as Invalid. */
function checkedJson(value: JsonValue, key: string, opIndex?: number): string {
  try {
    return valueJson(value, key);
  } catch (err) {
    throw new DatastoreError('Invalid', (err as Error).message, key, opIndex, { cause: err });
  }
}


/** From the failure branch's reads, the first op whose condition did not hold. */
function whyFailed(ops: readonly TxnOp[], res: TxnResponse): DatastoreError {
  let read = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.op === 'put') continue;
    const kv = res.responses[read++]?.responseRange?.kvs[0];
    const actual = kv ? kv.modRevision : 0;
    switch (op.op) {
      case 'create':
        if (kv) return alreadyExists(op.key, i);
        break;
      case 'update':
        if (!kv) return notFound(op.key, i);
        if (actual !== op.revision) return conflict(op.key, op.revision, actual, i);
        break;
      case 'delete':
        if (!kv) return notFound(op.key, i);
        if (op.revision !== undefined && actual !== op.revision) return conflict(op.key, op.revision, actual, i);
        break;
    }
  }
  return new DatastoreError('Conflict', `transaction of ${ops.length} operations failed its conditions but every key matched on re-read`);
}
