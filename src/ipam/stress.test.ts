// IPAM against a real etcd under real concurrency: 20 allocator processes acting as 10 nodes on
// a deliberately small pool (a /24 in 16 blocks of 16 addresses, 320 wanted), so nodes race for blocks, borrow from
// each other and run the pool dry. Then the same with processes SIGKILLed at random moments.
// The workers (src/testing/ipam-stress-worker.ts) detect a live duplicate themselves — each held address
// owns a WorkloadEndpoint created with create-if-absent, keyed by the address — and at the end
// `ipam check` must account for every address.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IpamGarbageCollector } from '../controllers/index.js';
import { EtcdDatastore } from '../datastore/index.js';
import { type EtcdFixture, startEtcd } from '../testing/etcd.js';
import { checkIpam } from './core/check.js';
import { IpamStore } from './store.js';
import { putNode, putPool } from '../testing/resources.js';
import { mulberry32 } from '../util/index.js';

const WORKER = fileURLToPath(new URL('../testing/ipam-stress-worker.js', import.meta.url));
const NODES = 10;
const WORKERS = 20;
/** Allocations per worker (releases interleaved besides): 20 × 500 = 10,000. */
const ALLOCS = Number(process.env['TABBY_STRESS_ALLOCS'] ?? 500);
/** Concurrent walks per worker process: each node has 2 × LANES requests in flight at times. */
const LANES = 2;
/** Addresses one lane may hold: 20 × 2 × 8 = 320 wanted against 256 in the pool, so it runs dry. */
const HOLD_MAX = 8;

interface Done {
  event: 'done';
  allocs: number;
  releases: number;
  exhausted: number;
  ops: number;
  duplicates: number;
  retriesExhausted: number;
  calls: Record<string, number>;
  held: string[];
}

interface Running {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exit: Promise<number | null>;
}

function startWorker(endpoints: string[], node: string, worker: string, allocs: number, seed: number): Running {
  const args = { endpoints, node, worker, allocs, maxOps: allocs * 6, lanes: LANES, holdMax: HOLD_MAX, seed };
  const child = spawn(process.execPath, [WORKER, JSON.stringify({ ...args, allocPercent: Number(process.env['TABBY_STRESS_ALLOC_PERCENT'] ?? 62) })], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`worker ${worker} exited ${code}: ${err}\n`);
      resolve(code);
    }),
  );
  return { child, lines, exit };
}

