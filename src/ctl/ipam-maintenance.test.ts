// tabbyctl ipam show --show-borrowed/--show-configuration, configure --ip-cooldown-seconds,
// check -o FILE, release --from-report and split, in-process against a shared MemoryDatastore.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureInitialized } from '../client/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { BlockAllocator } from '../ipam/index.js';
import { CLUSTER_INFORMATION_KEY as CLUSTER_INFO_KEY, handleKey, IPAM_CONFIG_KEY, STORED } from '../model/index.js';
import { putNode, putPool, putWorkloadEndpoint } from '../testing/resources.js';
import { runCtlInProcess } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'tabbyctl-ipam-maint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (ds: MemoryDatastore, ...args: string[]) => runCtlInProcess(args, { ds });

const ok = (r: { code: number; stdout: string; stderr: string }) => assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
const lock = (ds: MemoryDatastore, ready: boolean) => run(ds, 'patch', 'clusterinformation', 'default', '-p', JSON.stringify({ spec: { datastoreReady: ready } }));
const attrs = (pod: string, node: string) => ({ pod, namespace: 'default', node });

describe('tabbyctl ipam show --show-borrowed / --show-configuration', () => {
  it('lists addresses taken from another node’s block with their type and owner, as table and JSON', async () => {
    const ds = new MemoryDatastore();
    await putPool(ds, 'one-block', { cidr: '10.30.0.0/26', blockSize: 26 });
    await putNode(ds, 'node-a');
    await putNode(ds, 'node-b');
    const ipam = new BlockAllocator(ds);
    await ipam.autoAssign({ handleId: 'k8s-pod-network.a1', node: 'node-a', num4: 1, num6: 0, attrs: attrs('a1', 'node-a') });
    // The only block is node-a's: node-b borrows.
    const b1 = (await ipam.autoAssign({ handleId: 'k8s-pod-network.b1', node: 'node-b', num4: 1, num6: 0, attrs: attrs('b1', 'node-b') })).ipv4[0]!.ip;
    await ipam.assignIP({ ip: '10.30.0.40', handleId: 'vxlan-tunnel-addr-node-b', node: 'node-b', attrs: { node: 'node-b' } });
    await ipam.assignIP({ ip: '10.30.0.41', handleId: 'by-hand', node: 'node-b', attrs: { note: 'no node attribute' } });

    const r = await run(ds, 'ipam', 'show', '--show-borrowed');
    ok(r);
    assert.match(r.stdout, /\|\s+IP\s+\| BORROWING-NODE \|\s+BLOCK\s+\| BLOCK OWNER \|\s+TYPE\s+\|\s+ALLOCATED-TO\s+\|/);
    assert.match(r.stdout, new RegExp(`\\| ${b1.replace(/\./g, '\\.')}\\s+\\| node-b\\s+\\| 10\\.30\\.0\\.0/26 \\| node-a\\s+\\| pod\\s+\\| default/b1\\s+\\|`));
    assert.match(r.stdout, /\| 10\.30\.0\.40\s+\| node-b\s+\| 10\.30\.0\.0\/26 \| node-a\s+\| vxlanTunnelAddress \| node node-b\s+\|/);
    assert.doesNotMatch(r.stdout, /10\.30\.0\.41/);
    assert.match(r.stdout, /Note: found 1 IP allocations without an explicit node association/);
    const js = JSON.parse((await run(ds, 'ipam', 'show', '--show-borrowed', '-o', 'json')).stdout) as { kind: string; borrowed: { ip: string; blockOwner: string }[]; unclassified: number };
    assert.equal(js.kind, 'borrowed');
    assert.deepEqual(js.borrowed.map((b) => b.ip).sort(), [b1, '10.30.0.40'].sort());
    assert.equal(js.unclassified, 1);
  });

  it('prints the configuration as PROPERTY | VALUE and refuses combined views', async () => {
    const ds = new MemoryDatastore();
    ok(await run(ds, 'ipam', 'configure', '--strictaffinity=true', '--max-blocks-per-host', '3', '--ip-cooldown-seconds', '90'));
    const r = await run(ds, 'ipam', 'show', '--show-configuration');
    ok(r);
    assert.match(r.stdout, /\|\s+PROPERTY\s+\|\s+VALUE\s+\|/);
    for (const row of [/\| StrictAffinity\s+\| true\s+\|/, /\| AutoAllocateBlocks\s+\| true\s+\|/, /\| MaxBlocksPerHost\s+\| 3\s+\|/, /\| IPCooldownSeconds\s+\| 90\s+\|/]) assert.match(r.stdout, row);
    const js = JSON.parse((await run(ds, 'ipam', 'show', '--show-configuration', '-o', 'json')).stdout) as { config: unknown };
    assert.deepEqual(js.config, { strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 3, ipCooldownSeconds: 90 });
    const empty = await run(new MemoryDatastore(), 'ipam', 'show', '--show-configuration');
    assert.match(empty.stdout, /\| MaxBlocksPerHost\s+\| 0 \(the default, 20\) \|/);
    const both = await run(ds, 'ipam', 'show', '--show-borrowed', '--show-configuration');
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--show-borrowed and --show-configuration cannot be used together/);
  });
});

