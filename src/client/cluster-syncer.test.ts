// The typed view of the cluster on MemoryDatastore and a real etcd: a typed snapshot then typed
// updates, invalid values reported with their key and treated as absent, IPAM records decoded,
// and a resync after compaction that reports only what changed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ContractTarget } from '../datastore/contract.test-suite.js';
import type { SyncStatus } from '../datastore/index.js';
import { affinityKey, blockKey, handleKey, namespaceKey, nodeKey, podKey, type StoredValueError } from '../model/index.js';
import { parseCIDR } from '../ip/index.js';
import { etcdTarget, memoryTarget } from '../testing/datastore-targets.js';
import { ClusterSyncer, type ClusterUpdate } from './cluster-syncer.js';

const node = (name: string, ipv4: string) => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: ipv4 } } });
const pod = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: name } }, spec: { containers: [{ name: 'c' }] } });
const BLOCK = parseCIDR('10.9.0.0/30');
const block = { cidr: '10.9.0.0/30', affinity: 'host:n1', strictAffinity: false, allocations: [0, null, null, null], unallocated: [1, 2, 3], attributes: [{ handle_id: 'h1', secondary: { pod: 'p1' } }], deleted: false, sequenceNumber: 1, sequenceNumberForAllocation: { '0': 0 } };

class Recorder {
  readonly statuses: SyncStatus[] = [];
  readonly updates: ClusterUpdate[] = [];
  readonly invalid: StoredValueError[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly callbacks = {
    onStatus: (s: SyncStatus) => this.push(() => this.statuses.push(s)),
    onUpdates: (u: readonly ClusterUpdate[]) => this.push(() => this.updates.push(...u)),
    onInvalid: (e: StoredValueError) => this.push(() => this.invalid.push(e)),
  };
  /** Updates as short lines: `<kind> <ns/>name <value summary | gone>`. */
  lines(from = 0): string[] {
    return this.updates.slice(from).map((u) => `${u.kind} ${'namespace' in u && u.namespace ? `${u.namespace}/` : ''}${u.name} ${u.value === undefined ? 'gone' : 'set'}`);
  }
  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never reached: ${what}; statuses ${this.statuses.join(',')} updates ${this.lines().join(' | ')}`)), 20_000);
      this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
  private push(record: () => void): void {
    record();
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

function suite(name: string, makeTarget: () => Promise<ContractTarget>): void {
  describe(`ClusterSyncer on ${name}`, { timeout: 60_000 }, () => {
    let t: ContractTarget;
    before(async () => {
      t = await makeTarget();
    });
    after(async () => {
      await t?.close();
    });

    it('hands over a typed snapshot, then typed updates; invalid values are named and absent', async () => {
      const s = t.store;
      await s.put(nodeKey('n1'), node('n1', '10.0.0.1/24'));
      await s.put(nodeKey('bad'), { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'bad' }, spec: { bgp: { ipv4Address: 'fd00::1' } } });
      await s.put(podKey('shop', 'web'), pod('shop', 'web'));
      await s.put(blockKey(BLOCK), block);
      await s.put(affinityKey('n1', BLOCK), { state: 'confirmed', deleted: false });
      await s.put(handleKey('h1'), { handleID: 'h1', block: { '10.9.0.0/30': 1 }, deleted: false });
      const rec = new Recorder();
      const syncer = new ClusterSyncer(s, rec.callbacks, { kinds: ['Node', 'Pod', 'Namespace'], ipam: ['IPAMBlock', 'BlockAffinity', 'IPAMHandle'] });
      syncer.start();
      try {
        await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
        assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
        assert.deepEqual(rec.lines().sort(), ['BlockAffinity n1/10.9.0.0/30 set', 'IPAMBlock 10.9.0.0/30 set', 'IPAMHandle h1 set', 'Node n1 set', 'Pod shop/web set']);
        assert.deepEqual(rec.invalid.map((e) => e.key), [nodeKey('bad')]);
        assert.match(rec.invalid[0]!.message, /spec\.bgp\.ipv4Address/);
        // Typed values: no casts needed by a consumer.
        assert.equal(syncer.get('Node', 'n1')?.spec.bgp?.ipv4Address, '10.0.0.1/24');
        assert.equal(syncer.get('Pod', 'web', 'shop')?.metadata.labels?.['app'], 'web');
        assert.equal(syncer.get('IPAMBlock', '10.9.0.0/30')?.node, 'n1');
        assert.equal(syncer.get('BlockAffinity', 'n1/10.9.0.0/30')?.state, 'confirmed');
        assert.deepEqual(syncer.get('IPAMHandle', 'h1')?.block, { '10.9.0.0/30': 1 });
        assert.deepEqual(syncer.list('Node').map((u) => u.name), ['n1']);

        const mark = rec.updates.length;
        await s.put(namespaceKey('shop'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
        await s.delete(podKey('shop', 'web'));
        await s.put(nodeKey('n1'), { ...node('n1', '10.0.0.1/24'), spec: { bgp: { ipv4Address: 'not an address' } } });
        await s.put(nodeKey('bad'), node('bad', '10.0.0.9/24'));
        await rec.until(() => rec.updates.length >= mark + 4, 'four updates');
        // Each kind is watched on its own: changes of one kind keep their order, kinds interleave.
        assert.deepEqual(rec.lines(mark).filter((l) => l.startsWith('Node')), ['Node n1 gone', 'Node bad set']);
        assert.deepEqual(rec.lines(mark).sort(), ['Namespace shop set', 'Node bad set', 'Node n1 gone', 'Pod shop/web gone']);
        const gone = rec.updates.slice(mark).find((u) => u.kind === 'Pod')!;
        assert.equal(gone.kind === 'Pod' ? gone.namespace : undefined, 'shop');
        assert.equal(rec.invalid.at(-1)?.key, nodeKey('n1'));
        assert.equal(syncer.get('Node', 'n1'), undefined);
      } finally {
        await syncer.stop();
      }
    });

    it('after a compaction resync, reports only what changed, typed', async () => {
      const s = t.store;
      await s.put(nodeKey('keep'), node('keep', '10.1.0.1/24'));
      await s.put(nodeKey('move'), node('move', '10.1.0.2/24'));
      await s.put(nodeKey('drop'), node('drop', '10.1.0.3/24'));
      const d = await t.disconnectable();
      const rec = new Recorder();
      const syncer = new ClusterSyncer(d.store, rec.callbacks, { kinds: ['Node'] });
      syncer.start();
      try {
        await rec.until(() => rec.statuses.at(-1) === 'InSync', 'InSync');
        const mark = rec.updates.length;
        await d.disconnect();
        await s.put(nodeKey('move'), node('move', '10.1.0.22/24'));
        await s.delete(nodeKey('drop'));
        const last = await s.put(nodeKey('new'), node('new', '10.1.0.4/24'));
        await t.compact(last.revision);
        await d.reconnect();
        await rec.until(() => rec.statuses.length === 5, 'a resync and InSync again');
        assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync', 'ResyncInProgress', 'InSync']);
        assert.deepEqual(rec.lines(mark).sort(), ['Node drop gone', 'Node move set', 'Node new set']);
        assert.equal(syncer.get('Node', 'move')?.spec.bgp?.ipv4Address, '10.1.0.22/24');
      } finally {
        await syncer.stop();
        await d.close();
      }
    });
  });
}

suite('memory', memoryTarget);
suite('etcd', () => etcdTarget(false));
