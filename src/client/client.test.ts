import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Datastore, TxnOp } from '../datastore/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { ValidationError, type ResourceObject } from '../model/index.js';
import { ResourceClient } from './client.js';
import { ResourceError } from './errors.js';

const pool = (name: string, cidr: string, meta: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): ResourceObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name, ...meta },
  spec: { cidr, ...spec },
});
const KEY = (name: string) => `/calico/resources/v3/projectcalico.org/ippools/${name}`;
const fresh = () => {
  const ds = new MemoryDatastore();
  return { ds, client: new ResourceClient(ds, { skipBootstrap: true }) };
};
const rejectsWith = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => (e as { code?: string }).code === code);

describe('ResourceClient single-resource operations', () => {
  it('create stores uid and creationTimestamp, not resourceVersion; get reports the KV revision', async () => {
    const { ds, client } = fresh();
    const created = await client.create(pool('a', '10.1.0.0/16'));
    const raw = (await ds.get(KEY('a')))!;
    const meta = (raw.value as { metadata: Record<string, unknown> }).metadata;
    assert.equal('resourceVersion' in meta, false);
    assert.match(String(meta.uid), /^[0-9a-f-]{36}$/);
    assert.match(String(meta.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.metadata.resourceVersion, String(raw.revision));
    const got = await client.get('ipp', undefined, 'a');
    assert.deepEqual(got, created);
  });
  it('create of an existing resource fails with AlreadyExists', async () => {
    const { client } = fresh();
    await client.create(pool('a', '10.1.0.0/16'));
    await rejectsWith(client.create(pool('a', '10.2.0.0/16')), 'AlreadyExists');
  });
  it('update compares resourceVersion when given and keeps uid and creationTimestamp', async () => {
    const { client } = fresh();
    const v1 = await client.create(pool('a', '10.1.0.0/16'));
    const v2 = await client.update(pool('a', '10.1.0.0/16', { resourceVersion: v1.metadata.resourceVersion }, { natOutgoing: true }));
    assert.equal(v2.metadata.uid, v1.metadata.uid);
    assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
    assert.notEqual(v2.metadata.resourceVersion, v1.metadata.resourceVersion);
    await rejectsWith(client.update(pool('a', '10.1.0.0/16', { resourceVersion: v1.metadata.resourceVersion })), 'Conflict');
    const v3 = await client.update(pool('a', '10.1.0.0/16', {}, { disabled: true }));
    assert.equal((v3.spec as { disabled: boolean }).disabled, true);
  });
  it('replace needs the resource to exist', async () => {
    const { client } = fresh();
    await rejectsWith(client.replace(pool('a', '10.1.0.0/16')), 'NotFound');
  });
  it('apply creates, then updates keeping the uid', async () => {
    const { client } = fresh();
    const v1 = await client.apply(pool('a', '10.1.0.0/16'));
    const v2 = await client.apply(pool('a', '10.1.0.0/16', {}, { natOutgoing: true }));
    assert.equal(v2.metadata.uid, v1.metadata.uid);
    assert.equal((v2.spec as { natOutgoing: boolean }).natOutgoing, true);
  });
  it('delete compares resourceVersion when given, and reports a missing resource as NotFound', async () => {
    const { client } = fresh();
    const v1 = await client.create(pool('a', '10.1.0.0/16'));
    await client.apply(pool('a', '10.1.0.0/16', {}, { natOutgoing: true }));
    await rejectsWith(client.delete('ippool', undefined, 'a', { resourceVersion: v1.metadata.resourceVersion! }), 'Conflict');
    const gone = await client.delete('ippool', undefined, 'a');
    assert.equal(gone.metadata.name, 'a');
    await rejectsWith(client.get('ippool', undefined, 'a'), 'NotFound');
    await rejectsWith(client.delete('ippool', undefined, 'a'), 'NotFound');
  });
  it('list filters by a Calico label selector and refuses a bad one', async () => {
    const { client } = fresh();
    await client.createAll([
      pool('a', '10.1.0.0/16', { labels: { env: 'prod', zone: 'x' } }),
      pool('b', '10.2.0.0/16', { labels: { env: 'dev' } }),
      pool('c', '10.3.0.0/16'),
    ]);
    const names = async (sel?: string) => (await client.list('ippool', sel === undefined ? {} : { labelSelector: sel })).items.map((r) => r.metadata.name);
    assert.deepEqual(await names(), ['a', 'b', 'c']);
    assert.deepEqual(await names('env == "prod"'), ['a']);
    assert.deepEqual(await names('!has(env)'), ['c']);
    assert.deepEqual(await names("env in {'prod','dev'} && !has(zone)"), ['b']);
    await assert.rejects(names('env = prod'), (e: unknown) => (e as Error).name === 'SelectorParseError');
  });
});

describe('ResourceClient.patch', () => {
  it('merges, validates and stores', async () => {
    const { client } = fresh();
    await client.create(pool('a', '10.1.0.0/16', { labels: { x: '1', y: '2' } }));
    const p = await client.patch('ippool', undefined, 'a', { metadata: { labels: { y: null } }, spec: { natOutgoing: true } });
    assert.deepEqual(p.metadata.labels, { x: '1' });
    assert.equal((p.spec as { natOutgoing: boolean }).natOutgoing, true);
  });
  it('refuses a patch that makes the resource invalid, leaving it as it was', async () => {
    const { client } = fresh();
    const before = await client.create(pool('a', '10.1.0.0/16'));
    await assert.rejects(client.patch('ippool', undefined, 'a', { spec: { blockSize: 99 } }), (e: unknown) => e instanceof ValidationError && e.issues.some((i) => i.path === 'spec.blockSize'));
    assert.deepEqual(await client.get('ippool', undefined, 'a'), before);
  });
  it('refuses renaming and a missing resource', async () => {
    const { client } = fresh();
    await client.create(pool('a', '10.1.0.0/16'));
    await rejectsWith(client.patch('ippool', undefined, 'a', { metadata: { name: 'b' } }), 'Invalid');
    await rejectsWith(client.patch('ippool', undefined, 'zz', { spec: {} }), 'NotFound');
  });
  it('re-reads and patches again when another writer got in between', async () => {
    const ds = new MemoryDatastore();
    let interfered = false;
    // A datastore whose first transaction is preceded by another writer's change to the pool.
    const racing: Datastore = Object.assign(Object.create(ds) as Datastore, {
      txn: async (ops: readonly TxnOp[]) => {
        if (!interfered) {
          interfered = true;
          const kv = (await ds.get(KEY('a')))!;
          const v = kv.value as { spec: Record<string, unknown> };
          await ds.update(KEY('a'), { ...v, spec: { ...v.spec, disabled: true } } as never, kv.revision);
        }
        return ds.txn(ops);
      },
    });
    const writer = new ResourceClient(ds, { skipBootstrap: true });
    await writer.create(pool('a', '10.1.0.0/16'));
    const client = new ResourceClient(racing, { skipBootstrap: true });
    const p = await client.patch('ippool', undefined, 'a', { spec: { natOutgoing: true } });
    assert.equal(interfered, true);
    assert.deepEqual([(p.spec as { disabled: boolean }).disabled, (p.spec as { natOutgoing: boolean }).natOutgoing], [true, true]);
  });
});

describe('ResourceClient batches', () => {
  it('applyAll stores nothing when one object is invalid', async () => {
    const { ds, client } = fresh();
    await assert.rejects(client.applyAll([pool('a', '10.1.0.0/16'), pool('b', 'not-a-cidr'), pool('c', '10.3.0.0/16')]), ValidationError);
    assert.equal((await ds.list('/calico/')).items.length, 0);
  });
  it('createAll stores nothing when one object exists, and skips it with skipExisting', async () => {
    const { client } = fresh();
    await client.create(pool('b', '10.2.0.0/16'));
    await rejectsWith(client.createAll([pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')]), 'AlreadyExists');
    assert.deepEqual((await client.list('ippool')).items.map((r) => r.metadata.name), ['b']);
    const r = await client.createAll([pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')], { skipExisting: true });
    assert.deepEqual([r.items.map((i) => i.metadata.name), r.skipped], [['a'], [1]]);
  });
  it('writes a batch in one transaction, and splits one over MAX_TXN_OPS saying how many it used', async () => {
    const { ds, client } = fresh();
    const small = await client.applyAll([pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')]);
    assert.equal(small.transactions, 1);
    assert.equal(small.items[0]!.metadata.resourceVersion, small.items[1]!.metadata.resourceVersion);
    const many = Array.from({ length: 130 }, (_, i) => pool(`p${i}`, `10.${100 + Math.floor(i / 2)}.${(i % 2) * 128}.0/25`));
    const big = await client.applyAll(many);
    assert.equal(big.transactions, 2);
    assert.equal((await ds.list(KEY(''))).items.length, 132);
  });
  it('deleteAll removes everything or nothing', async () => {
    const { client } = fresh();
    await client.createAll([pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')]);
    await rejectsWith(client.deleteAll([pool('a', '10.1.0.0/16'), pool('zz', '10.9.0.0/16')]), 'NotFound');
    assert.equal((await client.list('ippool')).items.length, 2);
    const r = await client.deleteAll([pool('a', '10.1.0.0/16'), pool('zz', '10.9.0.0/16')], { ignoreNotFound: true });
    assert.deepEqual([r.items.length, r.skipped], [1, [1]]);
  });
  it('names the resource in errors', async () => {
    const { client } = fresh();
    await assert.rejects(client.get('ippool', undefined, 'nope'), (e: unknown) => e instanceof ResourceError && e.message === 'resource does not exist: IPPool(nope)');
  });
});

describe('ResourceClient refuses overlapping IPPools', () => {
  it('refuses a pool overlapping a stored one, naming both, and stores nothing from the batch', async () => {
    const { ds, client } = fresh();
    await client.create(pool('a', '10.1.0.0/16'));
    await assert.rejects(
      client.applyAll([pool('ok', '10.9.0.0/16'), pool('b', '10.1.128.0/24')]),
      (e: unknown) => e instanceof ResourceError && e.code === 'Invalid' && /IPPool\(b\).*10\.1\.128\.0\/24 overlaps IPPool "a" \(10\.1\.0\.0\/16\).*cidr-overlap/.test(e.message),
    );
    assert.equal(await ds.get(KEY('ok')), undefined);
    assert.equal(await ds.get(KEY('b')), undefined);
  });
  it('refuses two overlapping pools in one request, and lets a pool be re-applied over itself', async () => {
    const { client } = fresh();
    await rejectsWith(client.applyAll([pool('x', '10.0.0.0/8'), pool('y', '10.200.0.0/16')]), 'Invalid');
    await client.apply(pool('x', '10.0.0.0/8'));
    await client.apply(pool('x', '10.0.0.0/8', {}, { natOutgoing: true }));
    await client.apply(pool('v6', 'fd00:10:244::/48'));
    await rejectsWith(client.create(pool('v6b', 'fd00:10:244:1::/64')), 'Invalid');
  });
});

describe('ResourceClient tiers', () => {
  const tier = (name: string): ResourceObject => ({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec: { order: 100 } });
  const gnp = (name: string, tierName: string): ResourceObject => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec: { tier: tierName, selector: 'all()', ingress: [{ action: 'Allow' }] },
  });

  it('a tier delete that lists the tier empty while a policy is created in it fails over to the refusal', async () => {
    const ds = new MemoryDatastore();
    const other = new ResourceClient(ds);
    await other.create(tier('sec'));
    let interfered = false;
    // The policy lands between the delete's read of the tier and its transaction.
    const racing: Datastore = Object.assign(Object.create(ds) as Datastore, {
      list: async (prefix: string) => {
        const listed = await ds.list(prefix);
        if (!interfered && prefix.includes('globalnetworkpolicies')) {
          interfered = true;
          await other.create(gnp('sec.late', 'sec'));
        }
        return listed;
      },
    });
    await rejectsWith(new ResourceClient(racing).delete('tier', undefined, 'sec'), 'Invalid');
    assert.equal(interfered, true);
    assert.ok(await ds.get('/calico/resources/v3/projectcalico.org/tiers/sec'));
    assert.ok(await ds.get('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/sec.late'));
  });

  it('a policy create whose tier is deleted before its transaction is refused, not left without a tier', async () => {
    const ds = new MemoryDatastore();
    const other = new ResourceClient(ds);
    await other.create(tier('gone'));
    let interfered = false;
    const racing: Datastore = Object.assign(Object.create(ds) as Datastore, {
      txn: async (ops: readonly TxnOp[]) => {
        if (!interfered) {
          interfered = true;
          await other.delete('tier', undefined, 'gone');
        }
        return ds.txn(ops);
      },
    });
    await rejectsWith(new ResourceClient(racing).create(gnp('gone.p', 'gone')), 'NotFound');
    assert.equal(interfered, true);
    assert.equal(await ds.get('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/gone.p'), undefined);
  });

  it('creates a tier and its policies in one batch, labels policies with their tier, and deletes them together', async () => {
    const ds = new MemoryDatastore();
    const client = new ResourceClient(ds);
    const r = await client.createAll([tier('app'), gnp('app.a', 'app')]);
    assert.equal(r.items[1]!.metadata.labels?.['projectcalico.org/tier'], 'app');
    await client.deleteAll([tier('app'), gnp('app.a', 'app')]);
    assert.equal(await ds.get('/calico/resources/v3/projectcalico.org/tiers/app'), undefined);
  });
});
