// The Datastore contract, as one suite every backend must pass (memory, etcd plain, etcd TLS).
//
// A backend supplies a ContractTarget: the store under test, a way to compact its history, and a
// way to take its watches' connection away while writes go on (so a test can make a watch fall
// behind a compaction). Each test works under its own key prefix, so one store serves the suite.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WatchRecorder, describeEvent, describeItems } from '../testing/watch-recorder.js';
import { type Datastore, DatastoreError, MAX_TXN_OPS, type Revision, type TxnOp, isDatastoreError } from './datastore.js';

export interface Disconnectable {
  /** A store on the same data whose connection the test controls. */
  readonly store: Datastore;
  disconnect(): Promise<void>;
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

export interface ContractTarget {
  readonly store: Datastore;
  compact(revision: Revision): Promise<void>;
  disconnectable(): Promise<Disconnectable>;
  close(): Promise<void>;
}

let prefixCounter = 0;
const uniquePrefix = (what: string) => `/contract/${process.pid}-${Date.now().toString(36)}-${++prefixCounter}/${what}/`;

/** Asserts that `p` rejects with a DatastoreError of `code` (and the given key / opIndex). */
async function rejectsWith(p: Promise<unknown>, code: DatastoreError['code'], extra: { key?: string; opIndex?: number } = {}): Promise<DatastoreError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(isDatastoreError(caught), `expected a DatastoreError ${code}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if ('key' in extra) assert.equal(caught.key, extra.key);
  if ('opIndex' in extra) assert.equal(caught.opIndex, extra.opIndex);
  return caught;
}

export function runDatastoreContract(name: string, makeTarget: () => Promise<ContractTarget>): void {
  describe(`Datastore contract: ${name}`, { timeout: 60_000 }, () => {
    let t: ContractTarget;
    let s: Datastore;
    before(async () => {
      t = await makeTarget();
      s = t.store;
    });
    after(async () => {
      await t?.close();
    });

    it('creates, reads, updates, puts and deletes a key with advancing revisions', async () => {
      const p = uniquePrefix('crud');
      assert.equal(await s.get(`${p}a`), undefined);
      const created = await s.create(`${p}a`, { spec: { cidr: '10.0.0.0/26' }, n: 1 });
      assert.equal(created.key, `${p}a`);
      assert.deepEqual(created.value, { spec: { cidr: '10.0.0.0/26' }, n: 1 });
      assert.equal(created.createRevision, created.revision);
      assert.deepEqual(await s.get(`${p}a`), created);

      const updated = await s.update(`${p}a`, { n: 2 }, created.revision);
      assert.ok(updated.revision > created.revision);
      assert.equal(updated.createRevision, created.revision);
      assert.deepEqual(await s.get(`${p}a`), updated);

      const put = await s.put(`${p}a`, ['any', 'json', 3, null, true]);
      assert.ok(put.revision > updated.revision);
      assert.equal(put.createRevision, created.revision);
      const fresh = await s.put(`${p}b`, 'text ✓ ünïcode');
      assert.equal(fresh.createRevision, fresh.revision);
      assert.deepEqual((await s.get(`${p}b`))?.value, 'text ✓ ünïcode');

      const deleted = await s.delete(`${p}a`);
      assert.deepEqual(deleted, put);
      assert.equal(await s.get(`${p}a`), undefined);
      const recreated = await s.create(`${p}a`, 1);
      assert.ok(recreated.createRevision > created.createRevision, 'a re-created key starts a new life');
    });

    it('returns written values as a later read returns them, never the caller\'s own object', async () => {
      const p = uniquePrefix('written-value');
      const value = { spec: { n: 1, list: [1, 2] } };
      const put = await s.put(`${p}a`, value);
      const tx = await s.txn([{ op: 'create', key: `${p}b`, value }]);
      value.spec.n = 2;
      value.spec.list.push(3);
      assert.deepEqual(put.value, { spec: { n: 1, list: [1, 2] } });
      assert.deepEqual(tx.results[0]!.value, { spec: { n: 1, list: [1, 2] } });
      assert.notEqual(put.value, value);
      assert.deepEqual(await s.get(`${p}b`), tx.results[0]);
    });

    it('refuses to create a key that exists, and leaves it unchanged', async () => {
      const p = uniquePrefix('create-exists');
      const first = await s.create(`${p}k`, { v: 1 });
      await rejectsWith(s.create(`${p}k`, { v: 2 }), 'AlreadyExists', { key: `${p}k` });
      assert.deepEqual(await s.get(`${p}k`), first);
    });

    it('update is a compare-and-swap on the revision', async () => {
      const p = uniquePrefix('cas');
      const v1 = await s.create(`${p}block`, { allocations: [null] });
      const v2 = await s.update(`${p}block`, { allocations: [0] }, v1.revision);
      const err = await rejectsWith(s.update(`${p}block`, { allocations: [1] }, v1.revision), 'Conflict', { key: `${p}block` });
      assert.match(err.message, new RegExp(`revision ${v2.revision}, expected ${v1.revision}`));
      assert.deepEqual(await s.get(`${p}block`), v2);
      await rejectsWith(s.update(`${p}missing`, 1, v1.revision), 'NotFound', { key: `${p}missing` });
      assert.equal(await s.get(`${p}missing`), undefined, 'a failed update must not create the key');
    });

    it('delete with a revision is a compare-and-delete; deleting a missing key is NotFound', async () => {
      const p = uniquePrefix('delete');
      const v1 = await s.create(`${p}h`, 'a');
      const v2 = await s.update(`${p}h`, 'b', v1.revision);
      await rejectsWith(s.delete(`${p}h`, v1.revision), 'Conflict', { key: `${p}h` });
      assert.deepEqual(await s.get(`${p}h`), v2);
      assert.deepEqual(await s.delete(`${p}h`, v2.revision), v2);
      assert.equal(await s.get(`${p}h`), undefined);
      await rejectsWith(s.delete(`${p}h`), 'NotFound', { key: `${p}h` });
      await rejectsWith(s.delete(`${p}h`, v2.revision), 'NotFound', { key: `${p}h` });
    });

    it('a transaction applies every op at one revision', async () => {
      const p = uniquePrefix('txn-ok');
      const b = await s.create(`${p}b`, 'b0');
      const d = await s.create(`${p}d`, 'd0');
      const res = await s.txn([
        { op: 'create', key: `${p}a`, value: 'a1' },
        { op: 'update', key: `${p}b`, value: 'b1', revision: b.revision },
        { op: 'put', key: `${p}c`, value: 'c1' },
        { op: 'delete', key: `${p}d`, revision: d.revision },
      ]);
      assert.equal(res.results.length, 4);
      for (const r of res.results.slice(0, 3)) assert.equal(r.revision, res.revision);
      assert.deepEqual(res.results[3], d);
      const list = await s.list(p);
      assert.deepEqual(describeItems(list.items), [`${p}a="a1"`, `${p}b="b1"`, `${p}c="c1"`]);
      assert.ok(list.items.every((kv) => kv.revision === res.revision));
    });

    it('a transaction with one failing op stores nothing and names the op', async () => {
      const p = uniquePrefix('txn-fail');
      const b = await s.create(`${p}b`, 'b0');
      await s.update(`${p}b`, 'b1', b.revision);
      await s.create(`${p}exists`, 'x');
      const before = await s.list(p);
      const cases: [TxnOp[], DatastoreError['code'], number, string][] = [
        [[{ op: 'create', key: `${p}a`, value: 1 }, { op: 'update', key: `${p}b`, value: 2, revision: b.revision }, { op: 'put', key: `${p}c`, value: 3 }], 'Conflict', 1, `${p}b`],
        [[{ op: 'put', key: `${p}c`, value: 3 }, { op: 'create', key: `${p}exists`, value: 1 }], 'AlreadyExists', 1, `${p}exists`],
        [[{ op: 'put', key: `${p}c`, value: 3 }, { op: 'create', key: `${p}a`, value: 1 }, { op: 'delete', key: `${p}gone` }], 'NotFound', 2, `${p}gone`],
        [[{ op: 'update', key: `${p}nope`, value: 1, revision: b.revision }, { op: 'put', key: `${p}c`, value: 3 }], 'NotFound', 0, `${p}nope`],
      ];
      for (const [ops, code, opIndex, key] of cases) {
        await rejectsWith(s.txn(ops), code, { opIndex, key });
      }
      const afterwards = await s.list(p);
      assert.deepEqual(afterwards.items, before.items);
    });

    it('rejects transactions that are too large or name a key twice', async () => {
      const p = uniquePrefix('txn-limits');
      const many = (n: number): TxnOp[] => Array.from({ length: n }, (_, i) => ({ op: 'create', key: `${p}k${String(i).padStart(3, '0')}`, value: i }));
      await rejectsWith(s.txn(many(MAX_TXN_OPS + 1)), 'TooLarge');
      assert.equal((await s.list(p)).items.length, 0);
      await rejectsWith(s.txn([{ op: 'put', key: `${p}x`, value: 1 }, { op: 'delete', key: `${p}x` }]), 'Invalid', { key: `${p}x`, opIndex: 1 });
      const full = await s.txn(many(MAX_TXN_OPS));
      assert.equal(full.results.length, MAX_TXN_OPS);
      // A full txn that fails on its last op still reports the right op.
      const again = many(MAX_TXN_OPS).map((op, i): TxnOp => (i < MAX_TXN_OPS - 1 ? { op: 'put', key: op.key, value: 'x' } : op));
      await rejectsWith(s.txn(again), 'AlreadyExists', { opIndex: MAX_TXN_OPS - 1 });
      assert.ok((await s.list(p)).items.every((kv, i) => kv.value === i));
    });

    it('gives every written pair its key\'s create revision, in small and in full transactions', async () => {
      const p = uniquePrefix('txn-create-revisions');
      for (const size of [3, MAX_TXN_OPS]) {
        const keys = Array.from({ length: size }, (_, i) => `${p}${size}-${String(i).padStart(3, '0')}`);
        const created = await s.txn(keys.map((key, i): TxnOp => ({ op: 'create', key, value: i })));
        const born = created.results.map((kv) => kv.createRevision);
        assert.ok(born.every((r) => r === created.revision));
        // Updates, puts over existing keys and puts of new keys, mixed.
        const ops = keys.map((key, i): TxnOp =>
          i % 3 === 0 ? { op: 'update', key, value: -i, revision: created.revision } : i % 3 === 1 ? { op: 'put', key, value: 'x' } : { op: 'put', key: `${key}-new`, value: 'y' },
        );
        const written = await s.txn(ops);
        written.results.forEach((kv, i) => {
          assert.equal(kv.revision, written.revision);
          assert.equal(kv.createRevision, i % 3 === 2 ? written.revision : born[i], `${size} ops, op ${i}`);
        });
        for (const kv of written.results) assert.deepEqual(await s.get(kv.key), kv);
      }
    });

    it('lists exactly the keys under a prefix, sorted, at a revision', async () => {
      const p = uniquePrefix('list');
      const names = ['b', 'a', 'c/nested', 'a0', 'é'];
      for (const n of names) await s.put(`${p}${n}`, { n });
      await s.put(`${p.slice(0, -1)}x`, 'sibling outside the prefix');
      const list = await s.list(p);
      assert.deepEqual(list.items.map((kv) => kv.key), [...names].sort().map((n) => `${p}${n}`));
      const last = Math.max(...list.items.map((kv) => kv.revision));
      assert.ok(list.revision >= last);
      assert.deepEqual((await s.list(uniquePrefix('empty'))).items, []);
    });

    it('lists the keys under a prefix without values, sorted, at a revision, as list has them', async () => {
      const p = uniquePrefix('list-keys');
      const names = ['b', 'a', 'c/nested', 'a0', 'é'];
      for (const n of names) await s.put(`${p}${n}`, { n, padding: 'x'.repeat(2000) });
      const a = await s.get(`${p}a`);
      await s.update(`${p}a`, { n: 'a2' }, a!.revision);
      await s.put(`${p.slice(0, -1)}x`, 'sibling outside the prefix');
      const keys = await s.listKeys(p);
      const list = await s.list(p);
      assert.deepEqual(
        keys.keys,
        list.items.map(({ key, revision, createRevision }) => ({ key, revision, createRevision })),
      );
      assert.deepEqual(keys.keys.map((k) => k.key), [...names].sort().map((n) => `${p}${n}`));
      assert.ok(keys.keys.every((k) => Object.keys(k).sort().join() === 'createRevision,key,revision'), 'no values');
      const first = keys.keys[0]!;
      assert.ok(first.revision > first.createRevision, 'the updated key keeps its create revision');
      assert.ok(keys.revision >= Math.max(...keys.keys.map((k) => k.revision)));
      assert.deepEqual((await s.listKeys(uniquePrefix('empty'))).keys, []);
    });

    it('a list revision is the point to watch from: the watch sees exactly what came after', async () => {
      const p = uniquePrefix('list-watch');
      await s.put(`${p}before`, 1);
      const list = await s.list(p);
      await s.put(`${p}after1`, 2);
      await s.delete(`${p}before`);
      const rec = new WatchRecorder();
      const w = s.watch(p, list.revision, rec);
      try {
        await rec.untilEvents(2);
        assert.deepEqual(rec.events.map((e) => (e.type === 'put' ? `put ${e.kv.key}` : `delete ${e.key}`)), [`put ${p}after1`, `delete ${p}before`]);
        assert.equal(rec.resyncs.length, 0);
      } finally {
        await w.close();
      }
    });

    it('a watch delivers every change in revision order, with previous values', async () => {
      const p = uniquePrefix('watch-order');
      const start = (await s.list(p)).revision;
      const rec = new WatchRecorder();
      const w = s.watch(p, start, rec);
      try {
        const a = await s.create(`${p}a`, 1);
        const a2 = await s.update(`${p}a`, 2, a.revision);
        await s.put(`${p.slice(0, -1)}-outside`, 'not watched');
        const tx = await s.txn([{ op: 'put', key: `${p}b`, value: 3 }, { op: 'put', key: `${p}c`, value: 4 }]);
        await s.delete(`${p}a`);
        await rec.untilEvents(5);
        const ev = rec.events;
        assert.deepEqual(ev.map((e) => e.type), ['put', 'put', 'put', 'put', 'delete']);
        const revs = ev.map((e) => (e.type === 'put' ? e.kv.revision : e.revision));
        assert.deepEqual([...revs].sort((x, y) => x - y), revs, 'revision order');
        assert.equal(revs[2], tx.revision);
        assert.equal(revs[3], tx.revision);
        const second = ev[1]!;
        assert.ok(second.type === 'put' && second.prev?.revision === a.revision && second.prev.value === 1);
        const del = ev[4]!;
        assert.ok(del.type === 'delete' && del.key === `${p}a` && del.prev?.revision === a2.revision);
        for (const d of rec.deliveries) {
          if (d.kind === 'events') for (const e of d.events) assert.ok((e.type === 'put' ? e.kv.revision : e.revision) <= d.revision);
        }
        await w.close();
        await s.put(`${p}after-close`, 1);
        const check = await s.list(p);
        assert.ok(check.items.some((kv) => kv.key === `${p}after-close`));
        assert.ok(!rec.events.some((e) => e.type === 'put' && e.kv.key === `${p}after-close`), 'no delivery after close');
      } finally {
        await w.close();
      }
    });

    it('a watch from an old revision replays the history after it', async () => {
      const p = uniquePrefix('watch-old');
      const r1 = await s.put(`${p}k`, 'v1');
      await s.put(`${p}k`, 'v2');
      await s.put(`${p}j`, 'j1');
      const rec = new WatchRecorder();
      const w = s.watch(p, r1.revision, rec);
      try {
        await rec.untilEvents(2);
        await s.put(`${p}k`, 'v3');
        await rec.untilEvents(3);
        assert.deepEqual(rec.events.map(describeEvent).map((d) => d.replace(/@\d+$/, '')), [`put ${p}k="v2"`, `put ${p}j="j1"`, `put ${p}k="v3"`]);
      } finally {
        await w.close();
      }
    });

    it('a watch from a compacted revision resyncs with a snapshot, then continues', async () => {
      const p = uniquePrefix('watch-compacted');
      const old = await s.put(`${p}k`, 'v1');
      await s.put(`${p}k`, 'v2');
      await s.put(`${p}gone`, 'x');
      const del = await s.delete(`${p}gone`);
      const latest = await s.put(`${p}z`, 'z1');
      await t.compact(latest.revision);
      const rec = new WatchRecorder();
      const w = s.watch(p, old.revision - 1, rec);
      try {
        await rec.until(() => rec.resyncs.length === 1, 'a resync');
        const snap = rec.resyncs[0]!;
        assert.deepEqual(describeItems(snap.items), [`${p}k="v2"`, `${p}z="z1"`]);
        assert.ok(snap.revision >= latest.revision && del.revision < snap.revision);
        assert.equal(rec.events.length, 0, 'nothing before the resync');
        await s.put(`${p}k`, 'v3');
        await rec.untilEvents(1);
        assert.deepEqual(rec.events.map(describeEvent).map((d) => d.replace(/@\d+$/, '')), [`put ${p}k="v3"`]);
      } finally {
        await w.close();
      }
    });

    it('a watch that falls behind a compaction while open relists and continues', async () => {
      const p = uniquePrefix('watch-behind');
      const d = await t.disconnectable();
      const rec = new WatchRecorder();
      const start = await s.put(`${p}a`, 'a1');
      const w = d.store.watch(p, start.revision, rec);
      try {
        await s.put(`${p}b`, 'b1');
        await rec.untilEvents(1);
        await d.disconnect();
        await s.put(`${p}a`, 'a2');
        await s.delete(`${p}b`);
        const c = await s.put(`${p}c`, 'c1');
        await t.compact(c.revision);
        await d.reconnect();
        await rec.until(() => rec.resyncs.length === 1, 'a resync after reconnecting');
        assert.deepEqual(describeItems(rec.resyncs[0]!.items), [`${p}a="a2"`, `${p}c="c1"`]);
        await s.put(`${p}d`, 'd1');
        await rec.until(() => rec.events.length === 2, 'the change after the resync');
        assert.deepEqual(rec.events.map(describeEvent).map((x) => x.replace(/@\d+$/, '')), [`put ${p}b="b1"`, `put ${p}d="d1"`]);
        assert.equal(rec.deliveries.at(-1)?.kind, 'events');
        assert.equal(rec.deliveries.at(-2)?.kind, 'resync', 'the new change follows the resync');
      } finally {
        await w.close();
        await d.close();
      }
    });

    it('a watch that loses its connection catches up without loss or repeats', async () => {
      const p = uniquePrefix('watch-reconnect');
      const d = await t.disconnectable();
      const rec = new WatchRecorder();
      const start = (await s.list(p)).revision;
      const w = d.store.watch(p, start, rec);
      try {
        await s.put(`${p}1`, 1);
        await rec.untilEvents(1);
        await d.disconnect();
        await s.put(`${p}2`, 2);
        await s.put(`${p}3`, 3);
        await d.reconnect();
        await s.put(`${p}4`, 4);
        await rec.untilEvents(4);
        assert.deepEqual(rec.events.map((e) => (e.type === 'put' ? e.kv.value : null)), [1, 2, 3, 4]);
        assert.equal(rec.resyncs.length, 0);
      } finally {
        await w.close();
        await d.close();
      }
    });
  });
}
