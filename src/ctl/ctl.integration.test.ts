// The built `bin/tabbyctl`, run as a user would (child process, configuration through env, flags
// and a config file), against real etcds started by this test: one plain, one with TLS and
// client-certificate authentication. Needs `make build` first (the test runs dist/bin/tabbyctl.cjs).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { EtcdDatastore } from '../datastore/index.js';
import { type EtcdFixture, startEtcd } from '../testing/etcd.js';
import { TABBYCTL, assertOk, runBinary } from './testing.js';

const work = mkdtempSync(join(tmpdir(), 'tabbyctl-it-'));

let plain: EtcdFixture;
let secure: EtcdFixture;

before(async () => {
  [plain, secure] = await Promise.all([startEtcd(), startEtcd({ tls: true })]);
});
after(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
  rmSync(work, { recursive: true, force: true });
});


/** Run tabbyctl with a clean environment: only PATH and what the test gives. */
const ctl = (args: string[], env: Record<string, string>, stdin?: string) => runBinary(TABBYCTL, args, env, stdin);
const plainEnv = () => ({ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: plain.endpoints.join(',') });
const ok = assertOk;
const file = (name: string, text: string) => {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
};

const MANIFESTS = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
  labels:
    env: prod
spec:
  cidr: 10.244.0.0/16
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: fd00:10:244::/48
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-db-egress
spec:
  order: 100
  selector: role == 'db'
  types: [Egress]
  egress:
  - action: Deny
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: prod
  labels:
    app: web
spec:
  selector: app == 'web'
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [80, 443]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination:
      ports: [53]
`;

const BROKEN = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-x
spec:
  cidr: 10.50.0.0/16
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-y
spec:
  cidr: 10.60.0.0/16
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-z
spec:
  cidr: 10.70.0.0/16
  blockSize: 40
`;

