// Unit tests of the node agent's pure parts: autodetection, address rules, the Node merge,
// options, metrics rendering, the conflist, the restart back-off, and plugin installation.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { STORED, decodeStored } from '../model/index.js';
import { type HostInterface, detectAddress, isGlobalUnicast } from './autodetect.js';
import { installPlugins, renderConflist } from './cni-install.js';
import { Counter, Gauge, Histogram, Registry } from './metrics.js';
import { chooseNodeAddresses, mergeNode, nodeKey, registerNode } from './node-resource.js';
import { resolveNodeOptions } from './options.js';
import { DEFAULT_BACKOFF, restartDelay } from './supervisor.js';
import { datastoreReadiness } from './dataplane-agent.js';

const ifaces: HostInterface[] = [
  { name: 'lo', index: 1, cidrs: ['127.0.0.1/8', '::1/128'] },
  { name: 'eth0', index: 2, cidrs: ['192.168.1.5/24', 'fe80::1/64', '2001:db8::5/64'] },
  { name: 'docker0', index: 3, cidrs: ['172.17.0.1/16'] },
  { name: 'ens5', index: 4, cidrs: ['169.254.3.3/16', '10.0.0.7/8'] },
  { name: 'cali12345678901', index: 5, cidrs: ['10.244.0.1/32'] },
];
const noReach = async () => undefined;

describe('node IP autodetection', () => {
  it('first-found skips Calico\'s excluded interfaces and non-global addresses, highest index first', async () => {
    assert.deepEqual(await detectAddress('first-found', 4, ifaces, noReach), { interface: 'ens5', cidr: '10.0.0.7/8' });
    assert.deepEqual(await detectAddress('', 6, ifaces, noReach), { interface: 'eth0', cidr: '2001:db8::5/64' });
  });

  it('honours interface=, skip-interface= and cidr=', async () => {
    assert.deepEqual(await detectAddress('interface=eth.*', 4, ifaces, noReach), { interface: 'eth0', cidr: '192.168.1.5/24' });
    assert.deepEqual(await detectAddress('interface=nomatch, docker.*', 4, ifaces, noReach), { interface: 'docker0', cidr: '172.17.0.1/16' });
    assert.deepEqual(await detectAddress('skip-interface=ens.*', 4, ifaces, noReach), { interface: 'eth0', cidr: '192.168.1.5/24' });
    assert.deepEqual(await detectAddress('cidr=192.168.0.0/16', 4, ifaces, noReach), { interface: 'eth0', cidr: '192.168.1.5/24' });
    assert.equal(await detectAddress('cidr=172.31.0.0/16', 4, ifaces, noReach), undefined);
  });

  it('uses the kernel\'s source address for can-reach=, with the interface prefix', async () => {
    const reach = async (dest: string) => (dest === '8.8.8.8' ? '192.168.1.5' : undefined);
    assert.deepEqual(await detectAddress('can-reach=8.8.8.8', 4, ifaces, reach), { interface: 'eth0', cidr: '192.168.1.5/24' });
  });

  it('rejects unknown methods and bad CIDRs with a message that lists the choices', async () => {
    await assert.rejects(detectAddress('magic', 4, ifaces, noReach), /first-found, interface=REGEX/);
    await assert.rejects(detectAddress('cidr=10.0.0/8', 4, ifaces, noReach), /invalid CIDR "10.0.0\/8"/);
    await assert.rejects(detectAddress('kubernetes-internal-ip', 4, ifaces, noReach), /Kubernetes API/);
  });

  it('knows global unicast the way Go does', () => {
    for (const a of ['10.0.0.1', '192.168.1.1', '2001:db8::1', 'fd00::1']) assert.equal(isGlobalUnicast(a), true, a);
    for (const a of ['127.0.0.1', '169.254.1.1', '224.0.0.1', '0.0.0.0', '255.255.255.255', '::1', 'fe80::1', 'ff02::1']) assert.equal(isGlobalUnicast(a), false, a);
  });
});

