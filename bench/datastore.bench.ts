// Benchmark: compare-and-swap updates per second through Tabby's etcd client, against raw
// single-key gRPC PUTs per second on the same etcd in the same run (the anchor).
//
// Ours: 16 workers each loop get → update(key, value, revision) on one of 64 keys (IPAM's
// read-modify-CAS-write cycle); a Conflict counts as a retry, not a completed update. Anchor: 16
// workers each loop one KV/Put on a single HTTP/2 session, with a hand-written PutRequest and
// nothing else (the minimal gRPC client below, independent of the client under test). A CAS
// update costs two round trips (range + txn) against the anchor's one, and a txn costs etcd more
// than a put, so ~0.3–0.5 is the ceiling for the ratio; a third loop runs the same CAS cycle as
// minimal raw gRPC calls, to show what our client itself adds. Rounds alternate so machine drift
// hits all alike; the median round of each is reported.
//
// For the record (before/after the move off the JSON gateway), single-client CAS latency on one
// key with a 10-byte and an 11 KB value: through our client, through raw gRPC, and through raw
// calls to etcd's JSON gateway (/v3/kv/txn over HTTP/1.1, base64 values) — the old transport.
// Ends with one JSON line (DESIGN.md §9).

import http from 'node:http';
import http2 from 'node:http2';
import { isDatastoreError } from '../src/datastore/datastore.js';
import { EtcdDatastore } from '../src/datastore/etcd.js';
import { startEtcd } from '../src/testing/etcd.js';

const CONCURRENCY = 16;
const KEYS = 64;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const LATENCY_OPS = Number(process.env.BENCH_LATENCY_OPS ?? 400);

type Worker = (worker: number, i: number) => Promise<boolean>;

/** Run `op` in `concurrency` loops for `ms`; returns completed ops per second. */
async function measure(ms: number, op: Worker, concurrency = CONCURRENCY): Promise<{ perSecond: number; done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        if (await op(w, i)) done++;
        else failed++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  return { perSecond: (done * 1000) / elapsed, done, failed };
}

// ---- a minimal gRPC client: hand-written protobuf, 5-byte framing, one HTTP/2 session ----------

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const lenField = (no: number, b: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
const intField = (no: number, n: number) => Buffer.concat([varint(no << 3), varint(n)]);

/** Top-level fields of a message: number → raw values (varints as numbers, the rest as bytes). */
function fields(buf: Buffer): Map<number, (number | Buffer)[]> {
  const out = new Map<number, (number | Buffer)[]>();
  let p = 0;
  const read = () => {
    let r = 0;
    let s = 1;
    for (;;) {
      const b = buf[p++]!;
      r += (b & 127) * s;
      s *= 128;
      if (b < 128) return r;
    }
  };
  while (p < buf.length) {
    const tag = read();
    const no = Math.floor(tag / 8);
    let v: number | Buffer;
    if (tag % 8 === 0) v = read();
    else {
      const len = read();
      v = buf.subarray(p, p + len);
      p += len;
    }
    const list = out.get(no) ?? [];
    list.push(v);
    out.set(no, list);
  }
  return out;
}
const first = (m: Map<number, (number | Buffer)[]>, no: number) => m.get(no)?.[0];

function rawCall(session: http2.ClientHttp2Session, method: string, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('trailers', (t) => (status = String(t['grpc-status'])));
    s.on('error', reject);
    s.on('close', () => (status === '0' ? resolve(Buffer.concat(chunks).subarray(5)) : reject(new Error(`${method}: grpc-status ${status}`))));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(msg.length, 1);
    s.end(Buffer.concat([head, msg]));
  });
}

const rawPutRequest = (key: string, value: string) => Buffer.concat([lenField(1, Buffer.from(key)), lenField(2, Buffer.from(value))]);

/** One CAS txn (If mod_revision == rev Then put) in raw protobuf; returns the new revision or 0. */
async function rawGrpcCas(session: http2.ClientHttp2Session, key: Buffer, value: Buffer, rev: number): Promise<number> {
  const cmp = Buffer.concat([intField(2, 2), lenField(3, key), intField(6, rev)]); // target MOD, key, mod_revision
  const put = lenField(2, Buffer.concat([lenField(1, key), lenField(2, value)])); // RequestOp.request_put
  const res = fields(await rawCall(session, '/etcdserverpb.KV/Txn', Buffer.concat([lenField(1, cmp), lenField(2, put)])));
  return first(res, 2) === 1 ? (first(fields(first(res, 1) as Buffer), 3) as number) : 0; // header.revision if succeeded
}

