// The etcd fixture itself: parallel starts on distinct ports, restart keeps data and endpoint,
// TLS mode demands a client certificate, stop() kills etcd and removes every file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startEtcd } from './etcd.js';

async function put(endpoint: string, key: string, value: string): Promise<number> {
  const res = await fetch(`${endpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: btoa(key), value: btoa(value) }) });
  assert.equal(res.status, 200);
  return Number(((await res.json()) as { header: { revision: string } }).header.revision);
}

async function get(endpoint: string, key: string): Promise<string | undefined> {
  const res = await fetch(`${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: btoa(key) }) });
  const body = (await res.json()) as { kvs?: { value: string }[] };
  return body.kvs?.[0] && atob(body.kvs[0].value);
}

describe('etcd test fixture', { timeout: 60_000 }, () => {
  it('starts several etcds at once, each on its own ports, and cleans each up', async () => {
    const all = await Promise.all([startEtcd(), startEtcd(), startEtcd()]);
    try {
      assert.equal(new Set(all.map((e) => e.endpoints[0])).size, 3);
      for (const [i, e] of all.entries()) await put(e.endpoints[0]!, '/who', `etcd ${i}`);
      for (const [i, e] of all.entries()) assert.equal(await get(e.endpoints[0]!, '/who'), `etcd ${i}`);
    } finally {
      await Promise.all(all.map((e) => e.stop()));
    }
    for (const e of all) {
      assert.equal(existsSync(e.dataDir), false);
      await assert.rejects(fetch(`${e.endpoints[0]}/health`), 'etcd is gone');
    }
  });

  it('restarts on the same endpoint with the same data, and compacts', async () => {
    const e = await startEtcd();
    try {
      const rev = await put(e.endpoints[0]!, '/k', 'v1');
      await put(e.endpoints[0]!, '/k', 'v2');
      let wasDown = false;
      await e.restart({
        whileDown: async () => {
          wasDown = await fetch(`${e.endpoints[0]}/health`).then(() => false, () => true);
        },
      });
      assert.ok(wasDown, 'etcd was not answering during the restart');
      assert.equal(await get(e.endpoints[0]!, '/k'), 'v2');
      assert.equal(await e.revision(), rev + 1);
      await e.compact(rev + 1);
      const old = await fetch(`${e.endpoints[0]}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: btoa('/k'), revision: String(rev) }) });
      assert.match(await old.text(), /compacted/);
    } finally {
      await e.stop();
      await e.stop();
    }
  });

  it('in TLS mode serves https with a throwaway CA and requires a client certificate', async () => {
    const e = await startEtcd({ tls: true });
    try {
      assert.match(e.endpoints[0]!, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(readFileSync(e.tls!.caFile, 'utf8'), /BEGIN CERTIFICATE/);
      assert.match(readFileSync(e.tls!.certFile, 'utf8'), /BEGIN CERTIFICATE/);
      assert.match(readFileSync(e.tls!.keyFile, 'utf8'), /PRIVATE KEY/);
      assert.ok((await e.revision()) >= 1, 'the fixture itself talks mTLS');
      await assert.rejects(fetch(`${e.endpoints[0]}/health`), 'no client certificate, no answer');
    } finally {
      await e.stop();
    }
  });
});
