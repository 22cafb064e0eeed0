// EtcdDatastore: the Datastore contract on etcd v3, through etcd's JSON gateway.
//
// Every conditional write is one etcd transaction: create = If create_revision == 0, update =
// If mod_revision == rev, delete = If the key exists (and mod_revision == rev when given); a
// multi-op txn is the conjunction, all or nothing. A lone put or unconditional delete is the
// plain /put or /deleterange request (one key, atomic by itself, cheaper in etcd). When a txn's conditions fail,
// its failure branch reads every conditioned key in the same transaction, so the error names
// the op whose condition failed (opIndex) from one consistent view, without a second round trip.
// Lists read one revision: the first page's header revision pins the following pages.
// Kept small in imports: the CNI path loads it.

import {
  type Datastore,
  DatastoreError,
  type JsonValue,
  type KVPair,
  type ListResult,
  MAX_TXN_OPS,
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
import {
  type GatewayDeleteResponse,
  type GatewayPutResponse,
  type GatewayRangeResponse,
  type GatewayTxnResponse,
  compareFor,
  decodeKv,
  encodeKey,
  headerRevision,
  int64,
  keyAfter,
  prefixRangeEnd,
  requestFor,
} from './etcd-codec.js';
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
    const res = await this.transport.call<GatewayRangeResponse>('/v3/kv/range', { key: encodeKey(key) }, true);
    const kv = res.kvs?.[0];
    return kv && decodeKv(kv);
  }

  async list(prefix: string): Promise<ListResult> {
    // A compaction between two pages makes the pinned revision unreadable: start over.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.listOnce(prefix);
      } catch (err) {
        if (!isDatastoreError(err, 'Compacted') || attempt >= 3) throw err;
      }
    }
  }

  async create(key: string, value: JsonValue): Promise<KVPair> {
    return (await this.txn([{ op: 'create', key, value }])).results[0]!;
  }

  async update(key: string, value: JsonValue, revision: Revision): Promise<KVPair> {
    return (await this.txn([{ op: 'update', key, value, revision }])).results[0]!;
  }

  // An unconditional put or delete of one key is a single etcd request, cheaper than a txn.
  async put(key: string, value: JsonValue): Promise<KVPair> {
    let body: Record<string, unknown>;
    try {
      body = { ...(requestFor({ op: 'put', key, value }).request_put as object) };
    } catch (err) {
      throw new DatastoreError('Invalid', (err as Error).message, key, undefined, { cause: err });
    }
    const res = await this.transport.call<GatewayPutResponse>('/v3/kv/put', body, false);
    const revision = headerRevision(res.header);
    return { key, value: JSON.parse(JSON.stringify(value)) as JsonValue, revision, createRevision: res.prev_kv ? int64(res.prev_kv.create_revision) : revision };
  }

  async delete(key: string, revision?: Revision): Promise<KVPair> {
    if (revision !== undefined) return (await this.txn([{ op: 'delete', key, revision }])).results[0]!;
    const res = await this.transport.call<GatewayDeleteResponse>('/v3/kv/deleterange', { key: encodeKey(key), prev_kv: true }, false);
    const prev = res.prev_kvs?.[0];
    if (!prev) throw notFound(key);
    return decodeKv(prev);
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    checkOps(ops);
    const compare: Record<string, string>[] = [];
    const failure: Record<string, unknown>[] = [];
    for (const op of ops) {
      const c = compareFor(op);
      if (!c) continue;
      compare.push(c);
      failure.push({ request_range: { key: c.key } });
    }
    let body: Record<string, unknown>;
    try {
      body = { compare, success: ops.map(requestFor), failure };
    } catch (err) {
      throw new DatastoreError('Invalid', (err as Error).message, undefined, undefined, { cause: err });
    }
    const res = await this.transport.call<GatewayTxnResponse>('/v3/kv/txn', body, false);
    const revision = headerRevision(res.header);
    if (!res.succeeded && compare.length > 0) throw whyFailed(ops, res);
    const results = ops.map((op, i): KVPair => {
      const r = res.responses?.[i];
      if (op.op === 'delete') {
        const prev = r?.response_delete_range?.prev_kvs?.[0];
        if (!prev) throw new DatastoreError('Unavailable', `etcd deleted ${op.key} but returned no previous value`, op.key, i);
        return decodeKv(prev);
      }
      const prev = r?.response_put?.prev_kv;
      // The value as a later read returns it (JSON round trip), never the caller's own object.
      const value = JSON.parse(JSON.stringify(op.value)) as JsonValue;
      return { key: op.key, value, revision, createRevision: prev ? int64(prev.create_revision) : revision };
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

  /** etcd's status through /v3/maintenance/status: proves the endpoint answers, and its revision. */
  async status(): Promise<{ version: string; revision: Revision }> {
    const res = await this.transport.call<{ version?: string; header?: { revision?: string } }>('/v3/maintenance/status', {}, true);
    return { version: res.version ?? 'unknown', revision: headerRevision(res.header) };
  }

  async close(): Promise<void> {
    const watches = [...this.watches];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.close()));
    this.transport.close();
  }

  private async listOnce(prefix: string): Promise<ListResult> {
    const items: KVPair[] = [];
    const rangeEnd = prefixRangeEnd(prefix);
    let key = encodeKey(prefix);
    let revision = 0;
    for (;;) {
      const req: Record<string, unknown> = { key, range_end: rangeEnd, limit: String(this.pageSize) };
      if (revision > 0) req.revision = String(revision);
      const res = await this.transport.call<GatewayRangeResponse>('/v3/kv/range', req, true);
      if (revision === 0) revision = headerRevision(res.header);
      const kvs = res.kvs ?? [];
      for (const kv of kvs) items.push(decodeKv(kv));
      if (!res.more || kvs.length === 0) return { items, revision };
      key = keyAfter(kvs[kvs.length - 1]!.key ?? '');
    }
  }
}

function checkOps(ops: readonly TxnOp[]): void {
  if (ops.length > MAX_TXN_OPS) {
    throw new DatastoreError('TooLarge', `transaction has ${ops.length} operations, the limit is ${MAX_TXN_OPS}`);
  }
  const seen = new Set<string>();
  ops.forEach((op, i) => {
    if (seen.has(op.key)) throw new DatastoreError('Invalid', `key ${op.key} appears twice in one transaction`, op.key, i);
    seen.add(op.key);
    const rev = op.op === 'update' || op.op === 'delete' ? op.revision : undefined;
    if (rev !== undefined && !(Number.isSafeInteger(rev) && rev > 0)) {
      throw new DatastoreError('Invalid', `op ${i} (${op.op} ${op.key}) has revision ${String(rev)}; expected a positive integer`, op.key, i);
    }
  });
}

/** From the failure branch's reads, the first op whose condition did not hold. */
function whyFailed(ops: readonly TxnOp[], res: GatewayTxnResponse): DatastoreError {
  let read = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.op === 'put') continue;
    const kv = res.responses?.[read++]?.response_range?.kvs?.[0];
    const actual = kv ? int64(kv.mod_revision) : 0;
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
