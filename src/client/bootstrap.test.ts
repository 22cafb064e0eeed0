import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { ResourceClient } from './client.js';
import { CLUSTER_VERSION, ensureInitialized } from './bootstrap.js';

const TIERS = '/calico/resources/v3/projectcalico.org/tiers/';
const CLUSTERINFO = '/calico/resources/v3/projectcalico.org/clusterinformations/default';

describe('bootstrap (EnsureInitialized)', () => {
  it('creates ClusterInformation default and the three tiers with Calico settings', async () => {
    const ds = new MemoryDatastore();
    const created = await ensureInitialized(ds);
    assert.deepEqual(created.sort(), ['ClusterInformation(default)', 'Tier(default)', 'Tier(kube-admin)', 'Tier(kube-baseline)']);
    const info = (await ds.get(CLUSTERINFO))!.value as { spec: Record<string, unknown> };
    assert.match(String(info.spec.clusterGUID), /^[0-9a-f]{32}$/);
    assert.equal(info.spec.datastoreReady, true);
    assert.equal(info.spec.calicoVersion, CLUSTER_VERSION);
    const tiers = (await ds.list(TIERS)).items.map((kv) => {
      const v = kv.value as { metadata: { name: string }; spec: { order: number; defaultAction: string } };
      return [v.metadata.name, v.spec.order, v.spec.defaultAction];
    });
    assert.deepEqual(tiers, [
      ['default', 1_000_000, 'Deny'],
      ['kube-admin', 1_000, 'Pass'],
      ['kube-baseline', 10_000_000, 'Pass'],
    ]);
  });
  it('is idempotent and leaves existing objects untouched', async () => {
    const ds = new MemoryDatastore();
    await ensureInitialized(ds);
    const before = await ds.list('/calico/');
    assert.deepEqual(await ensureInitialized(ds), []);
    assert.deepEqual((await ds.list('/calico/')).items, before.items);
  });
  it('is race-safe: concurrent clients end with one ClusterInformation and one GUID', async () => {
    const ds = new MemoryDatastore();
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureInitialized(ds)));
    assert.equal(results.flat().filter((n) => n === 'ClusterInformation(default)').length, 1);
    assert.equal((await ds.list('/calico/')).items.length, 4);
  });
  it('fills only what is missing', async () => {
    const ds = new MemoryDatastore();
    await ensureInitialized(ds);
    await ds.delete(`${TIERS}kube-admin`);
    const guid = ((await ds.get(CLUSTERINFO))!.value as { spec: { clusterGUID: string } }).spec.clusterGUID;
    assert.deepEqual(await ensureInitialized(ds), ['Tier(kube-admin)']);
    assert.equal(((await ds.get(CLUSTERINFO))!.value as { spec: { clusterGUID: string } }).spec.clusterGUID, guid);
  });
  it('runs before a client first writes, not on reads', async () => {
    const ds = new MemoryDatastore();
    const client = new ResourceClient(ds);
    await client.list('ippool');
    assert.equal((await ds.list('/calico/')).items.length, 0);
    await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/16' } });
    assert.equal((await ds.list('/calico/')).items.length, 5);
  });
});
