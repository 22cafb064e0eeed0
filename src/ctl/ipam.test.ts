// tabbyctl ipam in-process, against a shared MemoryDatastore: output shapes, exit codes, and that
// each command does what it says to the datastore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { BlockAllocator } from '../ipam/index.js';
import { IPAM_CONFIG_KEY } from '../model/index.js';
import { putNode, putPool, putWorkloadEndpoint } from '../testing/resources.js';
import { runCtlInProcess } from './testing.js';

const run = (ds: MemoryDatastore, ...args: string[]) => runCtlInProcess(args, { ds });

async function cluster() {
  const ds = new MemoryDatastore();
  await putPool(ds, 'pool-a', { cidr: '10.244.0.0/24' });
  await putNode(ds, 'node-a');
  const ipam = new BlockAllocator(ds);
  const live = (await ipam.autoAssign({ handleId: 'k8s-pod-network.live', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'web', namespace: 'default', node: 'node-a' } })).ipv4[0]!.ip;
  await putWorkloadEndpoint(ds, 'default', 'node-a', 'web', [live]);
  const leaked = (await ipam.autoAssign({ handleId: 'k8s-pod-network.dead', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'dead', namespace: 'default', node: 'node-a', timestamp: '2020-01-01T00:00:00Z' } })).ipv4[0]!.ip;
  return { ds, live, leaked };
}

describe('tabbyctl ipam', () => {
  it('show prints the utilisation table; --ip names the handle and attributes', async () => {
    const { ds, live } = await cluster();
    const r = await run(ds, 'ipam', 'show', '--show-blocks');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| GROUPING \|\s+CIDR\s+\| IPS TOTAL \| IPS IN USE \| IPS FREE\s+\|/);
    assert.match(r.stdout, /\| IP Pool\s+\| 10\.244\.0\.0\/24\s+\|\s+256 \| 2 \(1%\)\s+\| 254 \(99%\)\s+\|/);
    assert.match(r.stdout, /\| Block\s+\| 10\.244\.0\.\d+\/26/);
    const ip = await run(ds, 'ipam', 'show', '--ip', live);
    assert.match(ip.stdout, new RegExp(`^IP ${live.replace(/\./g, '\\.')} is in use\nHandle ID: k8s-pod-network\\.live\n`));
    assert.match(ip.stdout, /  pod: web\n/);
    const js = JSON.parse((await run(ds, 'ipam', 'show', '-o', 'json')).stdout) as { rows: { inUse: string }[] };
    assert.equal(js.rows[0]!.inUse, '2');
    assert.equal((await run(ds, 'ipam', 'show', '--ip', '10.244.0.999')).code, 1);
  });

  it('check reports the leak, ends with the summary line, and --exit-code makes problems fail the command', async () => {
    const { ds, leaked } = await cluster();
    const r = await run(ds, 'ipam', 'check');
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`\\[LeakedAddress\\] ${leaked.replace(/\./g, '\\.')} `));
    assert.match(r.stdout, /Check complete; found 1 problems\.\n$/);
    assert.equal((await run(ds, 'ipam', 'check', '--exit-code')).code, 5);
    const report = JSON.parse((await run(ds, 'ipam', 'check', '-o', 'json')).stdout) as { allocations: Record<string, { inUse: boolean; handle: string }[]>; summary: { allocated: number } };
    assert.deepEqual(report.allocations[leaked], [{ ...report.allocations[leaked]![0]!, inUse: false, handle: 'k8s-pod-network.dead' }]);
    assert.equal(report.summary.allocated, 2);
  });

  it('gc frees the old leak in one pass; afterwards check finds nothing', async () => {
    const { ds, leaked } = await cluster();
    const r = await run(ds, 'ipam', 'gc');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Released 1 leaked addresses \\(1 handles\\): ${leaked.replace(/\./g, '\\.')}`));
    const c = await run(ds, 'ipam', 'check', '--exit-code');
    assert.equal(c.code, 0, c.stdout);
    assert.equal((await run(ds, 'ipam', 'gc', '--grace-period', 'soon')).code, 1);
  });

  it('release frees by IP or handle, refuses addresses a workload uses unless --force, and reports unknown ones', async () => {
    const { ds, live, leaked } = await cluster();
    const r = await run(ds, 'ipam', 'release', '--ip', leaked);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Successfully released IP address ${leaked}\n`);
    const again = await run(ds, 'ipam', 'release', '--ip', leaked);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is not assigned/);
    const busy = await run(ds, 'ipam', 'release', '--ip', live);
    assert.equal(busy.code, 3);
    assert.match(busy.stderr, /in use by WorkloadEndpoint default\/node--a-k8s-web-eth0/);
    assert.equal((await run(ds, 'ipam', 'release', '--handle', 'k8s-pod-network.live')).stdout, `Released 1 addresses of handle k8s-pod-network.live: ${live}\n`);
    assert.equal((await run(ds, 'ipam', 'release', '--handle', 'nope')).code, 2);
    assert.equal((await run(ds, 'ipam', 'release')).code, 1);
  });

  it('configure writes strict affinity and the block limit under Calico’s config key', async () => {
    const ds = new MemoryDatastore();
    const r = await run(ds, 'ipam', 'configure', '--strictaffinity=true', '--max-blocks-per-host', '4');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Successfully set StrictAffinity to: true\nSuccessfully set MaxBlocksPerHost to: 4\n');
    assert.deepEqual((await ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: true, auto_allocate_blocks: true, maxBlocksPerHost: 4 });
    // Calico's rule: a block limit needs strict affinity; nothing is written when it would break.
    const refused = await run(ds, 'ipam', 'configure', '--strictaffinity=false');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /maxBlocksPerHost 4 needs strictAffinity true/);
    assert.deepEqual((await ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: true, auto_allocate_blocks: true, maxBlocksPerHost: 4 });
    await run(ds, 'ipam', 'configure', '--strictaffinity=false', '--max-blocks-per-host', '0');
    assert.deepEqual((await ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: false, auto_allocate_blocks: true, maxBlocksPerHost: 0 });
    assert.equal((await run(ds, 'ipam', 'configure', '--strictaffinity=maybe')).code, 1);
    assert.equal((await run(ds, 'ipam', 'configure')).code, 1);
  });
});
