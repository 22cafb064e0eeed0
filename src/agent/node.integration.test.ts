// `tabby node` for real, in a network namespace made here, against a real etcd: what it writes
// (Node resource, nodename file, conflist, plugin executables), its health and metrics endpoints,
// restarting a crashed dataplane agent, and STATUS while the datastore is away.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../cni/index.js';
import { SHIM, type TestNode, startTestNode } from '../cni/testing/test-node.js';
import { nodeKey } from './node-resource.js';

let node: TestNode;

before(async () => {
  node = await startTestNode({ nodename: 'node-a', args: ['--node-labels', 'rack=r1'] });
});

after(async () => {
  await node?.stop();
});

const status = () => node.cni('tabby', { CNI_COMMAND: 'STATUS', CNI_PATH: node.binDir }, JSON.stringify(node.conf({ cniVersion: '1.1.0' })));

interface Health {
  ok: boolean;
  children: { name: string; pid?: number; state: string; restarts: number; ready: boolean; reason?: string }[];
}

async function health(path: '/liveness' | '/readiness'): Promise<{ status: number; body: Health }> {
  const r = await node.httpGet(path);
  return { status: r.status, body: JSON.parse(r.body) as Health };
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${node.logs.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('tabby node start-up', () => {
  it('registers the Node with its autodetected address, labels and the nodename file', async () => {
    const kv = await node.ds.get(nodeKey('node-a'));
    assert.ok(kv, 'Node resource exists');
    const n = kv.value as { kind: string; metadata: { name: string; labels: Record<string, string> }; spec: { bgp: { ipv4Address: string }; addresses: unknown[] } };
    assert.equal(n.kind, 'Node');
    assert.equal(n.spec.bgp.ipv4Address, '198.18.100.1/24');
    assert.deepEqual(n.spec.addresses, [{ address: '198.18.100.1/24', type: 'CalicoNodeIP' }]);
    assert.deepEqual(n.metadata.labels, { 'kubernetes.io/hostname': 'node-a', rack: 'r1' });
    assert.equal(readFileSync(join(node.stateDir, 'nodename'), 'utf8'), 'node-a');
  });

  it('installs both plugin names from the C shim and a conflist with Calico\'s keys', async () => {
    const shim = readFileSync(SHIM);
    for (const name of ['tabby', 'tabby-ipam']) assert.ok(readFileSync(join(node.binDir, name)).equals(shim), name);
    const conflist = JSON.parse(readFileSync(join(node.confDir, '10-tabby.conflist'), 'utf8'));
    assert.equal(conflist.name, 'k8s-pod-network');
    assert.equal(conflist.cniVersion, '1.0.0');
    assert.equal(conflist.plugins.length, 1, 'no portmap entry without a portmap plugin');
    const p = conflist.plugins[0];
    assert.equal(p.type, 'tabby');
    assert.deepEqual(p.ipam, { type: 'tabby-ipam', assign_ipv4: 'true', assign_ipv6: 'false' });
    assert.equal(p.datastore_type, 'etcdv3');
    assert.equal(p.etcd_endpoints, 'http://127.0.0.1:2379');
    for (const key of ['etcd_ca_cert_file', 'etcd_cert_file', 'etcd_key_file', 'log_level', 'log_file_path']) assert.equal(typeof p[key], 'string', key);
    assert.equal(p.nodename, 'node-a');
    assert.equal(p.mtu, 0, 'the agent chooses the MTU (VXLAN or host) unless CNI_MTU sets one');
    assert.deepEqual(p.policy, { type: 'k8s' });
    assert.equal(p.tabby_socket, node.socket, 'a non-default socket is named in the config');
  });

  it('prints its options with --help', async () => {
    const r = await runCommand([process.execPath, node.nodeArgs()[0]!, 'node', '--help']);
    assert.equal(r.code, 0);
    for (const opt of ['--nodename', '--ip-autodetection-method', '--etcd-endpoints', '--cni-conf-dir', '--health-port']) assert.ok(r.stdout.includes(opt), opt);
  });
});

describe('health, metrics and supervision', () => {
  it('serves /liveness, /readiness and /metrics', async () => {
    const live = await health('/liveness');
    assert.equal(live.status, 200);
    const ready = await waitFor('readiness', async () => {
      const r = await health('/readiness');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(ready.body.children[0]!.name, 'dataplane');
    assert.equal(ready.body.children[0]!.ready, true);
    const metrics = (await node.httpGet('/metrics')).body;
    assert.match(metrics, /^tabby_node_child_restarts_total\{child="dataplane"\} 0$/m);
    assert.match(metrics, /^tabby_node_child_up\{child="dataplane"\} 1$/m);
    assert.match(metrics, /^tabby_cni_requests_total\{plugin="tabby",command="STATUS",code="0"\} \d+$/m);
    assert.match(metrics, /^# TYPE tabby_cni_request_duration_seconds histogram$/m);
    assert.equal((await node.httpGet('/nope')).status, 404);
  });

  it('restarts a killed dataplane agent, which then serves CNI again', async () => {
    const before = (await health('/readiness')).body.children[0]!;
    assert.ok(before.pid);
    process.kill(before.pid, 'SIGKILL');
    const unavailable = await waitFor('the shim to report the agent gone', async () => {
      const r = await status();
      return r.code !== 0 ? (JSON.parse(r.stdout) as { code: number }) : undefined;
    });
    assert.equal(unavailable.code, 50);
    const after = await waitFor('the agent to come back ready', async () => {
      const r = await health('/readiness');
      const c = r.body.children[0]!;
      return r.status === 200 && c.pid !== before.pid ? c : undefined;
    });
    assert.equal(after.restarts, 1);
    assert.equal((await status()).code, 0);
    const metrics = (await node.httpGet('/metrics')).body;
    assert.match(metrics, /^tabby_node_child_restarts_total\{child="dataplane"\} 1$/m);
    assert.match(node.logs, /"msg":"child exited; restarting after back-off","child":"dataplane","code":null,"signal":"SIGKILL"/);
  });

  it('answers STATUS with 50 while the datastore is down, and recovers after', async () => {
    let during: { code: number; details: string } | undefined;
    await node.etcd!.restart({
      whileDown: async () => {
        const r = await status();
        during = JSON.parse(r.stdout) as { code: number; details: string };
      },
    });
    assert.equal(during?.code, 50);
    assert.match(during!.details, /datastore .* (unreachable|did not answer)/);
    await waitFor('STATUS success after etcd is back', async () => ((await status()).code === 0 ? true : undefined));
  });
});

describe('re-running tabby node', () => {
  it('keeps the Node, takes an explicit IP, and adds portmap to the conflist once it is installed', async () => {
    await node.stopAgent();
    copyFileSync('/usr/lib/cni/portmap', join(node.binDir, 'portmap'));
    await node.startAgent(['--ip', '198.18.100.1', '--mtu', '1400']);
    const n = (await node.ds.get(nodeKey('node-a')))!.value as { spec: { bgp: { ipv4Address: string } }; metadata: { labels: Record<string, string> } };
    assert.equal(n.spec.bgp.ipv4Address, '198.18.100.1/24', 'a bare IP takes its prefix from the interface');
    assert.equal(n.metadata.labels.rack, 'r1', 'labels set earlier are kept');
    const conflist = JSON.parse(readFileSync(join(node.confDir, '10-tabby.conflist'), 'utf8'));
    assert.deepEqual(conflist.plugins[1], { type: 'portmap', snat: true, capabilities: { portMappings: true } });
    assert.equal(conflist.plugins[0].mtu, 1400);
  });
});
