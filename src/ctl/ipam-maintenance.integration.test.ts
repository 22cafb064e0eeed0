// The built `bin/tabbyctl ipam ...` maintenance commands against a real etcd, as an operator
// would run them: cooldown configured and observed (a released address is not handed out again
// and is reported as cooling), borrowed addresses and the configuration shown, a check report
// written to a file and its leaks released from a locked datastore, and a pool split.
// Needs `make build` first (bin/ launchers run dist/bin/*.cjs).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BlockAllocator, IpamError } from '../ipam/index.js';
import { IPAM_CONFIG_KEY, STORED } from '../model/index.js';
import { putNode, putWorkloadEndpoint } from '../testing/resources.js';
import { TABBYCTL, assertOk, etcdForFile, runBinary } from './testing.js';

const fx = etcdForFile('tabby-ipam-maint-it-');
const { work } = fx;

const ctl = (...args: string[]) => runBinary(TABBYCTL, args, { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: fx.etcd.endpoints.join(',') });
const ok = assertOk;
const esc = (ip: string) => ip.replace(/\./g, '\\.');

describe('tabbyctl ipam maintenance commands on a real etcd', { timeout: 120_000 }, () => {
  it('cooldown, borrowed and configuration views, report release, split', async () => {
    const pool = join(work, 'pool.yaml');
    // One /28 block: node-a claims it and node-b must borrow from it.
    writeFileSync(pool, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-m\nspec:\n  cidr: 10.245.0.0/28\n  blockSize: 28\n');
    ok(await ctl('apply', '-f', pool));
    await putNode(fx.ds, 'node-a');
    await putNode(fx.ds, 'node-b');
    ok(await ctl('ipam', 'configure', '--ip-cooldown-seconds', '600'));
    assert.deepEqual((await fx.ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: false, auto_allocate_blocks: true, maxBlocksPerHost: 0, ipCooldownSeconds: 600 });
    const bad = await ctl('ipam', 'configure', '--ip-cooldown-seconds', '1201');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /0\.\.1200/);
    const conf = await ctl('ipam', 'show', '--show-configuration');
    ok(conf);
    assert.match(conf.stdout, /\| IPCooldownSeconds\s+\| 600\s+\|/);

    const ipam = new BlockAllocator(fx.ds);
    const pod = async (node: string, name: string, live: boolean) => {
      const a = (await ipam.autoAssign({ handleId: `k8s-pod-network.${name}`, node, num4: 1, num6: 0, attrs: { pod: name, namespace: 'default', node } })).ipv4[0]!;
      if (live) await putWorkloadEndpoint(fx.ds, 'default', node, name, [a.ip]);
      return a;
    };
    const ips = [];
    for (let i = 0; i < 14; i++) ips.push(await pod('node-a', `a${i}`, true));
    const borrowed = await pod('node-b', 'b0', true);
    const leak = await pod('node-b', 'b1', false);

    const b = await ctl('ipam', 'show', '--show-borrowed');
    ok(b);
    assert.match(b.stdout, new RegExp(`\\| ${esc(borrowed.ip)}\\s+\\| node-b\\s+\\| 10\\.245\\.0\\.0/28 \\| node-a\\s+\\| pod\\s+\\| default/b0\\s+\\|`));

    // Release one address: with a 600 s cooldown the now-empty slot is not handed out again.
    ok(await ctl('ipam', 'release', '--ip', ips[5]!.ip, '--force'));
    await assert.rejects(pod('node-a', 'late', true), (e: unknown) => e instanceof IpamError && e.code === 'PoolExhausted');
    const who = await ctl('ipam', 'show', '--ip', ips[5]!.ip);
    assert.match(who.stdout, new RegExp(`^IP ${esc(ips[5]!.ip)} is not currently assigned: it was released at \\S+ and is cooling down until `));
    const again = await ctl('ipam', 'release', '--ip', ips[5]!.ip);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is cooling down until/);

    // Lock, write the report, release what it lists.
    ok(await ctl('patch', 'clusterinformation', 'default', '-p', '{"spec":{"datastoreReady":false}}'));
    const reportFile = join(work, 'report.json');
    const chk = await ctl('ipam', 'check', '-o', reportFile);
    ok(chk);
    assert.match(chk.stdout, /Found 1 released addresses cooling down before reuse \(not a problem\)\./);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { datastoreLocked: boolean; allocations: Record<string, { coolingDown: boolean; inUse: boolean; borrowed: boolean }[]> };
    assert.equal(report.datastoreLocked, true);
    assert.deepEqual(report.allocations[ips[5]!.ip]!.map((a) => [a.coolingDown, a.inUse]), [[true, false]]);
    assert.deepEqual(report.allocations[leak.ip]!.map((a) => [a.inUse, a.borrowed]), [[false, true]]);
    const rel = await ctl('ipam', 'release', '--from-report', reportFile);
    ok(rel);
    assert.match(rel.stdout, new RegExp(`Released 1 IPs successfully: ${esc(leak.ip)}\n`));
    assert.deepEqual(await ipam.addressesByHandle('k8s-pod-network.b1'), []);
    assert.deepEqual(await ipam.addressesByHandle('k8s-pod-network.b0'), [borrowed.ip]);

    // Split another pool while the datastore is still locked.
    const big = join(work, 'big.yaml');
    writeFileSync(big, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-big\nspec:\n  cidr: 10.246.0.0/24\n  blockSize: 26\n  natOutgoing: true\n');
    ok(await ctl('apply', '-f', big));
    const split = await ctl('ipam', 'split', '2', '--cidr', '10.246.0.0/24');
    ok(split);
    assert.match(split.stdout, /^IP Pool pool-big was successfully split into 2 smaller pools\.\nCreated split-pool-big-0 with CIDR 10\.246\.0\.0\/25\.\nCreated split-pool-big-1 with CIDR 10\.246\.0\.128\/25\.\n/);
    assert.equal(await fx.ds.get(`${STORED.IPPool.keyPrefix}pool-big`), undefined);
    const pools = await ctl('get', 'ippools', '-o', 'wide');
    ok(pools);
    assert.match(pools.stdout, /split-pool-big-1\s+10\.246\.0\.128\/25\s+true/);
    ok(await ctl('patch', 'clusterinformation', 'default', '-p', '{"spec":{"datastoreReady":true}}'));
  });
});
