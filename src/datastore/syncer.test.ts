// Syncer behaviour on MemoryDatastore and on a real etcd: snapshot then deltas with the three
// statuses, a resync after compaction that reports only real changes, waiting for a datastore
// that is not there yet, and silence after stop().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { etcdTarget, memoryTarget } from '../testing/datastore-targets.js';
import { WatchRecorder } from '../testing/watch-recorder.js';
import type { ContractTarget } from './contract.test-suite.js';
import { type Datastore, DatastoreError, type ListResult } from './datastore.js';
import { MemoryDatastore } from './memory.js';
import { type SyncStatus, type SyncUpdate, Syncer } from './syncer.js';

/** Records a syncer's callbacks and lets a test await a condition on them. */
class SyncRecorder {
  readonly statuses: SyncStatus[] = [];
  readonly batches: SyncUpdate[][] = [];
  readonly errors: Error[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly callbacks = {
    onStatusUpdated: (s: SyncStatus) => this.push(() => this.statuses.push(s)),
    onUpdates: (u: SyncUpdate[]) => this.push(() => this.batches.push(u)),
    onError: (e: Error) => this.push(() => this.errors.push(e)),
  };

  get updates(): string[] {
    return this.batches.flat().map((u) => `${u.type} ${u.key}${u.type === 'deleted' ? '' : '=' + JSON.stringify(u.kv.value)}`);
  }

  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`syncer never reached: ${what}; statuses ${this.statuses.join(',')} updates ${this.updates.join(' | ')}`)), 20_000);
      this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private push(record: () => void): void {
    record();
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

let counter = 0;
const uniquePrefix = () => `/sync/${process.pid}-${++counter}/`;

/** `listsNeedConnection`: disconnect() also fails lists (a networked backend), not only watches. */
function runSyncerSuite(name: string, makeTarget: () => Promise<ContractTarget>, listsNeedConnection: boolean): void {
  describe(`Syncer on ${name}`, { timeout: 60_000 }, () => {
    let t: ContractTarget;
    let s: Datastore;
    before(async () => {
      t = await makeTarget();
      s = t.store;
    });
    after(async () => {
      await t?.close();
    });

    it('delivers a snapshot of every prefix, goes InSync, then streams changes', async () => {
      const p = uniquePrefix();
      await s.put(`${p}pools/a`, 'a1');
      await s.put(`${p}pools/b`, 'b1');
      await s.put(`${p}nodes/n1`, 'n1');
      await s.put(`${p}elsewhere`, 'not synced');
      const rec = new SyncRecorder();
      const syncer = new Syncer(s, [`${p}pools/`, `${p}nodes/`], rec.callbacks);
      syncer.start();
      try {
        await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
        assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
        assert.deepEqual([...rec.updates].sort(), [`new ${p}nodes/n1="n1"`, `new ${p}pools/a="a1"`, `new ${p}pools/b="b1"`]);
        const snapshotCount = rec.updates.length;
        const a = (await s.get(`${p}pools/a`))!;
        await s.update(`${p}pools/a`, 'a2', a.revision);
        await s.delete(`${p}pools/b`);
        await s.create(`${p}nodes/n2`, 'n2');
        await s.put(`${p}elsewhere`, 'still not synced');
        await rec.until(() => rec.updates.length === snapshotCount + 3, 'three changes');
        assert.deepEqual(rec.updates.slice(snapshotCount), [`updated ${p}pools/a="a2"`, `deleted ${p}pools/b`, `new ${p}nodes/n2="n2"`]);
        assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
        assert.deepEqual([...syncer.state.keys()].sort(), [`${p}nodes/n1`, `${p}nodes/n2`, `${p}pools/a`]);
      } finally {
        await syncer.stop();
      }
    });

    it('after a compaction resync, reports only what really changed', async () => {
      const p = uniquePrefix();
      await s.put(`${p}same`, 'untouched');
      await s.put(`${p}changed`, 'v1');
      await s.put(`${p}removed`, 'x');
      const d = await t.disconnectable();
      const rec = new SyncRecorder();
      const syncer = new Syncer(d.store, [p], rec.callbacks);
      syncer.start();
      try {
        await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
        const before = rec.updates.length;
        await d.disconnect();
        await s.put(`${p}changed`, 'v2');
        await s.delete(`${p}removed`);
        await s.put(`${p}added`, 'new');
        await s.put(`${p}transient`, 'gone again');
        await s.delete(`${p}transient`);
        const last = await s.put(`/sync-other/${counter}`, 'moves the revision on');
        await t.compact(last.revision);
        await d.reconnect();
        await rec.until(() => rec.statuses.length === 5, 'a resync and InSync again');
        assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync', 'ResyncInProgress', 'InSync']);
        assert.deepEqual([...rec.updates.slice(before)].sort(), [`deleted ${p}removed`, `new ${p}added="new"`, `updated ${p}changed="v2"`]);
        await s.put(`${p}after`, 'live again');
        await rec.until(() => rec.updates.at(-1) === `new ${p}after="live again"`, 'the change after the resync');
      } finally {
        await syncer.stop();
        await d.close();
      }
    });

    if (listsNeedConnection) {
      it('waits for a datastore it cannot reach yet, reporting errors, then syncs', async () => {
        const p = uniquePrefix();
        await s.put(`${p}a`, 'a1');
        const d = await t.disconnectable();
        await d.disconnect();
        const rec = new SyncRecorder();
        const syncer = new Syncer(d.store, [p], rec.callbacks, { backoff: { minMs: 10, maxMs: 100 } });
        syncer.start();
        try {
          await rec.until(() => rec.errors.length >= 2, 'two failed attempts');
          assert.deepEqual(rec.statuses, ['WaitForDatastore']);
          assert.equal(rec.updates.length, 0);
          await d.reconnect();
          await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
          assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
          assert.deepEqual(rec.updates, [`new ${p}a="a1"`]);
        } finally {
          await syncer.stop();
          await d.close();
        }
      });
    }

    it('stays silent after stop()', async () => {
      const p = uniquePrefix();
      const rec = new SyncRecorder();
      const syncer = new Syncer(s, [p], rec.callbacks);
      syncer.start();
      await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
      const from = (await s.list(p)).revision;
      await syncer.stop();
      // A second watch on the same store sees the write: by then a live syncer would have too.
      const witness = new WatchRecorder();
      const w = s.watch(p, from, witness);
      await s.put(`${p}late`, 1);
      await witness.untilEvents(1);
      await w.close();
      assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      assert.deepEqual(rec.updates, []);
    });
  });
}

runSyncerSuite('memory', memoryTarget, false);
runSyncerSuite('etcd', () => etcdTarget(false), true);

describe('Syncer start-up', () => {
  it('waits for a datastore that is not answering yet, then syncs', async () => {
    const inner = new MemoryDatastore();
    await inner.put('/w/a', 1);
    let failures = 2;
    const flaky: Datastore = Object.assign(Object.create(inner) as Datastore, {
      list: async (prefix: string): Promise<ListResult> => {
        if (failures-- > 0) throw new DatastoreError('Unavailable', 'etcd at http://127.0.0.1:1 refused the connection');
        return inner.list(prefix);
      },
    });
    const rec = new SyncRecorder();
    const syncer = new Syncer(flaky, ['/w/'], rec.callbacks, { backoff: { minMs: 1, maxMs: 5 } });
    syncer.start();
    try {
      await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
      assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      assert.equal(rec.errors.length, 2);
      assert.match(rec.errors[0]!.message, /refused/);
      assert.deepEqual(rec.updates, ['new /w/a=1']);
    } finally {
      await syncer.stop();
    }
  });

  it('rejects overlapping or repeated prefixes', () => {
    const s = new MemoryDatastore();
    assert.throws(() => new Syncer(s, ['/calico/', '/calico/ipam/'], { onStatusUpdated() {}, onUpdates() {} }), /"\/calico\/ipam\/" is inside "\/calico\/"/);
    assert.throws(() => new Syncer(s, ['/a/', '/a/'], { onStatusUpdated() {}, onUpdates() {} }), /repeat/);
    assert.throws(() => new Syncer(s, [], { onStatusUpdated() {}, onUpdates() {} }), /at least one/);
  });
});