describe('IPAM on a real etcd with 20 allocator processes', { timeout: 600_000 }, () => {
  let etcd: EtcdFixture | undefined;
  let ds: EtcdDatastore;
  const children: Running[] = [];

  async function stopAll(): Promise<void> {
    for (const r of children) r.child.kill('SIGKILL');
    await Promise.all(children.map((r) => r.exit));
    children.length = 0;
    await ds?.close();
    await etcd?.stop();
    etcd = undefined;
  }
  afterEach(stopAll);

  /** A fresh etcd with one small pool (blocks of 16) and the nodes registered. */
  async function freshCluster(cidr: string): Promise<EtcdFixture> {
    etcd = await startEtcd();
    ds = new EtcdDatastore({ endpoints: etcd.endpoints });
    await putPool(ds, 'stress', { cidr, blockSize: 28 });
    for (let n = 0; n < NODES; n++) await putNode(ds, `node-${n}`);
    return etcd;
  }

  it('hands out no address twice in 10,000 allocations interleaved with releases, and check accounts for every address', async () => {
    const etcd = await freshCluster('10.250.0.0/24');
    const runs = Array.from({ length: WORKERS }, (_, w) => startWorker(etcd.endpoints, `node-${w % NODES}`, `w${w}`, ALLOCS, 1000 + w));
    children.push(...runs);
    const codes = await Promise.all(runs.map((r) => r.exit));
    assert.deepEqual(codes, new Array(WORKERS).fill(0), 'every worker finished');
    const done = runs.map((r) => r.lines.find((l) => l['event'] === 'done') as unknown as Done);
    const dups = runs.flatMap((r) => r.lines.filter((l) => l['event'] === 'duplicate'));
    const total = (k: keyof Omit<Done, 'event' | 'held' | 'calls'>) => done.reduce((n, d) => n + d[k], 0);
    const conflicts = done.reduce((n, d) => n + (d.calls['failed:Conflict'] ?? 0) + (d.calls['failed:AlreadyExists'] ?? 0), 0);
    process.stdout.write(
      `# stress: ${total('allocs')} allocations, ${total('releases')} releases, ${total('exhausted')} pool-exhausted answers, ${total('retriesExhausted')} retry budgets spent, ${conflicts} CAS conflicts, ${dups.length} duplicates\n`,
    );
    assert.deepEqual(dups, [], 'no address was held by two holders at once');
    assert.ok(total('allocs') >= ALLOCS * WORKERS, `at least ${ALLOCS * WORKERS} allocations were made (made ${total('allocs')})`);
    assert.equal(total('allocs') + total('releases') + total('exhausted') + total('retriesExhausted'), total('ops'), 'every operation was carried out');
    assert.ok(total('exhausted') > 0, 'the pool was small enough to run dry at times');

    const report = checkIpam(await new IpamStore(ds).snapshot());
    assert.deepEqual(report.problems, [], `ipam check finds nothing wrong; found: ${report.problems.map((p) => p.message).join('; ')}`);
    const held = done.flatMap((d) => d.held).sort();
    assert.equal(new Set(held).size, held.length, `workers hold ${held.length - new Set(held).size} addresses twice: ${held.filter((ip, i) => held.indexOf(ip) !== i).join(', ')}`);
    assert.deepEqual(Object.keys(report.allocations).sort(), held, 'IPAM holds exactly the addresses the workers hold');
    assert.equal(report.summary.inUseWorkload, held.length, 'every held address is in use by its endpoint');
    assert.equal(report.summary.allocated, held.length, 'nothing else is allocated');
  });

  it('survives allocator processes SIGKILLed at random points: no duplicate, and GC with no grace brings leaks to zero', async () => {
    const etcd = await freshCluster('10.251.0.0/24');
    const rand = mulberry32(4242);
    let serial = 0;
    const live = new Map<number, Running>();
    const spawnOn = (slot: number) => {
      const r = startWorker(etcd.endpoints, `node-${slot % NODES}`, `c${serial++}`, 1_000_000, 5000 + serial);
      children.push(r);
      live.set(slot, r);
    };
    for (let s = 0; s < WORKERS; s++) spawnOn(s);
    let kills = 0;
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100 + (rand() % 300)));
      const slot = rand() % WORKERS;
      live.get(slot)!.child.kill('SIGKILL');
      kills++;
      spawnOn(slot);
    }
    for (const r of live.values()) r.child.kill('SIGKILL');
    await Promise.all(children.map((r) => r.exit));
    const dups = children.flatMap((r) => r.lines.filter((l) => l['event'] === 'duplicate'));
    assert.deepEqual(dups, [], 'no live duplicate was ever seen');

    const store = new IpamStore(ds);
    const before = checkIpam(await store.snapshot());
    const kinds = new Set(before.problems.map((p) => p.kind));
    process.stdout.write(`# crash: ${kills} kills; ${before.summary.allocated} allocated, ${before.summary.leaked} leaked; problem kinds ${[...kinds].join(', ') || 'none'}\n`);
    for (const bad of ['DuplicateAddress', 'InvalidBlock', 'InvalidRecord', 'OverlappingBlocks', 'InUseNotAllocated', 'MissingHandle', 'HandleCountMismatch', 'MissingAffinity'] as const) {
      assert.ok(!kinds.has(bad), `${bad}: ${before.problems.filter((p) => p.kind === bad).map((p) => p.message).join('; ')}`);
    }
    assert.ok(before.summary.allocated > 0);

    const gc = new IpamGarbageCollector(ds, { leakGracePeriodMs: 0 });
    await gc.runOnce();
    await gc.runOnce();
    const afterGc = checkIpam(await store.snapshot());
    assert.deepEqual(afterGc.problems, [], 'GC repaired everything');
    assert.equal(afterGc.summary.leaked, 0);
    assert.equal(afterGc.summary.allocated, afterGc.summary.inUseWorkload, 'every remaining address belongs to a live endpoint');
  });
});
