// Datastore configuration: precedence (options > env > file > defaults), calicoctl's file format,
// clear errors for bad input, and openDatastore on memory and on a real etcd with TLS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEtcd } from '../testing/etcd.js';
import { type LoadConfigOptions, loadDatastoreConfig } from './config.js';
import { EtcdDatastore } from './etcd.js';
import { MemoryDatastore } from './memory.js';
import { openDatastore } from './open.js';

describe('loadDatastoreConfig', () => {
  let dir: string;
  let nowhere: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tabby-config-'));
    nowhere = join(dir, 'absent.cfg');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const load = (o: LoadConfigOptions) => loadDatastoreConfig({ env: {}, defaultConfigFile: nowhere, ...o });
  const calicoctl = (spec: string) => `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n${spec}`;

  it('defaults to etcdv3 on http://127.0.0.1:2379 when nothing is given', () => {
    const c = load({});
    assert.equal(c.datastoreType, 'etcdv3');
    assert.deepEqual(c.etcdEndpoints, ['http://127.0.0.1:2379']);
    assert.equal(c.etcdCACertFile, undefined);
    assert.deepEqual(c.sources, {});
  });

  it('reads calicoctl environment variables', () => {
    const c = load({
      env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'https://10.0.0.1:2379, https://10.0.0.2:2379', ETCD_CA_CERT_FILE: '/pki/ca.crt', ETCD_CERT_FILE: '/pki/c.crt', ETCD_KEY_FILE: '/pki/c.key' },
    });
    assert.deepEqual(c.etcdEndpoints, ['https://10.0.0.1:2379', 'https://10.0.0.2:2379']);
    assert.equal(c.etcdCACertFile, '/pki/ca.crt');
    assert.equal(c.etcdCertFile, '/pki/c.crt');
    assert.equal(c.etcdKeyFile, '/pki/c.key');
    assert.equal(c.sources.etcdEndpoints, 'env ETCD_ENDPOINTS');
  });

  it('reads a calicoctl config file, with endpoints as a comma list or a YAML list', () => {
    const a = file('a.cfg', calicoctl('  datastoreType: "etcdv3"\n  etcdEndpoints: "https://e1:2379,https://e2:2379"\n  etcdCACertFile: /etc/ca.pem\n'));
    const c = load({ configFile: a });
    assert.deepEqual(c.etcdEndpoints, ['https://e1:2379', 'https://e2:2379']);
    assert.equal(c.etcdCACertFile, '/etc/ca.pem');
    assert.equal(c.sources.etcdCACertFile, `file ${a} spec.etcdCACertFile`);
    const b = file('b.cfg', calicoctl('  etcdEndpoints:\n    - http://e3:2379\n'));
    assert.deepEqual(load({ configFile: b }).etcdEndpoints, ['http://e3:2379']);
    // Found at the default path without being asked for.
    assert.deepEqual(load({ defaultConfigFile: b }).etcdEndpoints, ['http://e3:2379']);
  });

  it('takes options over environment over file over defaults, setting by setting', () => {
    const f = file('p.cfg', calicoctl('  etcdEndpoints: http://from-file:2379\n  etcdCACertFile: /file/ca\n  etcdCertFile: /file/cert\n  etcdKeyFile: /file/key\n'));
    const c = load({
      configFile: f,
      env: { ETCD_ENDPOINTS: 'http://from-env:2379', ETCD_CA_CERT_FILE: '/env/ca' },
      flags: { etcdEndpoints: 'http://from-flag:2379' },
    });
    assert.deepEqual(c.etcdEndpoints, ['http://from-flag:2379']);
    assert.equal(c.etcdCACertFile, '/env/ca');
    assert.equal(c.etcdCertFile, '/file/cert');
    assert.equal(c.sources.etcdEndpoints, 'option etcdEndpoints');
    assert.equal(c.sources.etcdCACertFile, 'env ETCD_CA_CERT_FILE');
    assert.equal(load({ flags: { datastoreType: 'memory' }, env: { DATASTORE_TYPE: 'etcdv3' } }).datastoreType, 'memory');
  });

  it('names the file and the problem for a bad config file', () => {
    const cases: [string, RegExp][] = [
      ['spec: [unclosed', /bad\.cfg is not valid YAML/],
      ['- just\n- a list\n', /must hold a CalicoAPIConfig mapping/],
      ['apiVersion: projectcalico.org/v1\nkind: CalicoAPIConfig\n', /apiVersion is "projectcalico.org\/v1"; expected "projectcalico.org\/v3"/],
      ['apiVersion: projectcalico.org/v3\nkind: IPPool\n', /kind is "IPPool"; expected "CalicoAPIConfig"/],
      [calicoctl('  etcdUsername: root\n'), /spec\.etcdUsername is not a supported setting/],
      [calicoctl('  etcdEndpoints: {a: 1}\n'), /spec\.etcdEndpoints must be a string \(comma-separated\) or a list of strings/],
      [calicoctl('  datastoreType: kubernetes\n'), /"kubernetes" .* is not supported \(Tabby has no Kubernetes datastore yet\); expected one of etcdv3, memory/],
      [calicoctl('  etcdEndpoints: 10.0.0.1:2379\n'), /endpoint "10.0.0.1:2379" from file .*bad\.cfg spec\.etcdEndpoints must be an http:\/\/ or https:\/\/ URL/],
      [calicoctl('  etcdCertFile: /c.crt\n'), /needs both a certificate and its key, but only the certificate is set \(file .*spec\.etcdCertFile\)/],
    ];
    for (const [text, want] of cases) {
      const f = file('bad.cfg', text);
      assert.throws(() => load({ configFile: f }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'InvalidDatastoreConfig');
        assert.match(err.message, want);
        return true;
      }, text);
    }
    assert.throws(() => load({ configFile: join(dir, 'missing.cfg') }), /cannot read datastore config file .*missing\.cfg/);
  });

  it('rejects a bad environment value, naming the variable', () => {
    assert.throws(() => load({ env: { DATASTORE_TYPE: 'etcd' } }), /datastore type "etcd" from env DATASTORE_TYPE is not supported/);
    assert.throws(() => load({ env: { ETCD_ENDPOINTS: ' , ' } }), /no etcd endpoints in env ETCD_ENDPOINTS/);
    assert.throws(() => load({ env: { ETCD_KEY_FILE: '/k' } }), /only the key is set \(env ETCD_KEY_FILE\)/);
  });
});