describe('tabbyctl against etcd', () => {
  it('bootstraps a fresh datastore once when several tabbyctl processes write at the same time', async () => {
    const pool = (i: number) => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: race-${i}}\nspec: {cidr: 10.${200 + i}.0.0/16}\n`;
    const runs = await Promise.all([0, 1, 2].map((i) => ctl(['create', '-f', '-'], plainEnv(), pool(i))));
    runs.forEach(ok);
    const info = await ctl(['get', 'clusterinformation', '-o', 'json'], plainEnv());
    assert.equal(JSON.parse(info.stdout).items.length, 1);
    const del = await ctl(['delete', 'ippool', 'race-0', 'race-1', 'race-2'], plainEnv());
    assert.deepEqual([del.code, del.stdout], [0, "Successfully deleted 3 'IPPool' resource(s)\n"]);
  });

  it('applies a multi-document file of Calico manifests and bootstraps the datastore', async () => {
    const r = await ctl(['apply', '-f', file('manifests.yaml', MANIFESTS)], plainEnv());
    ok(r);
    assert.equal(r.stdout, 'Successfully applied 5 resource(s)\n');
    const ds = new EtcdDatastore({ endpoints: plain.endpoints });
    try {
      const pool = (await ds.get('/calico/resources/v3/projectcalico.org/ippools/pool-a'))!.value as { metadata: Record<string, unknown> };
      assert.equal('resourceVersion' in pool.metadata, false);
      assert.match(String(pool.metadata.uid), /^[0-9a-f-]{36}$/);
      assert.ok(await ds.get('/calico/resources/v3/projectcalico.org/networkpolicies/prod/allow-web'));
      assert.ok(await ds.get('/calico/resources/v3/projectcalico.org/networkpolicies/default/allow-dns'));
      const tiers = (await ds.list('/calico/resources/v3/projectcalico.org/tiers/')).items.map((kv) => kv.key.split('/').pop());
      assert.deepEqual(tiers, ['default', 'kube-admin', 'kube-baseline']);
      assert.ok(await ds.get('/calico/resources/v3/projectcalico.org/clusterinformations/default'));
    } finally {
      await ds.close();
    }
    const v = await ctl(['version'], plainEnv());
    ok(v);
    assert.match(v.stdout, /^Client Version: +v\d+\.\d+\.\d+\nCluster Version: +v\d+\.\d+\.\d+\n/);
  });

  it('gets resources as yaml, json, wide, name and the default table', async () => {
    const y = await ctl(['get', 'ippool', 'pool-a', '-o', 'yaml'], plainEnv());
    ok(y);
    const pool = parse(y.stdout) as { kind: string; metadata: { name: string; resourceVersion: string; uid: string }; spec: { cidr: string; blockSize: number } };
    assert.deepEqual([pool.kind, pool.metadata.name, pool.spec.cidr, pool.spec.blockSize], ['IPPool', 'pool-a', '10.244.0.0/16', 26]);
    assert.match(pool.metadata.resourceVersion, /^\d+$/);
    const j = await ctl(['get', 'ippools', '-o', 'json'], plainEnv());
    ok(j);
    const list = JSON.parse(j.stdout) as { kind: string; items: { metadata: { name: string } }[] };
    assert.deepEqual([list.kind, list.items.map((i) => i.metadata.name)], ['IPPoolList', ['pool-a', 'pool-b']]);
    const w = await ctl(['get', 'ippool', '-o', 'wide'], plainEnv());
    ok(w);
    assert.match(w.stdout, /^NAME\s+CIDR\s+NAT\s+IPIPMODE\s+VXLANMODE\s+DISABLED\s+DISABLEBGPEXPORT\s+SELECTOR\npool-a\s+10\.244\.0\.0\/16\s+true\s+Never\s+Never/);
    const n = await ctl(['get', 'gnp', '-o', 'name'], plainEnv());
    assert.deepEqual([n.code, n.stdout], [0, 'globalnetworkpolicy/deny-db-egress\n']);
    const t = await ctl(['get', 'ipp'], plainEnv());
    assert.deepEqual([t.code, t.stdout.split('\n')[0]], [0, 'NAME     CIDR               SELECTOR']);
  });

  it('honours -n, -A and -l', async () => {
    const dflt = await ctl(['get', 'networkpolicy', '-o', 'name'], plainEnv());
    assert.deepEqual([dflt.code, dflt.stdout], [0, 'networkpolicy/allow-dns\n']);
    const prod = await ctl(['get', 'networkpolicy', '-n', 'prod', '-o', 'name'], plainEnv());
    assert.deepEqual([prod.code, prod.stdout], [0, 'networkpolicy/allow-web\n']);
    const all = await ctl(['get', 'networkpolicy', '-A'], plainEnv());
    ok(all);
    assert.deepEqual(all.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/).slice(0, 2)), [['NAMESPACE', 'NAME'], ['default', 'allow-dns'], ['prod', 'allow-web']]);
    const sel = await ctl(['get', 'np', '-A', '-l', "app == 'web'", '-o', 'name'], plainEnv());
    assert.deepEqual([sel.code, sel.stdout], [0, 'networkpolicy/allow-web\n']);
    const pools = await ctl(['get', 'ippool', '-l', '!has(env)', '-o', 'name'], plainEnv());
    assert.deepEqual([pools.code, pools.stdout], [0, 'ippool/pool-b\n']);
    // kubectl's form is taken too (see habits.test.ts); this is neither language.
    const kubectlForm = await ctl(['get', 'ippool', '-l', 'env = prod', '-o', 'name'], plainEnv());
    assert.deepEqual([kubectlForm.code, kubectlForm.stdout], [0, 'ippool/pool-a\n']);
    const bad = await ctl(['get', 'ippool', '-l', "env == 'prod' &&"], plainEnv());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .*selector/i);
  });

  it('patches, refuses a stale replace with exit 3, and deletes', async () => {
    ok(await ctl(['patch', 'ippool', 'pool-b', '-p', '{"metadata":{"labels":{"env":"dev"}},"spec":{"disabled":true}}'], plainEnv()));
    const got = parse((await ctl(['get', 'ippool', 'pool-b', '-o', 'yaml'], plainEnv())).stdout) as { metadata: { labels: Record<string, string>; resourceVersion: string }; spec: { disabled: boolean } };
    assert.deepEqual([got.metadata.labels, got.spec.disabled], [{ env: 'dev' }, true]);
    const stale = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
  resourceVersion: "${Number(got.metadata.resourceVersion) - 1}"
spec:
  cidr: fd00:10:244::/48
`;
    const r = await ctl(['replace', '-f', file('stale.yaml', stale)], plainEnv());
    assert.equal(r.code, 3);
    assert.match(r.stderr, /update conflict: IPPool\(pool-b\)/);
    const fresh = stale.replace(/resourceVersion: ".*"/, `resourceVersion: "${got.metadata.resourceVersion}"`);
    const rr = await ctl(['replace', '-f', file('fresh.yaml', fresh)], plainEnv());
    assert.deepEqual([rr.code, rr.stdout], [0, "Successfully replaced 1 'IPPool' resource(s)\n"]);
    const missing = await ctl(['patch', 'ippool', 'nope', '-p', '{}'], plainEnv());
    assert.equal(missing.code, 2);
    const del = await ctl(['delete', 'networkpolicy', 'allow-web', '-n', 'prod'], plainEnv());
    assert.deepEqual([del.code, del.stdout], [0, "Successfully deleted 1 'NetworkPolicy' resource(s)\n"]);
    const again = await ctl(['delete', 'networkpolicy', 'allow-web', '-n', 'prod'], plainEnv());
    assert.deepEqual([again.code, again.stderr], [2, 'error: resource does not exist: NetworkPolicy(prod/allow-web)\n']);
  });

  it('stores nothing from a file with one invalid document and says which and why', async () => {
    const f = file('broken.yaml', BROKEN);
    const r = await ctl(['apply', '-f', f], plainEnv());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid; nothing was stored/);
    assert.match(r.stderr, new RegExp(`${f}: document 3 \\(line \\d+\\) IPPool "pool-z": spec\\.blockSize: .*\\[rule: [a-z-]+\\]`));
    const names = await ctl(['get', 'ippool', '-o', 'name'], plainEnv());
    assert.deepEqual([names.code, names.stdout], [0, 'ippool/pool-a\nippool/pool-b\n']);
  });

  it('deletes everything named in a file', async () => {
    const r = await ctl(['delete', '-f', join(work, 'manifests.yaml'), '--skip-not-found'], plainEnv());
    ok(r);
    assert.equal(r.stdout, 'Successfully deleted 4 resource(s); skipped 1 that did not exist\n');
    const left = await ctl(['get', 'ippool', '-o', 'json'], plainEnv());
    assert.deepEqual(JSON.parse(left.stdout).items, []);
  });
});