describe('tabbyctl ipam configure --ip-cooldown-seconds', () => {
  it('stores 0..1200 under Calico’s config key, keeps fields it does not know, and refuses anything else', async () => {
    const ds = new MemoryDatastore();
    await ds.put(IPAM_CONFIG_KEY, { strict_affinity: false, auto_allocate_blocks: true, kubeVirtVMAddressPersistence: 'Enabled' });
    const r = await run(ds, 'ipam', 'configure', '--ip-cooldown-seconds', '120');
    ok(r);
    assert.equal(r.stdout, 'Successfully set IPCooldownSeconds to: 120\n');
    assert.deepEqual((await ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: false, auto_allocate_blocks: true, kubeVirtVMAddressPersistence: 'Enabled', maxBlocksPerHost: 0, ipCooldownSeconds: 120 });
    for (const bad of ['1201', '-1', 'soon', '1.5']) {
      const e = await run(ds, 'ipam', 'configure', '--ip-cooldown-seconds', bad);
      assert.equal(e.code, 1, bad);
      assert.match(e.stderr, /--ip-cooldown-seconds/);
    }
    ok(await run(ds, 'ipam', 'configure', '--ip-cooldown-seconds', '0'));
    assert.deepEqual((await ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: false, auto_allocate_blocks: true, kubeVirtVMAddressPersistence: 'Enabled', maxBlocksPerHost: 0 });
  });

  it('refuses strict affinity off when auto-allocation is off (Calico’s rule), writing nothing', async () => {
    const ds = new MemoryDatastore();
    await ds.put(IPAM_CONFIG_KEY, { strict_affinity: true, auto_allocate_blocks: false });
    const e = await run(ds, 'ipam', 'configure', '--strictaffinity=false');
    assert.equal(e.code, 1);
    assert.match(e.stderr, /strictAffinity false with autoAllocateBlocks false/);
    assert.deepEqual((await ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: true, auto_allocate_blocks: false });
  });
});