describe('openDatastore', { timeout: 60_000 }, () => {
  it('opens a memory datastore', async () => {
    const s = openDatastore(loadDatastoreConfig({ env: { DATASTORE_TYPE: 'memory' }, defaultConfigFile: '/nonexistent/tabbyctl.cfg' }));
    assert.ok(s instanceof MemoryDatastore);
    await s.close();
  });

  it('opens etcd with TLS client certificates from the environment, and uses it', async () => {
    const etcd = await startEtcd({ tls: true });
    try {
      const config = loadDatastoreConfig({
        env: { ETCD_ENDPOINTS: etcd.endpoints.join(','), ETCD_CA_CERT_FILE: etcd.tls!.caFile, ETCD_CERT_FILE: etcd.tls!.certFile, ETCD_KEY_FILE: etcd.tls!.keyFile },
        defaultConfigFile: '/nonexistent/tabbyctl.cfg',
      });
      const s = openDatastore(config);
      try {
        assert.ok(s instanceof EtcdDatastore);
        assert.equal(s.description, `etcdv3 ${etcd.endpoints[0]}`);
        const kv = await s.create('/open/k', { ok: true });
        assert.deepEqual((await s.get('/open/k'))?.value, { ok: true });
        assert.equal(kv.revision, await etcd.revision());
      } finally {
        await s.close();
      }
    } finally {
      await etcd.stop();
    }
  });

  it('names the setting behind an unreadable certificate file', () => {
    const config = loadDatastoreConfig({ env: { ETCD_ENDPOINTS: 'https://127.0.0.1:2379', ETCD_CA_CERT_FILE: '/nonexistent/ca.crt' }, defaultConfigFile: '/nonexistent/tabbyctl.cfg' });
    assert.throws(() => openDatastore(config), /cannot read \/nonexistent\/ca\.crt \(env ETCD_CA_CERT_FILE\): ENOENT/);
  });
});
