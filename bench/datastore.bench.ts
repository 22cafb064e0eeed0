// Benchmark: compare-and-swap updates per second through Tabby's etcd client, against raw
// single-key PUTs per second on the same etcd in the same run (the anchor).
//
// Ours: 16 workers each loop get → update(key, value, revision) on one of 64 keys (IPAM's
// read-modify-CAS-write cycle); a Conflict counts as a retry, not a completed update. Anchor: 16
// workers each loop one `POST /v3/kv/put` with a keep-alive agent and nothing else. A CAS update
// costs two round trips (range + txn) against the anchor's one, so ~0.5 is the ceiling for the
// ratio; a third loop runs the same CAS cycle as minimal raw gateway calls, to show what our
// client itself adds. Rounds alternate (anchor, ours, anchor, ours, ...) so machine drift hits both alike; the
// median round of each is reported. Ends with one JSON line (DESIGN.md §9).

import http from 'node:http';
import { isDatastoreError } from '../src/datastore/datastore.js';
import { EtcdDatastore } from '../src/datastore/etcd.js';
import { startEtcd } from '../src/testing/etcd.js';

const CONCURRENCY = 16;
const KEYS = 64;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

type Worker = (worker: number, i: number) => Promise<boolean>;

/** Run `op` in CONCURRENCY loops for `ms`; returns completed ops per second. */
async function measure(ms: number, op: Worker): Promise<{ perSecond: number; done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        if (await op(w, i)) done++;
        else failed++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  return { perSecond: (done * 1000) / elapsed, done, failed };
}

function rawPost(agent: http.Agent, url: URL, path: string, request: unknown): Promise<string> {
  const body = JSON.stringify(request);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${path} answered ${res.statusCode}: ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const rawPut = (agent: http.Agent, url: URL, key: string, value: string) =>
  rawPost(agent, url, '/v3/kv/put', { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const etcd = await startEtcd();
const store = new EtcdDatastore({ endpoints: etcd.endpoints });
const agent = new http.Agent({ keepAlive: true });
try {
  const url = new URL(etcd.endpoints[0]!);
  const key = (i: number) => `/calico/ipam/v2/assignment/ipv4/block/10.0.${i}.0-26`;
  for (let i = 0; i < KEYS; i++) await store.put(key(i), { cidr: `10.0.${i}.0/26`, allocations: [], n: 0 });

  let conflicts = 0;
  let updatesDone = 0;
  const casUpdate: Worker = async (w, i) => {
    const k = key((w * 7 + i * 13) % KEYS);
    const kv = (await store.get(k))!;
    const block = kv.value as { n: number };
    try {
      await store.update(k, { ...block, n: block.n + 1 }, kv.revision);
      updatesDone++;
      return true;
    } catch (err) {
      if (!isDatastoreError(err, 'Conflict')) throw err;
      conflicts++;
      return false;
    }
  };
  const anchorPut: Worker = async (w, i) => {
    await rawPut(agent, url, `/bench/raw/${(w * 7 + i * 13) % KEYS}`, `{"n":${i}}`);
    return true;
  };
  // Reference only: the same CAS cycle in minimal raw gateway calls, to show our client's own cost.
  const rawCas: Worker = async (w, i) => {
    const k = Buffer.from(key((w * 7 + i * 13) % KEYS)).toString('base64');
    const range = JSON.parse(await rawPost(agent, url, '/v3/kv/range', { key: k })) as { kvs: { mod_revision: string; value: string }[] };
    const kv = range.kvs[0]!;
    const txn = JSON.parse(
      await rawPost(agent, url, '/v3/kv/txn', {
        compare: [{ key: k, target: 'MOD', result: 'EQUAL', mod_revision: kv.mod_revision }],
        success: [{ request_put: { key: k, value: kv.value } }],
      }),
    ) as { succeeded?: boolean };
    return txn.succeeded === true;
  };
  const clientPut: Worker = async (w, i) => {
    await store.put(`/bench/client/${(w * 7 + i * 13) % KEYS}`, { n: i });
    return true;
  };

  // Warm up connections and etcd's caches on both paths.
  await measure(500, anchorPut);
  await measure(500, casUpdate);
  const anchor: number[] = [];
  const ours: number[] = [];
  const puts: number[] = [];
  const rawCases: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    anchor.push((await measure(ROUND_MS, anchorPut)).perSecond);
    ours.push((await measure(ROUND_MS, casUpdate)).perSecond);
    rawCases.push((await measure(ROUND_MS, rawCas)).perSecond);
    puts.push((await measure(ROUND_MS / 3, clientPut)).perSecond);
  }
  // The store really holds every completed update: the counters add up.
  const list = await store.list('/calico/ipam/v2/assignment/ipv4/block/');
  const total = list.items.reduce((sum, kv) => sum + (kv.value as { n: number }).n, 0);
  if (total !== updatesDone) throw new Error(`lost updates: ${updatesDone} CAS updates succeeded but the blocks count ${total}`);
  const value = median(ours);
  const anchorValue = median(anchor);
  console.log(`rounds of ${ROUND_MS} ms, ${CONCURRENCY} in flight, ${KEYS} keys, etcd ${(await store.status()).version}`);
  console.log(`raw gateway PUT/s per round:   ${anchor.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`client CAS update/s per round: ${ours.map((x) => x.toFixed(0)).join(' ')} (${conflicts} conflicts retried, ${total} increments stored)`);
  console.log(`raw gateway CAS/s per round:   ${rawCases.map((x) => x.toFixed(0)).join(' ')} (reference: range + txn, minimal code)`);
  console.log(`client put/s per round:        ${puts.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(
    JSON.stringify({
      bench: 'datastore',
      metric: 'cas_updates_per_s',
      value: Math.round(value),
      unit: 'ops/s',
      anchor: 'raw_gateway_put_per_s',
      anchorValue: Math.round(anchorValue),
      ratio: Number((value / anchorValue).toFixed(3)),
    }),
  );
} finally {
  agent.destroy();
  await store.close();
  await etcd.stop();
}
