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
    // Let requests whose previous call just returned queue up first (they do so in microtasks,
    // before this macrotask), so the batch carries them too instead of leaving them for the next.
    await new Promise<void>((r) => setImmediate(r));
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