describe('node address rules (calico/node IP / IP6)', () => {
  it('autodetects IPv4 unless the Node has one; IPv6 only on request', async () => {
    assert.deepEqual(await chooseNodeAddresses({}, {}, ifaces, noReach), { ipv4: '10.0.0.7/8' });
    assert.deepEqual(await chooseNodeAddresses({}, { ipv4: '10.9.9.9/24' }, ifaces, noReach), { ipv4: '10.9.9.9/24' });
    assert.deepEqual(await chooseNodeAddresses({ ip: 'autodetect' }, { ipv4: '10.9.9.9/24' }, ifaces, noReach), { ipv4: '10.0.0.7/8' });
    assert.deepEqual(await chooseNodeAddresses({ ip6: 'autodetect' }, {}, ifaces, noReach), { ipv4: '10.0.0.7/8', ipv6: '2001:db8::5/64' });
  });

  it('takes explicit addresses, a bare IP getting its interface\'s prefix', async () => {
    assert.deepEqual(await chooseNodeAddresses({ ip: '192.168.1.5' }, {}, ifaces, noReach), { ipv4: '192.168.1.5/24' });
    assert.deepEqual(await chooseNodeAddresses({ ip: '10.1.2.3' }, {}, ifaces, noReach), { ipv4: '10.1.2.3/32' });
    assert.deepEqual(await chooseNodeAddresses({ ip: 'none', ip6: '2001:db8::9/64' }, {}, ifaces, noReach), { ipv6: '2001:db8::9/64' });
    await assert.rejects(chooseNodeAddresses({ ip: '2001:db8::1' }, {}, ifaces, noReach), /IP=2001:db8::1 is not a valid IPv4 address/);
    await assert.rejects(chooseNodeAddresses({ ip: 'none' }, {}, ifaces, noReach), /no IPv4 or IPv6 address/);
    await assert.rejects(chooseNodeAddresses({ ipMethod: 'interface=nothing' }, {}, ifaces, noReach), /could not autodetect an IPv4 address/);
  });

  it('merges into an existing Node, keeping what others set', () => {
    const existing = decodeStored(STORED.Node, nodeKey('n1'), {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n1', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', labels: { zone: 'a' } },
      spec: { bgp: { ipv4Address: '10.0.0.1/24', asNumber: 64513 }, addresses: [{ address: '10.0.0.1', type: 'InternalIP' }, { address: '10.0.0.1/24', type: 'CalicoNodeIP' }], orchRefs: [{ nodeName: 'n1', orchestrator: 'k8s' }] },
    });
    const merged = mergeNode(existing, 'n1', { ipv4: '10.0.0.2/24' }, { 'kubernetes.io/hostname': 'n1' }, new Date());
    assert.deepEqual(merged.metadata, { name: 'n1', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', labels: { zone: 'a', 'kubernetes.io/hostname': 'n1' } });
    assert.deepEqual(merged.spec, {
      bgp: { asNumber: 64513, ipv4Address: '10.0.0.2/24' },
      addresses: [{ address: '10.0.0.2/24', type: 'CalicoNodeIP' }, { address: '10.0.0.1', type: 'InternalIP' }],
      orchRefs: [{ nodeName: 'n1', orchestrator: 'k8s' }],
    });
  });

  it('creates, then updates, the Node in a datastore', async () => {
    const ds = new MemoryDatastore();
    await registerNode(ds, { name: 'n1', settings: { ip: '10.1.1.1/24' }, labels: { a: 'b' }, interfaces: ifaces });
    const first = (await ds.get(nodeKey('n1')))!;
    await registerNode(ds, { name: 'n1', settings: { ip: '10.1.1.2/24' }, labels: {}, interfaces: ifaces });
    const second = (await ds.get(nodeKey('n1')))!;
    assert.ok(second.revision > first.revision);
    const v = second.value as { metadata: { labels: Record<string, string>; uid: string }; spec: { bgp: { ipv4Address: string } } };
    assert.equal(v.spec.bgp.ipv4Address, '10.1.1.2/24');
    assert.deepEqual(v.metadata.labels, { a: 'b' });
    assert.equal(v.metadata.uid, (first.value as { metadata: { uid: string } }).metadata.uid);
  });
});

describe('tabby node options', () => {
  it('reads calico/node\'s variables, flags winning over them', () => {
    const o = resolveNodeOptions({ mtu: '1400' }, { NODENAME: 'Node-7', IP: 'autodetect', IP_AUTODETECTION_METHOD: 'interface=eth0', CNI_MTU: '9000', FELIX_HEALTHPORT: '9199', TABBY_NODE_LABELS: 'rack=r2' });
    assert.equal(o.nodename, 'node-7');
    assert.deepEqual(o.addresses, { ip: 'autodetect', ip6: '', ipMethod: 'interface=eth0', ip6Method: 'first-found' });
    assert.equal(o.cni.mtu, 1400);
    assert.equal(o.health.port, 9199);
    assert.equal(o.health.host, '127.0.0.1');
    assert.deepEqual(o.labels, { 'kubernetes.io/hostname': 'node-7', rack: 'r2' });
    assert.equal(o.cni.socket, '/run/tabby/cni.sock');
    assert.equal(o.cni.confDir, '/etc/cni/net.d');
    assert.equal(o.cni.binDir, '/opt/cni/bin');
    assert.equal(o.stateDir, '/var/lib/tabby');
  });

  it('names the bad option and what would be right', () => {
    assert.throws(() => resolveNodeOptions({ mtu: 'big' }, { NODENAME: 'n' }), /MTU \(option\) must be a whole number from 68 to 65535, got "big"/);
    assert.throws(() => resolveNodeOptions({}, { NODENAME: 'bad_name!' }), /node name "bad_name!" \(env NODENAME\)/);
    assert.throws(() => resolveNodeOptions({ assignIpv6: 'perhaps' }, { NODENAME: 'n' }), /assign IPv6 \(option\) must be true or false/);
    assert.throws(() => resolveNodeOptions({ nodeLabels: '=x' }, { NODENAME: 'n' }), /node label "=x"/);
  });
});

describe('metrics exposition', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const r = new Registry();
    const c = r.register(new Counter('tabby_x_total', 'X.'));
    const g = r.register(new Gauge('tabby_up', 'Up.'));
    const h = r.register(new Histogram('tabby_seconds', 'S.', [0.1, 1]));
    c.inc({ code: '0' });
    c.inc({ code: '0' }, 2);
    c.inc({ code: 'a"b' });
    g.set({ child: 'dataplane' }, 1);
    h.observe({ op: 'ADD' }, 0.05);
    h.observe({ op: 'ADD' }, 0.5);
    assert.equal(
      r.render(),
      [
        '# HELP tabby_x_total X.',
        '# TYPE tabby_x_total counter',
        'tabby_x_total{code="0"} 3',
        'tabby_x_total{code="a\\"b"} 1',
        '# HELP tabby_up Up.',
        '# TYPE tabby_up gauge',
        'tabby_up{child="dataplane"} 1',
        '# HELP tabby_seconds S.',
        '# TYPE tabby_seconds histogram',
        'tabby_seconds_bucket{op="ADD",le="0.1"} 1',
        'tabby_seconds_bucket{op="ADD",le="1"} 2',
        'tabby_seconds_bucket{op="ADD",le="+Inf"} 2',
        'tabby_seconds_sum{op="ADD"} 0.55',
        'tabby_seconds_count{op="ADD"} 2',
        '',
      ].join('\n'),
    );
  });
});

