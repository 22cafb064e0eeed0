// The Datastore contract on a real etcd 3.4 (plain and TLS with client certificates), plus what
// only the etcd backend does: paging big lists, surviving an etcd restart, failover between
// endpoints, clear errors for unreachable etcd and for TLS clients without a certificate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type EtcdFixture, startEtcd } from '../testing/etcd.js';
import { etcdClientOptions, etcdTarget } from '../testing/datastore-targets.js';
import { startTcpProxy } from '../testing/tcp-proxy.js';
import { WatchRecorder, describeEvent } from '../testing/watch-recorder.js';
import { runDatastoreContract } from './contract.test-suite.js';
import { isDatastoreError } from './datastore.js';
import { EtcdDatastore } from './etcd.js';
import { EtcdUnavailableError } from './etcd-transport.js';

/**
 * A TCP relay to a local port that can start swallowing every byte in both directions while
 * keeping the connections open: a network path that died without a word (no FIN, no RST).
 */
async function startBlackHoleProxy(targetPort: number): Promise<{ port: number; swallow(on: boolean): void; close(): Promise<void> }> {
  let swallowing = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (chunk) => swallowing || to.write(chunk));
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    swallow: (on) => (swallowing = on),
    close: () =>
      new Promise((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

const clientOptions = etcdClientOptions;

runDatastoreContract('etcd', () => etcdTarget(false));
runDatastoreContract('etcd with TLS client certificates', () => etcdTarget(true));

describe('EtcdDatastore on a real etcd', { timeout: 60_000 }, () => {
  let etcd: EtcdFixture;
  let tlsEtcd: EtcdFixture;
  before(async () => {
    [etcd, tlsEtcd] = await Promise.all([startEtcd(), startEtcd({ tls: true })]);
  });
  after(async () => {
    await Promise.all([etcd?.stop(), tlsEtcd?.stop()]);
  });

  it('lists a prefix bigger than one page at one revision', async () => {
    const s = new EtcdDatastore({ ...clientOptions(etcd), pageSize: 4 });
    try {
      for (let i = 0; i < 11; i++) await s.put(`/paged/k${String(i).padStart(2, '0')}`, i);
      await s.put('/paged0', 'outside');
      const list = await s.list('/paged/');
      assert.deepEqual(list.items.map((kv) => kv.value), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(list.revision, (await s.status()).revision);
      const keys = await s.listKeys('/paged/');
      assert.deepEqual(keys.keys.map((k) => k.key), list.items.map((kv) => kv.key));
      assert.equal(keys.revision, list.revision);
    } finally {
      await s.close();
    }
  });

  it('returns values other tools wrote that are not JSON as their raw text', async () => {
    const s = new EtcdDatastore(clientOptions(etcd));
    try {
      const raw = await fetch(`${etcd.endpoints[0]}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from('/foreign/loglevel').toString('base64'), value: Buffer.from('info').toString('base64') }),
      });
      assert.equal(raw.status, 200);
      assert.equal((await s.get('/foreign/loglevel'))?.value, 'info');
    } finally {
      await s.close();
    }
  });

  it('keeps a watch through an etcd restart and delivers the changes made after it', async () => {
    const s = new EtcdDatastore(clientOptions(etcd));
    const rec = new WatchRecorder();
    try {
      const start = await s.put('/restart/a', 'before');
      const w = s.watch('/restart/', start.revision, rec);
      await s.put('/restart/b', 'b1');
      await rec.untilEvents(1);
      await etcd.restart();
      await s.put('/restart/a', 'after');
      await s.delete('/restart/b');
      await rec.untilEvents(3);
      assert.deepEqual(rec.events.map(describeEvent).map((d) => d.replace(/@\d+$/, '')), ['put /restart/b="b1"', 'put /restart/a="after"', 'delete /restart/b']);
      assert.equal(rec.resyncs.length, 0);
      assert.ok(rec.errors.length > 0 && rec.errors.every((e) => isDatastoreError(e, 'Unavailable')), 'the outage was reported through onError');
      await w.close();
    } finally {
      await s.close();
    }
  });

  it('reports an unreachable etcd as Unavailable naming the endpoint', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 1);
    await proxy.close(); // a port that was just free and is closed now
    const s = new EtcdDatastore({ endpoints: [`http://127.0.0.1:${proxy.port}`] });
    try {
      const err = await s.get('/x').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof EtcdUnavailableError, String(err));
      assert.equal(err.code, 'Unavailable');
      assert.equal(err.endpoint, `http://127.0.0.1:${proxy.port}`);
      assert.match(err.message, /refused the connection/);
      assert.ok(err.cause, 'keeps the cause');
    } finally {
      await s.close();
    }
  });

  it('fails over to the next endpoint when the first is down', async () => {
    const dead = await startTcpProxy('127.0.0.1', 1);
    await dead.close();
    const s = new EtcdDatastore({ ...clientOptions(etcd, [`http://127.0.0.1:${dead.port}`, etcd.endpoints[0]!]) });
    try {
      const kv = await s.create(`/failover/${Date.now()}`, 'ok');
      assert.equal((await s.get(kv.key))?.value, 'ok');
      const rec = new WatchRecorder();
      const w = s.watch('/failover/', kv.revision - 1, rec);
      await rec.untilEvents(1);
      await w.close();
    } finally {
      await s.close();
    }
  });

  it('refuses a TLS client without a certificate, with a clear error', async () => {
    const tls = tlsEtcd.tls!;
    const s = new EtcdDatastore({ endpoints: tlsEtcd.endpoints, ca: readFileSync(tls.caFile) });
    try {
      const err = await s.put('/tls/x', 1).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof EtcdUnavailableError, String(err));
      assert.match(err.message, /rejected the connection: no client certificate was configured \(TLS alert "bad certificate"\)/);
      assert.match(err.message, /ETCD_CERT_FILE/);
      assert.equal(err.endpoint, tlsEtcd.endpoints[0]);
    } finally {
      await s.close();
    }
    const ok = new EtcdDatastore(clientOptions(tlsEtcd));
    try {
      assert.equal(await ok.get('/tls/x'), undefined, 'the refused write stored nothing');
    } finally {
      await ok.close();
    }
  });

  it('refuses an etcd whose server certificate it cannot verify, with a clear error', async () => {
    const tls = tlsEtcd.tls!;
    const s = new EtcdDatastore({ endpoints: tlsEtcd.endpoints, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) });
    try {
      const err = await s.get('/tls/x').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof EtcdUnavailableError, String(err));
      assert.match(err.message, /could not verify etcd's server certificate.*ETCD_CA_CERT_FILE/);
    } finally {
      await s.close();
    }
  });

  it('reports a value over the etcd request size limit as TooLarge, storing nothing', async () => {
    const s = new EtcdDatastore(clientOptions(etcd));
    try {
      // Over etcd's --max-request-bytes (1.5 MiB), and over its gRPC receive limit (that + 512 KiB).
      for (const size of [1.7, 2.5]) {
        const err = await s.put('/big/k', 'x'.repeat(size * 1024 * 1024)).then(() => undefined, (e: unknown) => e);
        assert.ok(isDatastoreError(err, 'TooLarge'), String(err));
      }
      assert.equal(await s.get('/big/k'), undefined);
    } finally {
      await s.close();
    }
  });

  it('reads a list page of several MB in one answer (flow-control windows do not stall it)', async () => {
    const s = new EtcdDatastore(clientOptions(etcd));
    try {
      const mb = 'm'.repeat(1024 * 1024);
      for (let i = 0; i < 6; i++) await s.put(`/bigpage/${i}`, `${i}${mb}`);
      const list = await s.list('/bigpage/');
      assert.deepEqual(list.items.map((kv) => (kv.value as string).length), Array(6).fill(mb.length + 1));
      assert.deepEqual(list.items.map((kv) => (kv.value as string)[0]), ['0', '1', '2', '3', '4', '5']);
    } finally {
      await s.close();
    }
  });

  it('notices a silently dead connection by its unanswered PING, and the watch recovers', async () => {
    const hole = await startBlackHoleProxy(Number(new URL(etcd.endpoints[0]!).port));
    const s = new EtcdDatastore({ ...clientOptions(etcd, [`http://127.0.0.1:${hole.port}`]), keepaliveIntervalMs: 100, keepaliveTimeoutMs: 300, requestTimeoutMs: 2000 });
    const writer = new EtcdDatastore(clientOptions(etcd));
    const rec = new WatchRecorder();
    try {
      const start = await writer.put('/deadpath/a', 1);
      const w = s.watch('/deadpath/', start.revision, rec);
      await writer.put('/deadpath/b', 2);
      await rec.untilEvents(1);
      hole.swallow(true);
      await rec.until(() => rec.errors.some((e) => /did not answer an HTTP\/2 PING within 300 ms/.test(e.message)), 'the dead connection reported');
      await writer.put('/deadpath/c', 3);
      hole.swallow(false);
      await rec.untilEvents(2);
      assert.deepEqual(rec.events.map((e) => (e.type === 'put' ? e.kv.key : e.key)), ['/deadpath/b', '/deadpath/c']);
      await w.close();
    } finally {
      await s.close();
      await writer.close();
      await hole.close();
    }
  });

  it('moves a read to the next endpoint after a deadline, but never a write whose fate is unknown', async () => {
    const hole = await startBlackHoleProxy(Number(new URL(etcd.endpoints[0]!).port));
    hole.swallow(true);
    const s = new EtcdDatastore({ ...clientOptions(etcd, [`http://127.0.0.1:${hole.port}`, etcd.endpoints[0]!]), requestTimeoutMs: 500 });
    const check = new EtcdDatastore(clientOptions(etcd));
    try {
      const err = await s.put('/unknown-fate/k', 1).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof EtcdUnavailableError, String(err));
      assert.equal(err.endpoint, `http://127.0.0.1:${hole.port}`);
      assert.match(err.message, /no answer within 500 ms; the write may or may not have been applied/);
      assert.equal(await check.get('/unknown-fate/k'), undefined, 'the write was not retried on the second endpoint');
      await check.put('/unknown-fate/k', 2);
      assert.equal((await s.get('/unknown-fate/k'))?.value, 2, 'the read moved on');
    } finally {
      await s.close();
      await check.close();
      await hole.close();
    }
  });

  it('rejects endpoints that are not http(s) URLs', () => {
    assert.throws(() => new EtcdDatastore({ endpoints: ['127.0.0.1:2379'] }), /must be an http:\/\/ or https:\/\/ URL/);
    assert.throws(() => new EtcdDatastore({ endpoints: [] }), /no etcd endpoints/);
  });
});
