// IPAM allocation throughput against one real etcd, each figure next to its anchor: raw
// compare-and-swap transactions per second on the same etcd with the same number of concurrent
// clients: one node, one request at a time (one client); ten nodes, one request each (ten
// clients); ten nodes with eight requests in flight each, as when a burst of pods is scheduled
// (eighty clients — the allocator writes a node's concurrent requests in one batch).
//
// The anchor is a single-key CAS through the same client: read nothing, compare the key's
// mod_revision, put a small value. An allocation is at least one transaction that compare-and-
// swaps the node's block (Calico's format: ~11 KB for a full /26 with Kubernetes handle ids) and
// creates the handle, so the ratio says how close the allocator comes to the datastore's own limit.
//
// This machine is shared and its speed drifts by 2x within seconds, so each case alternates short
// slices of the anchor and of allocation (ROUNDS of each, the order swapped every round) and
// compares the totals; the spread of the per-round ratios is printed too. For context the run also
// measures the allocation's own write without the allocator: one transaction updating a block
// holding 48 pods' allocations and creating a handle. Every address handed out is collected: the
// final line's `duplicates` counts repeats plus `ipam check` DuplicateAddress findings (must be 0).
// The final line's figure is the ten-node burst case; the other cases ride along in it.

import { EtcdDatastore } from '../src/datastore/etcd.js';
import { parseCIDR } from '../src/ip/index.js';
import { BlockAllocator } from '../src/ipam/allocator.js';
import { assignFromBlock, newBlock } from '../src/ipam/core/block.js';
import { IPAM_CONFIG_KEY, encodeBlock, encodeIpamConfig } from '../src/model/index.js';
import { checkIpam } from '../src/ipam/core/check.js';
import { IpamStore } from '../src/ipam/store.js';
import { putNode, putPool } from '../src/testing/resources.js';
import { startEtcd } from '../src/testing/etcd.js';

const SLICE_MS = Number(process.env['IPAM_BENCH_SLICE_MS'] ?? 500);
const ROUNDS = Number(process.env['IPAM_BENCH_ROUNDS'] ?? 6);
const NODES = 10;
/** Requests in flight per node in the burst case. */
const IN_FLIGHT = 8;

interface Slice {
  readonly ops: number;
  readonly seconds: number;
}

/** Run `clients` loops of `op` for `ms`; every loop finishes the operation it started. */
async function slice(clients: number, op: (client: number, i: number) => Promise<void>, ms = SLICE_MS): Promise<Slice> {
  const start = performance.now();
  const end = start + ms;
  let ops = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        await op(c, i);
        ops++;
      }
    }),
  );
  return { ops, seconds: (performance.now() - start) / 1000 };
}