// ---- the old transport, for the before/after record: raw JSON gateway calls -------------------

function gatewayPost(agent: http.Agent, url: URL, path: string, request: unknown): Promise<string> {
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Milliseconds per op of `n` sequential runs of `op`, after a short warm-up. */
async function latency(n: number, op: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 30; i++) await op();
  const start = performance.now();
  for (let i = 0; i < n; i++) await op();
  return (performance.now() - start) / n;
}

const etcd = await startEtcd();
const store = new EtcdDatastore({ endpoints: etcd.endpoints });
const session = http2.connect(etcd.endpoints[0]!);
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
    await rawCall(session, '/etcdserverpb.KV/Put', rawPutRequest(`/bench/raw/${(w * 7 + i * 13) % KEYS}`, `{"n":${i}}`));
    return true;
  };
  // Reference only: the same CAS cycle in minimal raw gRPC calls, to show our client's own cost.
  const rawCas: Worker = async (w, i) => {
    const k = Buffer.from(key((w * 7 + i * 13) % KEYS));
    const range = fields(await rawCall(session, '/etcdserverpb.KV/Range', lenField(1, k)));
    const kv = fields(first(range, 2) as Buffer);
    return (await rawGrpcCas(session, k, first(kv, 5) as Buffer, first(kv, 3) as number)) > 0;
  };
  const clientPut: Worker = async (w, i) => {
    await store.put(`/bench/client/${(w * 7 + i * 13) % KEYS}`, { n: i });
    return true;
  };

  // Warm up connections and etcd's caches on every path.
  await measure(500, anchorPut);
  await measure(500, casUpdate);
  await measure(300, rawCas);
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

  // Single-client CAS latency on one key: our client, raw gRPC, raw JSON gateway.
  const latencies: string[] = [];
  for (const [label, size] of [['10 B', 10], ['11 KB', 11_000]] as const) {
    const text = JSON.stringify('v'.repeat(size - 2));
    const value = JSON.parse(text) as string;
    const k = `/bench/latency/${size}`;
    let rev = (await store.put(k, value)).revision;
    const client = await latency(LATENCY_OPS, async () => {
      rev = (await store.update(k, value, rev)).revision;
    });
    const kb = Buffer.from(k);
    const vb = Buffer.from(text);
    const grpc = await latency(LATENCY_OPS, async () => {
      rev = await rawGrpcCas(session, kb, vb, rev);
      if (rev === 0) throw new Error('raw gRPC CAS failed its compare');
    });
    const k64 = kb.toString('base64');
    const v64 = vb.toString('base64');
    const gateway = await latency(LATENCY_OPS, async () => {
      const res = JSON.parse(
        await gatewayPost(agent, url, '/v3/kv/txn', {
          compare: [{ key: k64, target: 'MOD', result: 'EQUAL', mod_revision: String(rev) }],
          success: [{ request_put: { key: k64, value: v64 } }],
        }),
      ) as { succeeded?: boolean; header: { revision: string } };
      if (!res.succeeded) throw new Error('gateway CAS failed its compare');
      rev = Number(res.header.revision);
    });
    latencies.push(`${label}: client ${client.toFixed(3)} ms, raw gRPC ${grpc.toFixed(3)} ms, raw JSON gateway (old transport) ${gateway.toFixed(3)} ms`);
  }

  const value = median(ours);
  const anchorValue = median(anchor);
  console.log(`rounds of ${ROUND_MS} ms, ${CONCURRENCY} in flight, ${KEYS} keys, etcd ${(await store.status()).version}`);
  console.log(`raw gRPC PUT/s per round:      ${anchor.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`client CAS update/s per round: ${ours.map((x) => x.toFixed(0)).join(' ')} (${conflicts} conflicts retried, ${total} increments stored)`);
  console.log(`raw gRPC CAS/s per round:      ${rawCases.map((x) => x.toFixed(0)).join(' ')} (reference: range + txn, minimal code)`);
  console.log(`client put/s per round:        ${puts.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`single-client CAS txn latency (${LATENCY_OPS} sequential updates of one key):`);
  for (const line of latencies) console.log(`  ${line}`);
  console.log(
    JSON.stringify({
      bench: 'datastore',
      metric: 'cas_updates_per_s',
      value: Math.round(value),
      unit: 'ops/s',
      anchor: 'raw_grpc_put_per_s',
      anchorValue: Math.round(anchorValue),
      ratio: Number((value / anchorValue).toFixed(3)),
    }),
  );
} finally {
  agent.destroy();
  session.close();
  await store.close();
  await etcd.stop();
}
