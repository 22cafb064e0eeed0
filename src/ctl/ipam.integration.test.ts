// The built `bin/tabbyctl ipam ...` and `bin/tabby controllers` against a real etcd, as an
// operator would use them: a pool applied with tabbyctl, addresses allocated by the allocator (as
// the CNI does), a pod that went away without releasing, then show / check / gc / release /
// configure, and the controllers process freeing a leak and exiting on SIGTERM.
// Needs `make build` first (bin/ launchers run dist/bin/*.cjs).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BlockAllocator } from '../ipam/index.js';
import { IPAM_CONFIG_KEY } from '../model/index.js';
import { putNode, putWorkloadEndpoint } from '../testing/resources.js';
import { type CtlRun as Run, TABBY, TABBYCTL, assertOk, etcdForFile, runBinary } from './testing.js';

const fx = etcdForFile('tabby-ipam-it-');
const { work } = fx;

const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: fx.etcd.endpoints.join(',') });

const ctl = (...args: string[]) => runBinary(TABBYCTL, args, env());
const ok = assertOk;

describe('tabbyctl ipam and tabby controllers on a real etcd', { timeout: 120_000 }, () => {
  it('shows, checks, collects, releases and configures', async () => {
    const pool = join(work, 'pool.yaml');
    writeFileSync(pool, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-a\nspec:\n  cidr: 10.244.0.0/24\n  blockSize: 28\n');
    ok(await ctl('apply', '-f', pool));
    await putNode(fx.ds, 'node-a');
    const ipam = new BlockAllocator(fx.ds);
    const pod = async (name: string, endpoint: boolean) => {
      const r = await ipam.autoAssign({ handleId: `k8s-pod-network.${name}`, node: 'node-a', num4: 1, num6: 0, attrs: { pod: name, namespace: 'default', node: 'node-a', timestamp: '2020-01-01T00:00:00Z' } });
      if (endpoint) await putWorkloadEndpoint(fx.ds, 'default', 'node-a', name, [r.ipv4[0]!.ip]);
      return r.ipv4[0]!.ip;
    };
    const live = await pod('web', true);
    const gone = await pod('gone', false);

    const show = await ctl('ipam', 'show', '--show-blocks');
    ok(show);
    assert.match(show.stdout, /\| IP Pool\s+\| 10\.244\.0\.0\/24\s+\|\s+256 \| 2 \(1%\)\s+\| 254 \(99%\)\s+\|/);
    const who = await ctl('ipam', 'show', '--ip', live);
    assert.match(who.stdout, /is in use\nHandle ID: k8s-pod-network\.web\n/);

    const check = await ctl('ipam', 'check', '--exit-code');
    assert.equal(check.code, 5, check.stdout + check.stderr);
    assert.match(check.stdout, new RegExp(`\\[LeakedAddress\\] ${gone.replace(/\./g, '\\.')} `));
    assert.match(check.stdout, /Check complete; found 1 problems\.\n$/);

    const gc = await ctl('ipam', 'gc');
    ok(gc);
    assert.match(gc.stdout, new RegExp(`Released 1 leaked addresses \\(1 handles\\): ${gone.replace(/\./g, '\\.')}`));
    ok(await ctl('ipam', 'check', '--exit-code'));

    const busy = await ctl('ipam', 'release', '--ip', live);
    assert.equal(busy.code, 3);
    assert.match(busy.stderr, /in use by WorkloadEndpoint/);

    ok(await ctl('ipam', 'configure', '--strictaffinity=true', '--max-blocks-per-host', '2'));
    assert.deepEqual((await fx.ds.get(IPAM_CONFIG_KEY))!.value, { strict_affinity: true, auto_allocate_blocks: true, maxBlocksPerHost: 2 });
    const unreachable = await new Promise<Run>((done) =>
      execFile(TABBYCTL, ['ipam', 'show'], { env: { ...env(), ETCD_ENDPOINTS: 'http://127.0.0.1:1' }, timeout: 60_000 }, (err, stdout, stderr) =>
        done({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr }),
      ),
    );
    assert.equal(unreachable.code, 4, unreachable.stderr);
  });

  it('tabby controllers frees a leak without waiting when the grace period is 0, and stops on SIGTERM', async () => {
    const ipam = new BlockAllocator(fx.ds);
    const leaked = (await ipam.autoAssign({ handleId: 'k8s-pod-network.lost', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'lost', namespace: 'default', node: 'node-a' } })).ipv4[0]!.ip;
    const child = spawn(TABBY, ['controllers', '--leak-grace-period', '0', '--gc-interval', '200ms'], { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // Wait for the release and for its log line (stderr arrives on its own schedule).
      for (let i = 0; i < 100 && ((await ipam.addressesByHandle('k8s-pod-network.lost')).length > 0 || !log.includes('gc: released leaked addresses')); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await ipam.addressesByHandle('k8s-pod-network.lost'), [], `controllers freed ${leaked}; log:\n${log}`);
      assert.match(log, /"msg":"gc: released leaked addresses"/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, log);
  });
});
