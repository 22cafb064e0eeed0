// The Datastore contract on MemoryDatastore, plus what only the memory backend promises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryTarget } from '../testing/datastore-targets.js';
import { WatchRecorder } from '../testing/watch-recorder.js';
import { runDatastoreContract } from './contract.test-suite.js';
import { MemoryDatastore } from './memory.js';

runDatastoreContract('memory', memoryTarget);

describe('MemoryDatastore', () => {
  it('never lets a caller mutate stored values by reference', async () => {
    const s = new MemoryDatastore();
    const value = { list: [1] };
    const kv = await s.create('/k', value);
    value.list.push(2);
    (kv.value as { list: number[] }).list.push(3);
    assert.deepEqual((await s.get('/k'))?.value, { list: [1] });
  });

  it('keeps history at the compaction revision itself, as etcd does', async () => {
    const s = new MemoryDatastore();
    const a = await s.put('/p/a', 1);
    const b = await s.put('/p/b', 2);
    s.compact(b.revision);
    const rec = new WatchRecorder();
    const w = s.watch('/p/', a.revision, rec);
    await rec.untilEvents(1);
    assert.equal(rec.resyncs.length, 0);
    await w.close();
  });

  it('refuses work once closed', async () => {
    const s = new MemoryDatastore();
    await s.close();
    await assert.rejects(s.get('/k'), { code: 'Unavailable' });
  });
});
