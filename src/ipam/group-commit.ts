// Group commit: requests that arrive while one is being written wait together and are written
// together. Each request leaves a ticket in its key's queue (the key is a node) and takes the
// key's mutex; whoever holds it takes every ticket queued so far (up to a cap) and settles them
// all with one transaction. A request that finds its ticket already settled when its turn comes
// just leaves. So a burst of N requests for one node costs about as many transactions as there
// were writes in flight when it arrived, not N, while requests for one node still never race
// each other inside the process (the mutex is the one the slow paths use too).
//
// Invariant: `settle` settles every ticket it is handed — with a result, an error, or `deferred`
// to put it back at the head of the queue for the next batch — and never throws; a ticket the
// batch failed to settle is failed here rather than left waiting.

import type { KeyedMutex } from './keyed-mutex.js';

export interface Ticket {
  /** Set by the batch: the ticket needs no further work in the queue. */
  settled: boolean;
  /** Set by the batch instead of `settled`: try again in the next batch. */
  deferred?: boolean;
  error?: unknown;
}

/** Microtask hops a batch waits before looking for company. */
const SETTLE_HOPS = 8;

export class GroupCommit<T extends Ticket> {
  private readonly queues = new Map<string, T[]>();

  constructor(
    private readonly lock: KeyedMutex,
    private readonly maxBatch: number,
    private readonly settle: (key: string, batch: T[]) => Promise<void>,
  ) {}

  /**
   * Queue `ticket` under `key`; returns once it is settled, having run `then` (if given) still
   * holding the key's mutex — where a ticket the batch could not serve takes its slow path.
   */
  async submit<R>(key: string, ticket: T, then: () => Promise<R>): Promise<R> {
    const q = this.queues.get(key) ?? [];
    q.push(ticket);
    this.queues.set(key, q);
    return this.lock.run(key, async () => {
      while (!ticket.settled) await this.runBatch(key);
      return then();
    });
  }

  private async runBatch(key: string): Promise<void> {
    // Let requests started together with this one, and the callers of the batch that just
    // finished (about to send their next request), queue up first, so the batch carries them too
    // instead of leaving them for the next. They get there in microtasks: a few hops let the
    // nearest through, and when anything else is queued or waiting for the key, the rest of the
    // microtasks run too (one event-loop turn). A lone request pays only the hops.
    for (let hop = 0; hop < SETTLE_HOPS; hop++) await undefined;
    if (this.lock.pending(key) > 1 || (this.queues.get(key)?.length ?? 0) > 1) await new Promise<void>((r) => setImmediate(r));
    const q = this.queues.get(key) ?? [];
    const batch = q.splice(0, this.maxBatch);
    if (q.length === 0) this.queues.delete(key);
    try {
      await this.settle(key, batch);
    } catch (err) {
      for (const t of batch) if (!t.settled && !t.deferred) Object.assign(t, { settled: true, error: err });
    }
    const again = batch.filter((t) => !t.settled);
    for (const t of again) {
      if (!t.deferred) Object.assign(t, { settled: true, error: new Error('internal: a batch left a ticket unsettled') });
      t.deferred = false;
    }
    const back = again.filter((t) => !t.settled);
    if (back.length > 0) this.queues.set(key, [...back, ...(this.queues.get(key) ?? [])]);
  }
}