describe('restart back-off', () => {
  it('doubles from 1 s up to 30 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelay(n, DEFAULT_BACKOFF)), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('CNI installation', () => {
  const base = {
    networkName: 'k8s-pod-network', nodename: 'n1', mtu: 1440, assignIpv4: true, assignIpv6: true, datastoreType: 'etcdv3',
    etcdEndpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'], etcdCaCertFile: '/etc/tabby/ca.pem', logLevel: 'info', logFilePath: '/var/log/tabby/cni/cni.log', policyType: 'k8s', portmap: false,
  };

  it('renders Calico\'s plugin keys, with portmap only when asked', () => {
    const c = JSON.parse(renderConflist(base));
    assert.deepEqual(c.plugins[0], {
      type: 'tabby', log_level: 'info', log_file_path: '/var/log/tabby/cni/cni.log', datastore_type: 'etcdv3', etcd_endpoints: 'https://10.0.0.1:2379,https://10.0.0.2:2379',
      etcd_key_file: '', etcd_cert_file: '', etcd_ca_cert_file: '/etc/tabby/ca.pem', nodename: 'n1', mtu: 1440,
      ipam: { type: 'tabby-ipam', assign_ipv4: 'true', assign_ipv6: 'true' }, policy: { type: 'k8s' },
    });
    assert.deepEqual(c.cniVersions, ['0.4.0', '1.0.0', '1.1.0']);
    assert.equal(c.plugins.length, 1);
    assert.equal(JSON.parse(renderConflist({ ...base, portmap: true })).plugins[1].type, 'portmap');
    assert.equal(JSON.parse(renderConflist({ ...base, socket: '/run/tabby/cni.sock' })).plugins[0].tabby_socket, undefined);
    assert.equal(JSON.parse(renderConflist({ ...base, socket: '/srv/tabby.sock' })).plugins[0].tabby_socket, '/srv/tabby.sock');
  });

  it('installs one executable under both plugin names, by rename, and skips unchanged files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabby-install-'));
    try {
      const src = join(dir, 'shim');
      writeFileSync(src, '#!/bin/sh\necho v1\n');
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      assert.deepEqual(installPlugins(bin, src), [join(bin, 'tabby'), join(bin, 'tabby-ipam')]);
      assert.equal(statSync(join(bin, 'tabby')).mode & 0o777, 0o755);
      assert.equal(readFileSync(join(bin, 'tabby-ipam'), 'utf8'), '#!/bin/sh\necho v1\n');
      assert.deepEqual(installPlugins(bin, src), []);
      writeFileSync(src, '#!/bin/sh\necho v2\n');
      assert.equal(installPlugins(bin, src).length, 2);
      assert.equal(readFileSync(join(bin, 'tabby'), 'utf8'), '#!/bin/sh\necho v2\n');
      assert.ok(!existsSync(join(bin, `.tabby.tabby-tmp-${process.pid}`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('STATUS readiness', () => {
  it('is ready with a Node, 51 without one, 50 when the datastore fails', async () => {
    const ds = new MemoryDatastore();
    const missing = await datastoreReadiness(ds, 'n1');
    assert.equal(missing.ready ? 0 : missing.code, 51);
    await registerNode(ds, { name: 'n1', settings: { ip: '10.1.1.1/24' }, labels: {}, interfaces: ifaces });
    assert.deepEqual(await datastoreReadiness(ds, 'n1'), { ready: true });
    await ds.close();
    const down = await datastoreReadiness(ds, 'n1');
    assert.equal(down.ready ? 0 : down.code, 50);
    assert.match(down.ready ? '' : down.details, /datastore memory is unreachable/);
  });
});
