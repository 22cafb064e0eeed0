// MemoryDatastore: the Datastore contract in one process, for unit tests and single-process tools.
//
// It keeps a change log so that watch-from-revision behaves like etcd's, and `compact(rev)`
// drops history below `rev` (etcd's rule: a watch may still start at `rev` itself) so tests can
// exercise the relist-after-compaction path. `suspendWatches()`/`resumeWatches()` play the
// connection loss a networked backend's watch suffers: each watcher remembers the revision it
// has seen up to, and on resume catches up from there or, if that history was compacted
// meanwhile, resyncs. Values are deep-copied through JSON on the way in and out, so callers can
// never mutate stored state by reference. Watch callbacks run on a later microtask, never
// inside the write that caused them.

import {
  type Datastore,
  DatastoreError,
  type JsonValue,
  type KVPair,
  type KeyListResult,
  type ListResult,
  checkTxnShape,
  type Revision,
  type TxnOp,
  type TxnResult,
  type WatchEvent,
  type WatchHandle,
  type WatchHandler,
  alreadyExists,
  conflict,
  notFound,
} from './datastore.js';

interface Watcher {
  prefix: string;
  handler: WatchHandler;
  closed: boolean;
  /** Every change up to this revision has been delivered (or was before a resync). */
  delivered: Revision;
}

const copy = (v: JsonValue): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;

export class MemoryDatastore implements Datastore {
  readonly description = 'memory';
  private readonly data = new Map<string, KVPair>();
  private rev: Revision = 1;
  private compactedRev: Revision = 0;
  private readonly log: { rev: Revision; event: WatchEvent }[] = [];
  private readonly watchers = new Set<Watcher>();
  private suspended = false;
  private closed = false;

  get revision(): Revision {
    return this.rev;
  }

  async get(key: string): Promise<KVPair | undefined> {
    this.checkOpen();
    const kv = this.data.get(key);
    return kv && { ...kv, value: copy(kv.value) };
  }

  async list(prefix: string): Promise<ListResult> {
    this.checkOpen();
    return this.snapshot(prefix);
  }

  async listKeys(prefix: string): Promise<KeyListResult> {
    this.checkOpen();
    const keys = [...this.data.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ key, revision, createRevision }) => ({ key, revision, createRevision }));
    return { keys, revision: this.rev };
  }

  async create(key: string, value: JsonValue): Promise<KVPair> {
    return (await this.txn([{ op: 'create', key, value }])).results[0]!;
  }

  async update(key: string, value: JsonValue, revision: Revision): Promise<KVPair> {
    return (await this.txn([{ op: 'update', key, value, revision }])).results[0]!;
  }

  async put(key: string, value: JsonValue): Promise<KVPair> {
    return (await this.txn([{ op: 'put', key, value }])).results[0]!;
  }

  async delete(key: string, revision?: Revision): Promise<KVPair> {
    const op: TxnOp = revision === undefined ? { op: 'delete', key } : { op: 'delete', key, revision };
    return (await this.txn([op])).results[0]!;
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    this.checkOpen();
    checkTxnShape(ops);
    // Check every condition before touching anything: all or nothing.
    ops.forEach((op, i) => {
      const cur = this.data.get(op.key);
      switch (op.op) {
        case 'create':
          if (cur) throw alreadyExists(op.key, i);
          break;
        case 'update':
          if (!cur) throw notFound(op.key, i);
          if (cur.revision !== op.revision) throw conflict(op.key, op.revision, cur.revision, i);
          break;
        case 'delete':
          if (!cur) throw notFound(op.key, i);
          if (op.revision !== undefined && cur.revision !== op.revision) throw conflict(op.key, op.revision, cur.revision, i);
          break;
        case 'put':
          break;
      }
    });
    if (ops.length === 0) return { revision: this.rev, results: [] };
    const rev = ++this.rev;
    const results: KVPair[] = [];
    const events: WatchEvent[] = [];
    for (const op of ops) {
      const prev = this.data.get(op.key);
      if (op.op === 'delete') {
        this.data.delete(op.key);
        results.push({ ...prev!, value: copy(prev!.value) });
        events.push({ type: 'delete', key: op.key, revision: rev, prev: prev! });
      } else {
        const kv: KVPair = { key: op.key, value: copy(op.value), revision: rev, createRevision: prev?.createRevision ?? rev };
        this.data.set(op.key, kv);
        results.push({ ...kv, value: copy(kv.value) });
        events.push(prev ? { type: 'put', kv, prev } : { type: 'put', kv });
      }
    }
    for (const event of events) this.log.push({ rev, event });
    this.notify(events, rev);
    return { revision: rev, results };
  }

  watch(prefix: string, fromRevision: Revision, handler: WatchHandler): WatchHandle {
    this.checkOpen();
    const w: Watcher = { prefix, handler, closed: false, delivered: fromRevision };
    this.watchers.add(w);
    queueMicrotask(() => this.catchUp(w));
    return {
      close: async () => {
        w.closed = true;
        this.watchers.delete(w);
      },
    };
  }

  /** Drop history below `revision`, as etcd compaction does. */
  compact(revision: Revision): void {
    this.compactedRev = Math.max(this.compactedRev, revision);
    while (this.log.length > 0 && this.log[0]!.rev < revision) this.log.shift();
  }

  /** Watchers stop hearing changes, as if their connection were lost. */
  suspendWatches(): void {
    this.suspended = true;
  }

  /** Watchers catch up from where they were, or resync if that history is gone. */
  resumeWatches(): void {
    this.suspended = false;
    for (const w of this.watchers) queueMicrotask(() => this.catchUp(w));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers) w.closed = true;
    this.watchers.clear();
  }

  private snapshot(prefix: string): ListResult {
    const items = [...this.data.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((kv) => ({ ...kv, value: copy(kv.value) }));
    return { items, revision: this.rev };
  }

  private catchUp(w: Watcher): void {
    if (w.closed || this.suspended) return;
    if (w.delivered + 1 < this.compactedRev) {
      const snapshot = this.snapshot(w.prefix);
      w.delivered = snapshot.revision;
      w.handler.onResync(snapshot);
      return;
    }
    const backlog = this.log.filter((e) => e.rev > w.delivered && keyOf(e.event).startsWith(w.prefix)).map((e) => e.event);
    w.delivered = Math.max(w.delivered, this.rev);
    if (backlog.length > 0) w.handler.onEvents(backlog.map(cloneEvent), this.rev);
  }

  private notify(events: WatchEvent[], rev: Revision): void {
    for (const w of this.watchers) {
      const mine = events.filter((e) => keyOf(e).startsWith(w.prefix));
      if (mine.length === 0) continue;
      queueMicrotask(() => {
        // Suspended, or already covered by a catch-up: the catch-up delivers it (or did).
        if (w.closed || this.suspended || w.delivered >= rev) return;
        w.delivered = rev;
        w.handler.onEvents(mine.map(cloneEvent), rev);
      });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new DatastoreError('Unavailable', 'memory datastore is closed');
  }
}

function keyOf(e: WatchEvent): string {
  return e.type === 'put' ? e.kv.key : e.key;
}

function cloneEvent(e: WatchEvent): WatchEvent {
  return JSON.parse(JSON.stringify(e)) as WatchEvent;
}