describe('tabbyctl with Kubernetes kinds', () => {
  const K8S = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    team: payments
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-only
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  ingress:
  - ports:
    - port: 8080
`;
  it('writes the Calico conversions with their sources and removes them with them', async () => {
    const f = file('k8s.yaml', K8S);
    const r = await ctl(['apply', '-f', f], plainEnv());
    ok(r);
    assert.equal(r.stdout, 'Successfully applied 2 resource(s)\n');
    const profile = parse((await ctl(['get', 'profile', 'kns.shop', '-o', 'yaml'], plainEnv())).stdout) as { spec: { labelsToApply: Record<string, string> } };
    assert.equal(profile.spec.labelsToApply['pcns.team'], 'payments');
    const np = await ctl(['get', 'networkpolicy', '-n', 'shop', '-o', 'wide'], plainEnv());
    ok(np);
    assert.match(np.stdout, /^knp\.default\.web-only\s+default\s+1000\s+/m);
    const knp = await ctl(['get', 'networkpolicies.networking.k8s.io', '-n', 'shop', '-o', 'name'], plainEnv());
    assert.deepEqual([knp.code, knp.stdout], [0, 'networkpolicy.networking.k8s.io/web-only\n']);
    const ns = await ctl(['get', 'ns'], plainEnv());
    assert.deepEqual([ns.code, ns.stdout], [0, 'NAME\nshop\n']);
    ok(await ctl(['delete', '-f', f], plainEnv()));
    const gone = await ctl(['get', 'profile', 'kns.shop'], plainEnv());
    assert.equal(gone.code, 2);
    const npGone = await ctl(['get', 'networkpolicy', '-n', 'shop', '-o', 'name'], plainEnv());
    assert.deepEqual([npGone.code, npGone.stdout], [0, '']);
  });
});

describe('tabbyctl datastore configuration', () => {
  const tlsEnv = () => ({
    DATASTORE_TYPE: 'etcdv3',
    ETCD_ENDPOINTS: secure.endpoints.join(','),
    ETCD_CA_CERT_FILE: secure.tls!.caFile,
    ETCD_CERT_FILE: secure.tls!.certFile,
    ETCD_KEY_FILE: secure.tls!.keyFile,
  });
  const POOL = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: tls-pool}\nspec: {cidr: 10.99.0.0/16}\n';

  it('reaches a TLS etcd with client certificates from the environment', async () => {
    ok(await ctl(['apply', '-f', '-'], tlsEnv(), POOL));
    const r = await ctl(['get', 'ippool', '-o', 'name'], tlsEnv());
    assert.deepEqual([r.code, r.stdout], [0, 'ippool/tls-pool\n']);
  });

  it('reaches it through a calicoctl-style config file', async () => {
    const cfg = file(
      'calicoctl.cfg',
      `apiVersion: projectcalico.org/v3
kind: CalicoAPIConfig
metadata: {}
spec:
  datastoreType: etcdv3
  etcdEndpoints: ${secure.endpoints.join(',')}
  etcdCACertFile: ${secure.tls!.caFile}
  etcdCertFile: ${secure.tls!.certFile}
  etcdKeyFile: ${secure.tls!.keyFile}
`,
    );
    const r = await ctl(['get', 'ippool', '-o', 'name', '-c', cfg], {});
    assert.deepEqual([r.code, r.stdout], [0, 'ippool/tls-pool\n']);
  });

  it('and through flags, which win over the environment', async () => {
    const env = { ...tlsEnv(), ETCD_ENDPOINTS: 'http://127.0.0.1:1' };
    const r = await ctl(['get', 'ippool', '-o', 'name', '--etcd-endpoints', secure.endpoints.join(',')], env);
    assert.deepEqual([r.code, r.stdout], [0, 'ippool/tls-pool\n']);
  });

  it('exits 4 with a clear message when the TLS etcd refuses a client without a certificate', async () => {
    const { ETCD_CERT_FILE: _c, ETCD_KEY_FILE: _k, ...env } = tlsEnv();
    const r = await ctl(['get', 'ippool'], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^error: datastore unavailable/);
  });

  it('exits 4 with a clear message when etcd is unreachable', async () => {
    const port = await closedPort();
    const r = await ctl(['get', 'ippool'], { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: datastore unavailable \\(etcdv3 http://127\\.0\\.0\\.1:${port}\\): .*\\nhint: check that etcd is running`));
    const v = await ctl(['version'], { ETCD_ENDPOINTS: `http://127.0.0.1:${port}` });
    assert.equal(v.code, 4);
    assert.match(v.stdout, /^Client Version:/);
  });
});

/** A loopback port nothing listens on: bound by the kernel, then released. */
function closedPort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}
