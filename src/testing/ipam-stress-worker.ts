// A child process for the IPAM stress and crash tests (src/ipam/stress.test.ts): one allocator acting as
// one node against a real etcd, doing a CNI-like random walk of allocations and releases.
//
// Allocate: autoAssign one address, then create the address's WorkloadEndpoint with `create`
// (fails if it exists). The endpoint key is derived from the address alone, so if any other
// holder — on any node, in any process — had been handed the same address and still held it,
// the create fails: that is a live duplicate, reported as {"event":"duplicate"}.
// Release: delete the endpoint first, then release the address (by handle, or by address with
// its sequence number), as the CNI's DEL does. A crash anywhere in either sequence leaves at worst
// an allocation without an endpoint: a leak for GC, never a duplicate.
//
// The worker runs `lanes` such walks at once in one process (one allocator), so a node has several
// requests in flight together, as when pods are scheduled in a burst; it stops once its lanes have
// made `allocs` allocations between them (or after `maxOps` operations, whichever comes first).
//
// argv[2] is JSON: {endpoints, node, worker, allocs, maxOps, lanes, holdMax, seed, allocPercent?}.
// Output: JSON lines on stdout; the last is {"event":"done", ...counters, "held":[ips]}.

import { EtcdDatastore, isDatastoreError } from '../datastore/index.js';
import { BlockAllocator, IpamError } from '../ipam/index.js';
import { STORED } from '../model/index.js';
import { mulberry32 } from '../util/index.js';

interface WorkerArgs {
  endpoints: string[];
  node: string;
  worker: string;
  /** Stop once this many allocations were made. */
  allocs: number;
  /** ...or after this many operations in all (a pool that never frees up must not hang the test). */
  maxOps: number;
  lanes: number;
  /** Addresses one lane may hold. */
  holdMax: number;
  seed: number;
  /** Chance (percent) that a step allocates rather than releases, while below holdMax. */
  allocPercent?: number;
}

export const STRESS_NAMESPACE = 'stress';
export const stressEndpointKey = (ip: string) => `${STORED.WorkloadEndpoint.keyPrefix}${STRESS_NAMESPACE}/ip-${ip.replace(/[.:]/g, '-')}`;

interface Held {
  ip: string;
  handle: string;
  seq: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
  const etcd = new EtcdDatastore({ endpoints: args.endpoints });
  const calls: Record<string, number> = {};
  // Count datastore calls and failed compare-and-swaps, to show how much contention there was.
  const ds = new Proxy(etcd, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        calls[String(p)] = (calls[String(p)] ?? 0) + 1;
        const r = (v as (...x: unknown[]) => unknown).apply(t, a);
        return r instanceof Promise
          ? r.catch((err: unknown) => {
              if (isDatastoreError(err)) calls[`failed:${err.code}`] = (calls[`failed:${err.code}`] ?? 0) + 1;
              throw err;
            })
          : r;
      };
    },
  });
  const ipam = new BlockAllocator(ds, { contextTtlMs: 2000 });
  const rand = mulberry32(args.seed);
  const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  const held: Held[] = [];
  const c = { allocs: 0, releases: 0, exhausted: 0, duplicates: 0, retriesExhausted: 0, ops: 0 };
  const lane = async (l: number): Promise<void> => {
    const mine: Held[] = [];
    while (c.allocs < args.allocs && c.ops < args.maxOps) {
      const i = c.ops++;
      const allocate = mine.length === 0 || (mine.length < args.holdMax && rand() % 100 < (args.allocPercent ?? 62));
      if (allocate) {
        const handle = `k8s-pod-network.${args.worker}-${l}-${i}`;
        const pod = `pod-${args.worker}-${l}-${i}`;
        try {
          const r = await ipam.autoAssign({
            handleId: handle,
            node: args.node,
            num4: 1,
            num6: 0,
            attrs: { pod, namespace: STRESS_NAMESPACE, node: args.node, timestamp: new Date().toISOString() },
          });
          const a = r.ipv4[0]!;
          c.allocs++;
          try {
            await ds.create(stressEndpointKey(a.ip), {
              apiVersion: 'projectcalico.org/v3',
              kind: 'WorkloadEndpoint',
              metadata: { name: `ip-${a.ip.replace(/[.:]/g, '-')}`, namespace: STRESS_NAMESPACE },
              spec: { node: args.node, pod, orchestrator: 'k8s', endpoint: 'eth0', ipNetworks: [`${a.ip}/32`] },
            });
          } catch (err) {
            if (!isDatastoreError(err, 'AlreadyExists')) throw err;
            c.duplicates++;
            emit({ event: 'duplicate', ip: a.ip, node: args.node, worker: args.worker, holder: (await ds.get(stressEndpointKey(a.ip)))?.value ?? null });
            continue; // leave it allocated: the check at the end must see it
          }
          mine.push({ ip: a.ip, handle, seq: a.sequenceNumber });
        } catch (err) {
          if (err instanceof IpamError && (err.code === 'PoolExhausted' || err.code === 'BlockLimit')) c.exhausted++;
          else if (err instanceof IpamError && err.code === 'RetriesExhausted') c.retriesExhausted++;
          else throw err;
        }
      } else {
        const h = mine.splice(rand() % mine.length, 1)[0]!;
        await ds.delete(stressEndpointKey(h.ip));
        const released = i % 2 === 0 ? await ipam.releaseByHandle(h.handle) : await ipam.releaseIPs([{ ip: h.ip, sequenceNumber: h.seq, handleId: h.handle }]);
        if (released.length !== 1 || released[0] !== h.ip) throw new Error(`releasing ${h.ip} (${h.handle}) released ${JSON.stringify(released)}`);
        c.releases++;
      }
    }
    held.push(...mine);
  };
  await Promise.all(Array.from({ length: Math.max(1, args.lanes) }, (_, l) => lane(l)));
  emit({ event: 'done', node: args.node, worker: args.worker, ...c, calls, held: held.map((h) => h.ip) });
  await ds.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`stress worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
