// Test helper: a WatchHandler that records what a watch delivers and lets a test await a
// condition on it (event-driven, with a generous deadline only so a broken watch fails the test
// instead of hanging it; no assertion depends on timing).

import type { KVPair, ListResult, Revision, WatchEvent, WatchHandler } from '../datastore/index.js';

export type Delivery =
  | { kind: 'events'; events: WatchEvent[]; revision: Revision }
  | { kind: 'resync'; snapshot: ListResult };

export class WatchRecorder implements WatchHandler {
  readonly deliveries: Delivery[] = [];
  readonly errors: Error[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  onEvents(events: WatchEvent[], revision: Revision): void {
    this.deliveries.push({ kind: 'events', events, revision });
    this.poke();
  }

  onResync(snapshot: ListResult): void {
    this.deliveries.push({ kind: 'resync', snapshot });
    this.poke();
  }

  onError(err: Error): void {
    this.errors.push(err);
    this.poke();
  }

  /** Every event delivered so far, flattened, in delivery order. */
  get events(): WatchEvent[] {
    return this.deliveries.flatMap((d) => (d.kind === 'events' ? d.events : []));
  }

  get resyncs(): ListResult[] {
    return this.deliveries.flatMap((d) => (d.kind === 'resync' ? [d.snapshot] : []));
  }

  /** Resolves once `check()` holds; rejects with `what` and the deliveries after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`watch never delivered ${what}; got ${JSON.stringify(this.deliveries)} errors ${this.errors.map((e) => e.message).join(' | ')}`));
      }, timeoutMs);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves once `n` events in total have been delivered. */
  untilEvents(n: number): Promise<void> {
    return this.until(() => this.events.length >= n, `${n} events`);
  }

  private poke(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }
}

/** A compact, comparable form of an event: "put key=value@rev" / "delete key@rev". */
export function describeEvent(e: WatchEvent): string {
  return e.type === 'put' ? `put ${e.kv.key}=${JSON.stringify(e.kv.value)}@${e.kv.revision}` : `delete ${e.key}@${e.revision}`;
}

/** A snapshot's items as "key=value" for comparisons that ignore revisions. */
export function describeItems(items: readonly KVPair[]): string[] {
  return items.map((kv) => `${kv.key}=${JSON.stringify(kv.value)}`);
}
