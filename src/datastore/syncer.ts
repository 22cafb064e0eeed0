// Syncer: Calico-style list-then-watch over any Datastore, feeding one consumer a snapshot and
// then every change, with a status the consumer can gate on (libcalico-go's watchersyncer).
//
//   WaitForDatastore ──first list answers──▶ ResyncInProgress ──every prefix listed──▶ InSync
//          ▲  (initial lists retry with back-off)                 ▲                    │
//                                      watch resync (compaction) ─┴── ResyncInProgress ◀┘
//
// Invariants:
// - Each prefix is listed at one revision (a consistent snapshot of that prefix) and then watched
//   from exactly that revision, so the consumer sees every later change once, in order. Prefixes
//   are independent; watch one common prefix when cross-prefix consistency matters.
// - The syncer keeps a cache of what it has told the consumer. After a watch resync it diffs the
//   new snapshot against the cache and sends only real changes (new, updated, deleted), then
//   InSync again. Stale or repeated events (revision not newer than the cache) are dropped.
// - Callbacks are called synchronously from one place, never concurrently, never after stop().

import type { Datastore, KVPair, ListResult, Revision, WatchEvent, WatchHandle } from './datastore.js';
import { type BackoffOptions, Sleeper, backoffDelay } from './backoff.js';

export type SyncStatus = 'WaitForDatastore' | 'ResyncInProgress' | 'InSync';

export type SyncUpdate =
  | { readonly type: 'new' | 'updated'; readonly key: string; readonly kv: KVPair }
  | { readonly type: 'deleted'; readonly key: string; readonly revision: Revision; readonly prev: KVPair };

export interface SyncerCallbacks {
  onStatusUpdated(status: SyncStatus): void;
  /** A batch of changes; within a batch, in the order they happened. Never empty. */
  onUpdates(updates: SyncUpdate[]): void;
  /** Transient trouble (datastore unreachable, retrying). The syncer carries on by itself. */
  onError?(err: Error): void;
}

export interface SyncerOptions {
  /** Retry timing for initial lists that fail. */
  backoff?: BackoffOptions;
}

export class Syncer {
  private readonly cache = new Map<string, KVPair>();
  private readonly watches: WatchHandle[] = [];
  private readonly pendingList = new Set<string>();
  private status: SyncStatus | undefined;
  private started = false;
  private stopped = false;
  private readonly sleeper = new Sleeper();

  constructor(
    private readonly store: Datastore,
    private readonly prefixes: readonly string[],
    private readonly callbacks: SyncerCallbacks,
    private readonly opts: SyncerOptions = {},
  ) {
    if (prefixes.length === 0) throw new TypeError('Syncer needs at least one key prefix to watch');
    for (const a of prefixes) {
      for (const b of prefixes) {
        if (a !== b && b.startsWith(a)) throw new TypeError(`Syncer prefixes overlap: "${b}" is inside "${a}"; watch only "${a}"`);
      }
    }
    if (new Set(prefixes).size !== prefixes.length) throw new TypeError(`Syncer prefixes repeat: ${prefixes.join(', ')}`);
  }

  /** What the consumer has been told, by key: a read-only view for checks and debugging. */
  get state(): ReadonlyMap<string, KVPair> {
    return this.cache;
  }

  start(): void {
    if (this.started) throw new Error('Syncer already started');
    this.started = true;
    this.setStatus('WaitForDatastore');
    for (const p of this.prefixes) this.pendingList.add(p);
    for (const p of this.prefixes) void this.listThenWatch(p);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wakeAll();
    await Promise.all(this.watches.splice(0).map((w) => w.close()));
  }

  private async listThenWatch(prefix: string): Promise<void> {
    let snapshot: ListResult | undefined;
    for (let attempt = 0; !snapshot; attempt++) {
      try {
        snapshot = await this.store.list(prefix);
      } catch (err) {
        if (this.stopped) return;
        this.callbacks.onError?.(err instanceof Error ? err : new Error(String(err)));
        await this.sleeper.sleep(backoffDelay(attempt, this.opts.backoff));
      }
      if (this.stopped) return;
    }
    if (this.status === 'WaitForDatastore') this.setStatus('ResyncInProgress');
    this.applySnapshot(prefix, snapshot);
    this.pendingList.delete(prefix);
    if (this.pendingList.size === 0) this.setStatus('InSync');
    this.watches.push(
      this.store.watch(prefix, snapshot.revision, {
        onEvents: (events) => this.applyEvents(events),
        onResync: (fresh) => {
          if (this.stopped) return;
          this.setStatus('ResyncInProgress');
          this.applySnapshot(prefix, fresh);
          if (this.pendingList.size === 0) this.setStatus('InSync');
        },
        onError: (err) => {
          if (!this.stopped) this.callbacks.onError?.(err);
        },
      }),
    );
  }

  /** Make the cache under `prefix` equal the snapshot, telling the consumer only what differs. */
  private applySnapshot(prefix: string, snapshot: ListResult): void {
    const updates: SyncUpdate[] = [];
    const present = new Set<string>();
    for (const kv of snapshot.items) {
      present.add(kv.key);
      const known = this.cache.get(kv.key);
      if (known && known.revision === kv.revision && known.createRevision === kv.createRevision) continue;
      this.cache.set(kv.key, kv);
      updates.push({ type: known ? 'updated' : 'new', key: kv.key, kv });
    }
    for (const [key, prev] of this.cache) {
      if (!key.startsWith(prefix) || present.has(key)) continue;
      this.cache.delete(key);
      updates.push({ type: 'deleted', key, revision: snapshot.revision, prev });
    }
    if (updates.length > 0) this.callbacks.onUpdates(updates);
  }

  private applyEvents(events: WatchEvent[]): void {
    if (this.stopped) return;
    const updates: SyncUpdate[] = [];
    for (const e of events) {
      if (e.type === 'put') {
        const known = this.cache.get(e.kv.key);
        if (known && known.revision >= e.kv.revision) continue;
        this.cache.set(e.kv.key, e.kv);
        updates.push({ type: known ? 'updated' : 'new', key: e.kv.key, kv: e.kv });
      } else {
        const known = this.cache.get(e.key);
        if (!known || known.revision >= e.revision) continue;
        this.cache.delete(e.key);
        updates.push({ type: 'deleted', key: e.key, revision: e.revision, prev: known });
      }
    }
    if (updates.length > 0) this.callbacks.onUpdates(updates);
  }

  private setStatus(status: SyncStatus): void {
    if (this.stopped || status === this.status) return;
    this.status = status;
    this.callbacks.onStatusUpdated(status);
  }
}