/** A node, a one-block pool, one live pod, one pod that went away, one handle record with no address. */
async function leakyCluster() {
  const ds = new MemoryDatastore();
  await ensureInitialized(ds);
  await putPool(ds, 'tiny', { cidr: '10.40.0.0/29', blockSize: 29 });
  await putNode(ds, 'node-a');
  const ipam = new BlockAllocator(ds);
  const pod = async (name: string, live: boolean) => {
    const a = (await ipam.autoAssign({ handleId: `k8s-pod-network.${name}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(name, 'node-a') })).ipv4[0]!;
    if (live) await putWorkloadEndpoint(ds, 'default', 'node-a', name, [a.ip]);
    return a;
  };
  const live = await pod('live', true);
  const gone = await pod('gone', false);
  await ds.put(handleKey('orphan'), { handleID: 'orphan', block: {}, deleted: false });
  return { ds, ipam, pod, live, gone };
}

describe('tabbyctl ipam check -o FILE and release --from-report', () => {
  it('writes calicoctl’s report fields and releases what it lists only from a locked datastore', async () => {
    const c = await leakyCluster();
    const early = join(dir, 'early.json');
    const chk = await run(c.ds, 'ipam', 'check', '-o', early);
    ok(chk);
    assert.match(chk.stdout, /Check complete; found 2 problems\.\nReport written to .*early\.json\n$/);
    const report = JSON.parse(readFileSync(early, 'utf8')) as Record<string, unknown> & { allocations: Record<string, { inUse: boolean; sequenceNumber: number; owners: string[] }[]>; leakedHandles: { ID: string; Revision: string }[] };
    const info = (await c.ds.get(CLUSTER_INFO_KEY))!;
    assert.equal(report['version'], 'v0.1.0');
    assert.equal(report['clusterGUID'], (info.value as { spec: { clusterGUID: string } }).spec.clusterGUID);
    assert.equal(report['datastoreLocked'], false);
    assert.equal(report['clusterInformationRevision'], String(info.revision));
    assert.equal(report['clusterType'], '');
    assert.deepEqual(report.allocations[c.live.ip]![0]!.owners, ['Workload(default/node--a-k8s-live-eth0)']);
    assert.equal(report.allocations[c.gone.ip]![0]!.inUse, false);
    assert.equal(report.allocations[c.gone.ip]![0]!.sequenceNumber, c.gone.sequenceNumber);
    assert.deepEqual(report.leakedHandles.map((h) => h.ID), ['orphan']);

    const unlocked = await run(c.ds, 'ipam', 'release', '--from-report', early);
    assert.equal(unlocked.code, 1);
    assert.match(unlocked.stderr, /the datastore is not locked .*tabbyctl patch clusterinformation default/);
    ok(await lock(c.ds, false));
    const stale = await run(c.ds, 'ipam', 'release', '--from-report', early);
    assert.equal(stale.code, 3);
    assert.match(stale.stderr, /stale: taken at ClusterInformation revision \d+, now \d+/);

    const fresh = join(dir, 'fresh.json');
    ok(await run(c.ds, 'ipam', 'check', '-o', fresh));
    assert.equal((JSON.parse(readFileSync(fresh, 'utf8')) as { datastoreLocked: boolean }).datastoreLocked, true);
    const r = await run(c.ds, 'ipam', 'release', '--from-report', fresh);
    ok(r);
    assert.match(r.stdout, new RegExp(`Released 1 IPs successfully: ${c.gone.ip.replace(/\./g, '\\.')}\n`));
    assert.match(r.stdout, /Deleted 1 leaked handles; 0 skipped/);
    assert.match(r.stdout, /You may now unlock the datastore/);
    assert.deepEqual(await c.ipam.addressesByHandle('k8s-pod-network.gone'), []);
    assert.deepEqual(await c.ipam.addressesByHandle('k8s-pod-network.live'), [c.live.ip]);
    assert.equal(await c.ds.get(handleKey('orphan')), undefined);
    // Running it again finds everything already done.
    const again = JSON.parse((await run(c.ds, 'ipam', 'release', '--from-report', fresh, '-o', 'json')).stdout) as { alreadyReleased: string[]; handlesSkipped: string[] };
    assert.deepEqual(again.alreadyReleased, [c.gone.ip]);
    assert.deepEqual(again.handlesSkipped, ['orphan']);
  });

  it('leaves an address handed out again since the report (new sequence number), and refuses another cluster’s report', async () => {
    const c = await leakyCluster();
    ok(await lock(c.ds, false));
    const file = join(dir, 'reassigned.json');
    ok(await run(c.ds, 'ipam', 'check', '-o', file));
    // The leak is released by hand and its address goes to a new pod: same IP, new allocation.
    await c.ipam.releaseByHandle('k8s-pod-network.gone');
    for (let i = 0; i < 6; i++) await c.pod(`filler${i}`, true);
    const reborn = await c.pod('reborn', false);
    assert.equal(reborn.ip, c.gone.ip, 'the only free address is the one released');
    assert.notEqual(reborn.sequenceNumber, c.gone.sequenceNumber);
    const r = await run(c.ds, 'ipam', 'release', '--from-report', file);
    ok(r);
    assert.match(r.stdout, /Released 0 IPs successfully\n1 addresses were assigned again or are in use since the report and were left alone/);
    assert.deepEqual(await c.ipam.addressesByHandle('k8s-pod-network.reborn'), [reborn.ip]);

    const report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ ...report, clusterGUID: 'someone-else' }));
    const f = await run(c.ds, 'ipam', 'release', '--from-report', foreign, '--force');
    assert.equal(f.code, 1);
    assert.match(f.stderr, /report .*foreign\.json is of cluster someone-else.*--force does not override this/);
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify({ ...report, version: 'v0.0.1' }));
    assert.match((await run(c.ds, 'ipam', 'release', '--from-report', old)).stderr, /written by tabbyctl v0\.0\.1, this is v0\.1\.0/);
    assert.match((await run(c.ds, 'ipam', 'release', '--from-report', old, '--force')).stdout, /WARNING: report .*old\.json was written by tabbyctl v0\.0\.1/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ ...report, allocations: { '10.40.0.1': [{ inUse: false }] } }));
    const b = await run(c.ds, 'ipam', 'release', '--from-report', broken);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /broken\.json: allocations\["10\.40\.0\.1"\]\[0\]\.sequenceNumber is missing/);
    assert.equal((await run(c.ds, 'ipam', 'release', '--from-report', join(dir, 'absent.json'))).code, 1);
    assert.equal((await run(c.ds, 'ipam', 'release', '--from-report', file, '--ip', '10.40.0.1')).code, 1);
  });
});

describe('tabbyctl ipam split', () => {
  it('replaces a pool by N equal enabled pools in one step, only on a locked datastore', async () => {
    const ds = new MemoryDatastore();
    await ensureInitialized(ds);
    await putPool(ds, 'pool-a', { cidr: '10.50.0.0/24', blockSize: 26, natOutgoing: true, disabled: true });
    await putNode(ds, 'node-a');
    const notLocked = await run(ds, 'ipam', 'split', '2', '--name', 'pool-a');
    assert.equal(notLocked.code, 1);
    assert.match(notLocked.stderr, /datastore is not locked/);
    ok(await lock(ds, false));
    for (const [args, code, re] of [
      [['3', '--name', 'pool-a'], 1, /power of two/],
      [['8', '--name', 'pool-a'], 1, /smaller than the pool's blockSize \/26; split into at most 4 pools/],
      [['2', '--name', 'nope'], 2, /IPPool nope does not exist/],
      [['2', '--cidr', '10.99.0.0/24'], 2, /no IPPool has CIDR 10\.99\.0\.0\/24/],
      [['2'], 1, /either --cidr CIDR or --name POOL/],
      [['two', '--name', 'pool-a'], 1, /whole number/],
    ] as const) {
      const r = await run(ds, 'ipam', 'split', ...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    await ds.put(`${STORED.IPPool.keyPrefix}split-pool-a-1`, { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'split-pool-a-1' }, spec: { cidr: '10.60.0.0/24' } });
    const clash = await run(ds, 'ipam', 'split', '2', '--cidr', '10.50.0.0/24');
    assert.equal(clash.code, 3);
    assert.match(clash.stderr, /IPPool split-pool-a-1 already exists; nothing was changed/);
    assert.ok(await ds.get(`${STORED.IPPool.keyPrefix}pool-a`), 'the parent is untouched');
    await ds.delete(`${STORED.IPPool.keyPrefix}split-pool-a-1`);

    const r = await run(ds, 'ipam', 'split', '4', '--cidr', '10.50.0.0/24');
    ok(r);
    assert.equal(
      r.stdout,
      'IP Pool pool-a was successfully split into 4 smaller pools.\nCreated split-pool-a-0 with CIDR 10.50.0.0/26.\nCreated split-pool-a-1 with CIDR 10.50.0.64/26.\nCreated split-pool-a-2 with CIDR 10.50.0.128/26.\nCreated split-pool-a-3 with CIDR 10.50.0.192/26.\n' +
        `When done, unlock the datastore: tabbyctl patch clusterinformation default -p '{"spec":{"datastoreReady":true}}'\n`,
    );
    assert.equal(await ds.get(`${STORED.IPPool.keyPrefix}pool-a`), undefined);
    const child = (await ds.get(`${STORED.IPPool.keyPrefix}split-pool-a-2`))!.value as { spec: Record<string, unknown>; metadata: Record<string, unknown> };
    assert.deepEqual({ cidr: child.spec['cidr'], disabled: child.spec['disabled'], natOutgoing: child.spec['natOutgoing'], blockSize: child.spec['blockSize'] }, { cidr: '10.50.0.128/26', disabled: false, natOutgoing: true, blockSize: 26 });
    assert.equal(typeof child.metadata['uid'], 'string');
    const pools = await run(ds, 'get', 'ippools');
    ok(pools);
    assert.match(pools.stdout, /split-pool-a-3\s+10\.50\.0\.192\/26/);
    // The new pools serve allocations.
    ok(await lock(ds, true));
    const got = await new BlockAllocator(ds).autoAssign({ handleId: 'h', node: 'node-a', num4: 1, num6: 0, attrs: {} });
    assert.match(got.ipv4[0]!.ip, /^10\.50\.0\./);
  });
});
