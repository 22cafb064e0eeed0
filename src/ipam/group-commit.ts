// Group commit: requests that arrive while one is being written wait together and are written
// together. Each request joins its key's queue (the key is a node) and takes the key's mutex;
// whoever holds it hands every request queued so far (up to a cap) to `settle`, which writes them
// all with one transaction and answers each with an outcome. A request whose outcome is already
// known when its turn comes just leaves. So a burst of N requests for one node costs about as
// many transactions as there were writes in flight when it arrived, not N, while requests for one
// node still never race each other inside the process (the mutex is the one the slow paths use).
//
// Invariants: requests are immutable; their outcomes are kept here and nowhere else. `settle`
// returns one outcome per request, in order; `defer` puts a request back at the head of the
// queue for the next batch, and a batch defers a request only when it settles another, so the
// queue always drains. A batch that throws fails every request in it.

import type { KeyedMutex } from '../util/index.js';

export type Outcome<R> =
  | { readonly kind: 'done'; readonly value: R }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'defer' };

export type Settle<Q, R> = (key: string, batch: readonly Q[]) => Promise<Outcome<R>[]>;

interface Entry<Q, R> {
  readonly request: Q;
  outcome: Outcome<R> | undefined;
}

/** Microtask hops a batch waits before looking for company. */
const SETTLE_HOPS = 8;

export class GroupCommit<Q, R> {
  private readonly queues = new Map<string, Entry<Q, R>[]>();

  constructor(
    private readonly lock: KeyedMutex,
    private readonly maxBatch: number,
    private readonly settle: Settle<Q, R>,
  ) {}

  /**
   * Queue `request` under `key`; once its batch has answered it, run `then` with the outcome
   * (never `defer`) still holding the key's mutex — where a request the batch could not serve
   * takes its slow path.
   */
  async submit<X>(key: string, request: Q, then: (outcome: Outcome<R>) => Promise<X>): Promise<X> {
    const entry: Entry<Q, R> = { request, outcome: undefined };
    const q = this.queues.get(key) ?? [];
    q.push(entry);
    this.queues.set(key, q);
    return this.lock.run(key, async () => {
      while (!entry.outcome) await this.runBatch(key);
      return then(entry.outcome);
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
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.settle(key, batch.map((e) => e.request));
    } catch (error) {
      outcomes = batch.map(() => ({ kind: 'failed', error }));
    }
    const back: Entry<Q, R>[] = [];
    batch.forEach((e, i) => {
      const o = outcomes[i] ?? { kind: 'failed', error: new Error('internal: a batch left a request without an outcome') };
      if (o.kind === 'defer') back.push(e);
      else e.outcome = o;
    });
    if (back.length > 0) this.queues.set(key, [...back, ...(this.queues.get(key) ?? [])]);
  }
}