const perSecond = (xs: readonly Slice[]): number => xs.reduce((n, x) => n + x.ops, 0) / xs.reduce((n, x) => n + x.seconds, 0);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const ds = new EtcdDatastore({ endpoints: etcd.endpoints });
  try {
    await putPool(ds, 'bench', { cidr: '10.128.0.0/14', blockSize: 26 });
    // One node allocating for seconds on a fast machine would pass Calico's default 20 blocks.
    await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 100_000 }));
    for (let n = 0; n < NODES; n++) await putNode(ds, `node-${n}`);
    const revs = new Map<string, number>();
    const cas = async (c: number, i: number) => {
      const key = `/bench/cas/${c}`;
      const rev = revs.get(key);
      const kv = rev === undefined ? await ds.put(key, { i }) : await ds.update(key, { i }, rev);
      revs.set(key, kv.revision);
    };
    // The write an allocation makes, without the allocator: a block with 48 pods' addresses.
    let sample = newBlock(parseCIDR('10.0.0.0/26'), 'node-0', new Date());
    for (let p = 0; p < 48; p++) {
      sample = assignFromBlock(sample, 1, `k8s-pod-network.${'0'.repeat(56)}${p}`, { pod: `pod-${p}`, namespace: 'default', node: 'node-0', timestamp: new Date().toISOString() }).block;
    }
    const sampleValue = encodeBlock(sample);
    const blockRevs = new Map<number, number>();
    let handles = 0;
    const blockTxn = async (c: number) => {
      const key = `/bench/block/${c}`;
      const rev = blockRevs.get(c) ?? (await ds.put(key, sampleValue)).revision;
      const h = `/bench/handle/${handles++}`;
      const r = await ds.txn([
        { op: 'update', key, value: sampleValue, revision: rev },
        { op: 'create', key: h, value: { handleID: h, block: { '10.0.0.0/26': 1 }, deleted: false } },
      ]);
      blockRevs.set(c, r.results[0]!.revision);
    };
    const ips: string[] = [];
    const allocators = Array.from({ length: NODES }, () => new BlockAllocator(ds, { contextTtlMs: 1000 }));
    const allocate = (nodeOf: (c: number) => number) => async (c: number, i: number) => {
      const n = nodeOf(c);
      const r = await allocators[n]!.autoAssign({
        handleId: `k8s-pod-network.bench-${n}-${c}-${i}-${ips.length}`,
        node: `node-${n}`,
        num4: 1,
        num6: 0,
        attrs: { pod: `p${ips.length}`, namespace: 'bench', node: `node-${n}` },
      });
      ips.push(r.ipv4[0]!.ip);
    };

    await slice(NODES, allocate((c) => c), 2000); // warm-up: every node claims its first block, JIT warms
    await slice(NODES, cas, 500);
    ips.length = 0;

    const results: Record<string, { allocations: number; anchor: number; low: number; high: number }> = {};
    const cases = [
      ['1 node', 1],
      ['10 nodes', NODES],
      [`10 nodes x ${IN_FLIGHT} in flight`, NODES * IN_FLIGHT],
    ] as const;
    for (const [name, clients] of cases) {
      const txns0 = allocators.reduce((n, a) => n + a.batcher.transactions, 0);
      const reqs0 = allocators.reduce((n, a) => n + a.batcher.batchedRequests, 0);
      const anchors: Slice[] = [];
      const allocs: Slice[] = [];
      const ratios: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        let a: Slice;
        let x: Slice;
        if (r % 2 === 0) {
          a = await slice(clients, cas);
          x = await slice(clients, allocate((c) => c % NODES));
        } else {
          x = await slice(clients, allocate((c) => c % NODES));
          a = await slice(clients, cas);
        }
        anchors.push(a);
        allocs.push(x);
        ratios.push(x.ops / x.seconds / (a.ops / a.seconds));
      }
      const txns = allocators.reduce((n, a) => n + a.batcher.transactions, 0) - txns0;
      const perTxn = (allocators.reduce((n, a) => n + a.batcher.batchedRequests, 0) - reqs0) / Math.max(1, txns);
      const sameWrite = perSecond([await slice(clients, blockTxn)]);
      const allocations = perSecond(allocs);
      const anchor = perSecond(anchors);
      results[name] = { allocations, anchor, low: Math.min(...ratios), high: Math.max(...ratios) };
      process.stdout.write(
        `${name}: ${allocations.toFixed(0)} allocations/s vs ${anchor.toFixed(0)} raw CAS txn/s on the same etcd, ${clients} concurrent client(s); ratio ${(allocations / anchor).toFixed(2)}` +
          ` (${ROUNDS} alternating rounds of ${SLICE_MS} ms: per-round ratios ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}, median ${median(ratios).toFixed(2)})` +
          `; the allocation's own write alone (block ${JSON.stringify(sampleValue).length} B + handle, one txn): ${sameWrite.toFixed(0)}/s` +
          `; ${txns} batch transactions, ${perTxn.toFixed(1)} requests each\n`,
      );
    }
    const repeats = ips.length - new Set(ips).size;
    const report = checkIpam(await new IpamStore(ds).snapshot());
    const duplicates = repeats + report.problems.filter((p) => p.kind === 'DuplicateAddress').length;
    process.stdout.write(`${ips.length} addresses handed out, ${duplicates} duplicates; ipam check: ${report.summary.allocated} allocated\n`);
    const burst = results[cases[2][0]]!;
    const ten = results['10 nodes']!;
    const one = results['1 node']!;
    process.stdout.write(
      JSON.stringify({
        bench: 'ipam',
        metric: `allocations_per_s_10_nodes_${IN_FLIGHT}_in_flight`,
        value: Math.round(burst.allocations),
        unit: 'allocations/s',
        anchor: `etcd_cas_txn_per_s_${NODES * IN_FLIGHT}_clients`,
        anchorValue: Math.round(burst.anchor),
        ratio: Number((burst.allocations / burst.anchor).toFixed(3)),
        duplicates,
        tenNodes: { value: Math.round(ten.allocations), anchorValue: Math.round(ten.anchor), ratio: Number((ten.allocations / ten.anchor).toFixed(3)) },
        oneNode: { value: Math.round(one.allocations), anchorValue: Math.round(one.anchor), ratio: Number((one.allocations / one.anchor).toFixed(3)) },
        roundRatios: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, [Number(v.low.toFixed(2)), Number(v.high.toFixed(2))]])),
      }) + '\n',
    );
    if (duplicates > 0) process.exitCode = 1;
  } finally {
    await ds.close();
    await etcd.stop();
  }
}

await main();
