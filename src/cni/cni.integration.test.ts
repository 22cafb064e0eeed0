// The CNI plugins end to end: the real C shim, run with a real CNI environment and stdin, talking
// to a real `tabby node` in a network namespace made here, with a real etcd. Every test checks
// the kernel (links, addresses, routes, sysctls in both namespaces), the datastore
// (WorkloadEndpoint, IPAM handle) and the exact CNI output.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlockAllocator } from '../ipam/index.js';
import { putPool } from '../testing/resources.js';
import { runCommand } from './exec.js';
import { FORWARDER, SHIM, type TestNode, type TestPod, startTestNode } from './testing/test-node.js';
import { wepKey } from './workload-endpoint.js';
import { vethNameForWorkload } from '../model/index.js';

let node: TestNode;
let ipam: BlockAllocator;

before(async () => {
  node = await startTestNode();
  ipam = new BlockAllocator(node.ds);
  await putPool(node.ds, 'test-pool-b', { cidr: '10.78.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: '!all()', allowedUses: ['Workload'], assignmentMode: 'Manual' });
});

after(async () => {
  await node?.stop();
});

interface K8sPod {
  ns: string;
  name: string;
}

function env(command: string, pod: TestPod | undefined, containerId: string, k8s?: K8sPod): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    ...(pod ? { CNI_NETNS: pod.netns } : {}),
    CNI_IFNAME: 'eth0',
    CNI_PATH: node.binDir,
    ...(k8s ? { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${k8s.ns};K8S_POD_NAME=${k8s.name};K8S_POD_INFRA_CONTAINER_ID=${containerId}` } : {}),
  };
}

const conf = (over: Record<string, unknown> = {}) => JSON.stringify(node.conf(over));

async function sh(argv: string[]): Promise<string> {
  const r = await runCommand(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const inPod = (pod: TestPod, argv: string[]) => sh(['ip', 'netns', 'exec', pod.name, ...argv]);
const inNode = (argv: string[]) => sh(['ip', 'netns', 'exec', node.netnsName, ...argv]);
const hostLinks = async () => (JSON.parse(await inNode(['ip', '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith('cali'));

interface AddResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string; mtu?: number }[];
  ips: { address: string; interface?: number; version?: string }[];
  routes?: { dst: string; gw?: string }[];
}

async function add(pod: TestPod, containerId: string, k8s?: K8sPod, over: Record<string, unknown> = {}): Promise<AddResult> {
  const r = await node.cni('tabby', env('ADD', pod, containerId, k8s), conf(over));
  assert.equal(r.code, 0, `ADD failed: ${r.stdout}${r.stderr}\n${node.logs.slice(-2000)}`);
  return JSON.parse(r.stdout) as AddResult;
}

async function del(pod: TestPod | undefined, containerId: string, k8s?: K8sPod, over: Record<string, unknown> = {}): Promise<void> {
  const r = await node.cni('tabby', env('DEL', pod, containerId, k8s), conf(over));
  assert.equal(r.code, 0, `DEL failed: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
}

function cniError(r: { code: number; stdout: string }): { cniVersion: string; code: number; msg: string; details: string } {
  assert.notEqual(r.code, 0, `expected a failure, got ${r.stdout}`);
  return JSON.parse(r.stdout) as { cniVersion: string; code: number; msg: string; details: string };
}

const bare = (cidr: string) => cidr.split('/')[0]!;

describe('ADD, CHECK and DEL follow Calico\'s scheme', () => {
  it('builds the veth pair, addresses, routes, sysctls and WorkloadEndpoint, and DEL removes all of it', async () => {
    const pod = await node.addPod();
    const k8s = { ns: 'default', name: 'web-1' };
    const result = await add(pod, 'cid-basic', k8s);
    const veth = vethNameForWorkload('default', 'web-1');
    assert.equal(result.cniVersion, '1.0.0');
    assert.equal(result.interfaces[0]!.name, veth);
    assert.equal(result.interfaces[0]!.mac, 'ee:ee:ee:ee:ee:ee');
    assert.equal(result.interfaces[1]!.name, 'eth0');
    assert.equal(result.interfaces[1]!.sandbox, pod.netns);
    assert.equal(result.ips.length, 1);
    assert.match(result.ips[0]!.address, /^10\.77\.\d+\.\d+\/32$/);
    assert.equal(result.ips[0]!.interface, 1);
    assert.equal(result.ips[0]!.version, undefined);
    const ip = bare(result.ips[0]!.address);

    // Container side.
    const link = JSON.parse(await inPod(pod, ['ip', '-j', 'addr', 'show', 'dev', 'eth0']))[0];
    assert.equal(link.address, result.interfaces[1]!.mac);
    assert.equal(link.mtu, 1500);
    assert.ok(link.flags.includes('UP'));
    assert.deepEqual(link.addr_info.filter((a: { scope: string }) => a.scope !== 'link').map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`), [`${ip}/32`]);
    const routes = (await inPod(pod, ['ip', 'route', 'show'])).trim().split('\n').map((l) => l.trim());
    assert.deepEqual(routes, ['default via 169.254.1.1 dev eth0', '169.254.1.1 dev eth0 scope link']);

    // Host side.
    const hostLink = JSON.parse(await inNode(['ip', '-j', 'link', 'show', 'dev', veth]))[0];
    assert.equal(hostLink.address, 'ee:ee:ee:ee:ee:ee');
    assert.ok(hostLink.flags.includes('UP'));
    assert.equal((await inNode(['ip', 'route', 'show', `${ip}/32`])).trim(), `${ip} dev ${veth} scope link`);
    for (const [path, want] of [
      [`ipv4/conf/${veth}/proxy_arp`, '1'],
      [`ipv4/neigh/${veth}/proxy_delay`, '0'],
      [`ipv4/conf/${veth}/forwarding`, '1'],
      [`ipv4/conf/${veth}/route_localnet`, '1'],
    ]) {
      assert.equal((await inNode(['cat', `/proc/sys/net/${path}`])).trim(), want, path);
    }

    // Datastore: WorkloadEndpoint and IPAM handle.
    const wep = (await node.ds.get(wepKey('default', 'test--node--1-k8s-web--1-eth0')))?.value as { spec: Record<string, unknown>; metadata: { labels: Record<string, string> } };
    assert.ok(wep, 'WorkloadEndpoint written');
    assert.equal(wep.spec.orchestrator, 'k8s');
    assert.equal(wep.spec.pod, 'web-1');
    assert.equal(wep.spec.endpoint, 'eth0');
    assert.equal(wep.spec.containerID, 'cid-basic');
    assert.equal(wep.spec.interfaceName, veth);
    assert.equal(wep.spec.mac, result.interfaces[1]!.mac);
    assert.deepEqual(wep.spec.ipNetworks, [`${ip}/32`]);
    assert.deepEqual(wep.spec.profiles, ['kns.default']);
    assert.equal(wep.metadata.labels['projectcalico.org/orchestrator'], 'k8s');
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-basic'), [ip]);

    // CHECK passes on the real state, and fails naming what is missing once it is broken.
    const check = await node.cni('tabby', env('CHECK', pod, 'cid-basic', k8s), conf({ prevResult: result }));
    assert.deepEqual([check.code, check.stdout], [0, '']);
    await inPod(pod, ['ip', 'route', 'del', 'default']);
    const broken = cniError(await node.cni('tabby', env('CHECK', pod, 'cid-basic', k8s), conf({ prevResult: result })));
    assert.equal(broken.code, 101);
    assert.match(broken.details, /route to 0\.0\.0\.0\/0 is missing/);

    await del(pod, 'cid-basic', k8s, { prevResult: result });
    assert.deepEqual(await hostLinks(), []);
    assert.equal((await inNode(['ip', 'route', 'show', `${ip}/32`])).trim(), '');
    assert.equal(await node.ds.get(wepKey('default', 'test--node--1-k8s-web--1-eth0')), undefined);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-basic'), []);
    assert.equal((await inPod(pod, ['ip', '-o', 'link'])).includes('eth0'), false);

    // DEL again, and once the netns itself is gone: still success.
    await del(pod, 'cid-basic', k8s);
    await node.removePod(pod);
    await del(pod, 'cid-basic', k8s);
  });

  it('answers a repeated ADD with the same result and no second allocation', async () => {
    const pod = await node.addPod();
    const k8s = { ns: 'default', name: 'again' };
    const first = await add(pod, 'cid-again', k8s);
    const second = await add(pod, 'cid-again', k8s);
    assert.deepEqual(second, first);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-again'), [bare(first.ips[0]!.address)]);
    await del(pod, 'cid-again', k8s);
    await node.removePod(pod);
  });

  it('keeps a WorkloadEndpoint a newer sandbox rewrote, but releases the old container\'s addresses', async () => {
    const oldPod = await node.addPod();
    const newPod = await node.addPod();
    const k8s = { ns: 'default', name: 'resandboxed' };
    const old = await add(oldPod, 'cid-old', k8s);
    await node.removePod(oldPod); // the old sandbox's netns goes first, as with a crashed pod
    const fresh = await add(newPod, 'cid-new', k8s);
    await del(oldPod, 'cid-old', k8s);
    const wep = (await node.ds.get(wepKey('default', 'test--node--1-k8s-resandboxed-eth0')))?.value as { spec: { containerID: string } };
    assert.equal(wep.spec.containerID, 'cid-new');
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-old'), []);
    assert.notEqual(bare(old.ips[0]!.address), undefined);
    assert.deepEqual(await hostLinks(), [vethNameForWorkload('default', 'resandboxed')]);
    await del(newPod, 'cid-new', k8s);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-new'), []);
    assert.equal(fresh.ips.length, 1);
    await node.removePod(newPod);
  });

  it('names a workload without Kubernetes identity after its container (orchestrator cni)', async () => {
    const pod = await node.addPod();
    const cid = 'fedcba9876543210';
    const result = await add(pod, cid);
    assert.equal(result.interfaces[0]!.name, 'califedcba98765');
    const wep = (await node.ds.get(wepKey('default', `test--node--1-cni-${cid}-eth0`)))?.value as { spec: Record<string, unknown> };
    assert.equal(wep.spec.orchestrator, 'cni');
    assert.equal(wep.spec.workload, cid);
    assert.deepEqual(wep.spec.profiles, ['test-net']);
    await del(pod, cid);
    await node.removePod(pod);
  });
});

describe('versions and prevResult', () => {
  it('answers VERSION with what it supports', async () => {
    const r = await node.cni('tabby', { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    const ipamV = await node.cni('tabby-ipam', { CNI_COMMAND: 'VERSION' }, '');
    assert.equal(JSON.parse(ipamV.stdout).cniVersion, '1.1.0');
  });

  it('answers VERSION the same way without the agent (shim and forwarder)', async () => {
    const fromAgent = await node.cni('tabby', { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    for (const exe of [SHIM, FORWARDER]) {
      const alone = await node.cni('tabby', { CNI_COMMAND: 'VERSION', TABBY_CNI_SOCKET: '/run/tabby-test-nowhere.sock' }, '{"cniVersion":"1.0.0"}', exe);
      assert.equal(alone.code, 0, exe);
      assert.deepEqual(JSON.parse(alone.stdout), JSON.parse(fromAgent.stdout), exe);
    }
  });

  for (const version of ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    it(`speaks cniVersion ${version} in the result's own shape`, async () => {
      const pod = await node.addPod();
      const cid = `cid-v${version.replace(/\./g, '')}`;
      const r = await add(pod, cid, undefined, { cniVersion: version });
      assert.equal(r.cniVersion, version);
      const legacy = version < '1.0.0';
      assert.equal(r.ips[0]!.version, legacy ? '4' : undefined);
      assert.equal(r.interfaces[1]!.mtu, version === '1.1.0' ? 1500 : undefined);
      if (version !== '0.3.1') {
        const check = await node.cni('tabby', env('CHECK', pod, cid), conf({ cniVersion: version, prevResult: r }));
        assert.equal(check.code, 0, check.stdout);
      } else {
        const check = cniError(await node.cni('tabby', env('CHECK', pod, cid), conf({ cniVersion: version, prevResult: r })));
        assert.equal(check.code, 1);
        assert.equal(check.cniVersion, '0.3.1');
      }
      await del(pod, cid, undefined, { cniVersion: version, prevResult: r });
      await node.removePod(pod);
    });
  }

  it('refuses an unsupported version with code 1 in that version', async () => {
    const pod = await node.addPod();
    const e = cniError(await node.cni('tabby', env('ADD', pod, 'cid-old-version'), conf({ cniVersion: '0.2.0' })));
    assert.equal(e.code, 1);
    assert.equal(e.cniVersion, '0.2.0');
    assert.match(e.details, /supported versions: 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
    assert.deepEqual(await hostLinks(), []);
    await node.removePod(pod);
  });

  it('passes a prevResult through, appending its own interfaces and addresses', async () => {
    const pod = await node.addPod();
    const prevResult = { cniVersion: '0.4.0', interfaces: [{ name: 'dummy9', sandbox: pod.netns }], ips: [{ version: '4', address: '192.168.77.2/24', interface: 0 }], dns: { nameservers: ['192.168.77.53'] } };
    const r = await add(pod, 'cid-prev', undefined, { cniVersion: '0.4.0', prevResult });
    assert.equal(r.interfaces[0]!.name, 'dummy9');
    assert.equal(r.ips[0]!.address, '192.168.77.2/24');
    assert.equal(r.ips[1]!.interface, 2);
    assert.equal(r.ips[1]!.version, '4');
    assert.deepEqual((r as unknown as { dns: unknown }).dns, { nameservers: ['192.168.77.53'] });
    await del(pod, 'cid-prev', undefined, { cniVersion: '0.4.0', prevResult: r });
    await node.removePod(pod);
  });
});

describe('errors in the spec\'s form and codes', () => {
  it('reports bad configuration: 6 undecodable, 7 invalid, 2 unsupported', async () => {
    const pod = await node.addPod();
    const cases: [string, number, RegExp][] = [
      ['{not json', 6, /not valid JSON/],
      [conf({ name: undefined }), 7, /no "name"/],
      [conf({ mtu: 'jumbo' }), 7, /"mtu" must be an integer/],
      [conf({ ipam: { type: 'host-local' } }), 2, /ipam\.type="host-local"/],
    ];
    for (const [stdin, code, details] of cases) {
      const e = cniError(await node.cni('tabby', env('ADD', pod, 'cid-badconf'), stdin));
      assert.equal(e.code, code, stdin);
      assert.match(e.details, details);
      assert.equal(typeof e.msg, 'string');
    }
    assert.deepEqual(await hostLinks(), []);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-badconf'), []);
    await node.removePod(pod);
  });

  it('reports a bad environment with code 4, naming the variables', async () => {
    const pod = await node.addPod();
    const { CNI_NETNS: _n, ...noNetns } = env('ADD', pod, 'cid-env');
    let e = cniError(await node.cni('tabby', noNetns, conf()));
    assert.deepEqual([e.code, e.details], [4, 'required env variables [CNI_NETNS] missing']);
    e = cniError(await node.cni('tabby', { ...env('ADD', pod, 'cid-env'), CNI_IFNAME: 'way-too-long-name' }, conf()));
    assert.equal(e.code, 4);
    assert.match(e.details, /CNI_IFNAME/);
    e = cniError(await node.cni('tabby', { ...env('ADD', pod, 'cid-env'), CNI_COMMAND: 'JUMP' }, conf()));
    assert.equal(e.code, 4);
    await node.removePod(pod);
  });

  it('reports a missing netns (3) and the agent\'s own netns (8)', async () => {
    const gone = { name: 'gone', netns: '/run/netns/tabby-test-does-not-exist' };
    let e = cniError(await node.cni('tabby', env('ADD', gone, 'cid-gone'), conf()));
    assert.equal(e.code, 3);
    assert.match(e.details, /does-not-exist/);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-gone'), []);
    e = cniError(await node.cni('tabby', env('ADD', { name: node.netnsName, netns: node.netnsPath }, 'cid-self'), conf()));
    assert.equal(e.code, 8);
  });

  it('finds the agent through the config\'s tabby_socket when the environment does not name it', async () => {
    for (const exe of [SHIM, FORWARDER]) {
      const r = await node.cni('tabby', { CNI_COMMAND: 'STATUS', CNI_PATH: node.binDir, TABBY_CNI_SOCKET: '' }, conf({ cniVersion: '1.1.0', tabby_socket: node.socket }), exe);
      assert.deepEqual([r.code, r.stdout], [0, ''], exe);
      const e = cniError(await node.cni('tabby', { CNI_COMMAND: 'STATUS', CNI_PATH: node.binDir, TABBY_CNI_SOCKET: '' }, conf({ cniVersion: '1.1.0', tabby_socket: '/run/tabby-test-nowhere.sock' }), exe));
      assert.equal(e.code, 50);
      assert.match(e.details, /tabby-test-nowhere/);
    }
  });

  it('answers code 11 itself when the agent is not there (and 50 for STATUS)', async () => {
    const r = await node.cni('tabby', { ...env('ADD', undefined, 'cid-x'), TABBY_CNI_SOCKET: '/run/tabby-test-nowhere.sock' }, conf({ cniVersion: '0.4.0' }));
    const e = cniError(r);
    assert.deepEqual([e.code, e.msg, e.cniVersion], [11, 'try again later', '0.4.0']);
    const s = cniError(await node.cni('tabby', { CNI_COMMAND: 'STATUS', CNI_PATH: node.binDir, TABBY_CNI_SOCKET: '/run/tabby-test-nowhere.sock' }, conf({ cniVersion: '1.1.0' })));
    assert.equal(s.code, 50);
  });

  it('releases addresses when a dual-stack request can only be half served', async () => {
    const pod = await node.addPod();
    const k8s = { ns: 'half', name: 'half-pod' };
    await node.ds.put('/tabby/k8s/core/pods/half/half-pod', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'half-pod', namespace: 'half', annotations: { 'cni.projectcalico.org/ipv6pools': '["no-such-pool"]' } }, spec: { containers: [{ name: 'c', image: 'x' }] },
    });
    const e = cniError(await node.cni('tabby', env('ADD', pod, 'cid-half', k8s), conf({ ipam: { type: 'tabby-ipam', assign_ipv6: 'true' } })));
    assert.equal(e.code, 100);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-half'), []);
    assert.equal(await node.ds.get(wepKey('half', 'test--node--1-k8s-half--pod-eth0')), undefined);
    assert.deepEqual(await hostLinks(), []);
    await del(pod, 'cid-half', k8s);
    await node.removePod(pod);
  });
});

describe('pods from the datastore', () => {
  it('takes labels, service account, named ports and pools from the Pod, and ipAddrs as fixed addresses', async () => {
    await node.ds.put('/tabby/k8s/core/namespaces/shop', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } });
    await node.ds.put('/tabby/k8s/core/pods/shop/cart', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cart', namespace: 'shop', labels: { app: 'cart' }, annotations: { 'cni.projectcalico.org/ipv4pools': '["test-pool-b"]' } },
      spec: { serviceAccountName: 'cart-sa', containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    });
    await node.ds.put('/tabby/k8s/core/pods/shop/fixed', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'fixed', namespace: 'shop', annotations: { 'cni.projectcalico.org/ipAddrs': '["10.77.200.7"]' } }, spec: { containers: [{ name: 'c', image: 'x' }] },
    });
    const p1 = await node.addPod();
    const p2 = await node.addPod();
    const cart = await add(p1, 'cid-cart', { ns: 'shop', name: 'cart' });
    assert.match(cart.ips[0]!.address, /^10\.78\./);
    const wep = (await node.ds.get(wepKey('shop', 'test--node--1-k8s-cart-eth0')))?.value as { spec: Record<string, unknown>; metadata: { labels: Record<string, string> } };
    assert.deepEqual(wep.metadata.labels, { app: 'cart', 'projectcalico.org/namespace': 'shop', 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': 'cart-sa' });
    assert.deepEqual(wep.spec.profiles, ['kns.shop', 'ksa.shop.cart-sa']);
    assert.deepEqual(wep.spec.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    const fixed = await add(p2, 'cid-fixed', { ns: 'shop', name: 'fixed' });
    assert.equal(fixed.ips[0]!.address, '10.77.200.7/32');
    await del(p1, 'cid-cart', { ns: 'shop', name: 'cart' });
    await del(p2, 'cid-fixed', { ns: 'shop', name: 'fixed' });
    await node.removePod(p1);
    await node.removePod(p2);
  });
});

describe('dual stack', () => {
  it('gives /32 and /128 with both default routes, and two pods reach each other over both families', async () => {
    const pods = [await node.addPod(), await node.addPod()];
    const dual = { ipam: { type: 'tabby-ipam', assign_ipv4: 'true', assign_ipv6: 'true' } };
    const results = [await add(pods[0]!, 'cid-ds0', undefined, dual), await add(pods[1]!, 'cid-ds1', undefined, dual)];
    for (const [i, r] of results.entries()) {
      assert.match(r.ips[0]!.address, /^10\.77\..*\/32$/);
      assert.match(r.ips[1]!.address, /^fd00:77::.*\/128$/);
      const v6routes = await inPod(pods[i]!, ['ip', '-6', 'route', 'show', 'default']);
      assert.match(v6routes, /default via fe80::ecee:eeff:feee:eeee dev eth0/);
      const veth = r.interfaces[0]!.name;
      assert.equal((await inNode(['cat', `/proc/sys/net/ipv6/conf/${veth}/proxy_ndp`])).trim(), '1');
      assert.equal((await inNode(['cat', `/proc/sys/net/ipv6/conf/${veth}/accept_ra`])).trim(), '0');
      assert.equal((await inNode(['ip', '-6', 'route', 'show', bare(r.ips[1]!.address)])).trim().startsWith(`${bare(r.ips[1]!.address)} dev ${veth}`), true);
    }
    await inPod(pods[0]!, ['ping', '-c', '1', '-W', '5', bare(results[1]!.ips[0]!.address)]);
    await inPod(pods[0]!, ['ping', '-6', '-c', '1', '-W', '5', bare(results[1]!.ips[1]!.address)]);
    await del(pods[0]!, 'cid-ds0', undefined, dual);
    await del(pods[1]!, 'cid-ds1', undefined, dual);
    for (const p of pods) await node.removePod(p);
  });
});

describe('GC and STATUS (CNI 1.1.0)', () => {
  it('removes what this node made for attachments the runtime no longer lists', async () => {
    const keep = await node.addPod();
    const stale = await node.addPod();
    const v11 = { cniVersion: '1.1.0' };
    const kept = await add(keep, 'cid-keep', { ns: 'default', name: 'keep' }, v11);
    await add(stale, 'cid-stale', { ns: 'default', name: 'stale' }, v11);
    await node.removePod(stale);
    const gc = await node.cni('tabby', { CNI_COMMAND: 'GC', CNI_PATH: node.binDir }, conf({ ...v11, 'cni.dev/valid-attachments': [{ containerID: 'cid-keep', ifname: 'eth0' }] }));
    assert.deepEqual([gc.code, gc.stdout], [0, '']);
    assert.equal(await node.ds.get(wepKey('default', 'test--node--1-k8s-stale-eth0')), undefined);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-stale'), []);
    assert.ok(await node.ds.get(wepKey('default', 'test--node--1-k8s-keep-eth0')));
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-keep'), [bare(kept.ips[0]!.address)]);
    assert.deepEqual(await hostLinks(), [vethNameForWorkload('default', 'keep')]);
    // The 1.1.0 tag's key name works too: an empty list removes the rest.
    const gc2 = await node.cni('tabby', { CNI_COMMAND: 'GC', CNI_PATH: node.binDir }, conf({ ...v11, 'cni.dev/attachments': [] }));
    assert.equal(gc2.code, 0, gc2.stdout);
    assert.deepEqual(await ipam.addressesByHandle('test-net.cid-keep'), []);
    assert.deepEqual(await hostLinks(), []);
    const old = cniError(await node.cni('tabby', { CNI_COMMAND: 'GC', CNI_PATH: node.binDir }, conf({ 'cni.dev/valid-attachments': [] })));
    assert.equal(old.code, 1);
    await node.removePod(keep);
  });

  it('answers STATUS with success while the datastore and Node are there', async () => {
    const r = await node.cni('tabby', { CNI_COMMAND: 'STATUS', CNI_PATH: node.binDir }, conf({ cniVersion: '1.1.0' }));
    assert.deepEqual([r.code, r.stdout], [0, '']);
    const ipamStatus = await node.cni('tabby-ipam', { CNI_COMMAND: 'STATUS', CNI_PATH: node.binDir }, conf({ cniVersion: '1.1.0' }));
    assert.equal(ipamStatus.code, 0);
  });
});

describe('tabby-ipam as the IPAM plugin of the reference bridge plugin', () => {
  it('hands bridge a block-masked address and releases it on DEL', async () => {
    const pod = await node.addPod();
    const bridgeConf = JSON.stringify({ cniVersion: '1.0.0', name: 'bridge-net', type: 'bridge', bridge: 'tbtest0', isGateway: false, ipam: { type: 'tabby-ipam' } });
    const run = (command: string) =>
      runCommand(
        ['ip', 'netns', 'exec', node.netnsName, 'env', `TABBY_CNI_SOCKET=${node.socket}`, `CNI_COMMAND=${command}`, 'CNI_CONTAINERID=cid-bridge', `CNI_NETNS=${pod.netns}`, 'CNI_IFNAME=eth0', `CNI_PATH=${node.binDir}`, '/usr/lib/cni/bridge'],
        bridgeConf,
      );
    const r = await run('ADD');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as AddResult;
    const address = result.ips[0]!.address;
    assert.match(address, /^10\.77\.\d+\.\d+\/26$/);
    assert.equal((result.ips[0] as { gateway?: string }).gateway, undefined);
    assert.match(await inPod(pod, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']), new RegExp(address.replace(/\./g, '\\.')));
    assert.deepEqual(await ipam.addressesByHandle('bridge-net.cid-bridge'), [bare(address)]);
    const d = await run('DEL');
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.deepEqual(await ipam.addressesByHandle('bridge-net.cid-bridge'), []);
    await inNode(['ip', 'link', 'del', 'tbtest0']);
    await node.removePod(pod);
  });
});

describe('the TypeScript forwarder', () => {
  it('speaks the same protocol as the C shim', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabby-fwd-'));
    try {
      copyFileSync(FORWARDER, join(dir, 'tabby'));
      await sh(['chmod', '755', join(dir, 'tabby')]);
      const pod = await node.addPod();
      const viaTs = await node.cni('tabby', env('ADD', pod, 'cid-fwd'), conf(), join(dir, 'tabby'));
      assert.equal(viaTs.code, 0, viaTs.stdout);
      const viaC = await node.cni('tabby', env('ADD', pod, 'cid-fwd'), conf(), SHIM);
      assert.equal(viaC.stdout, viaTs.stdout);
      const gone = await node.cni('tabby', { ...env('DEL', pod, 'cid-fwd'), TABBY_CNI_SOCKET: join(dir, 'none.sock') }, conf(), join(dir, 'tabby'));
      assert.equal(cniError(gone).code, 11);
      const d = await node.cni('tabby', env('DEL', pod, 'cid-fwd'), conf(), join(dir, 'tabby'));
      assert.equal(d.code, 0, d.stdout);
      await node.removePod(pod);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('50 concurrent ADDs on one node', () => {
  it('give 50 distinct working pods, and DEL removes all of them', async () => {
    const n = 50;
    const pods = await Promise.all(Array.from({ length: n }, () => node.addPod('c')));
    const k8s = (i: number) => ({ ns: 'load', name: `pod-${i}` });
    // Its profile kns.load comes from the Namespace (without it the agent isolates the pods).
    await node.ds.put('/tabby/k8s/core/namespaces/load', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'load' } });
    const results = await Promise.all(pods.map((p, i) => add(p, `cid-load-${i}`, k8s(i))));
    const ips = results.map((r) => bare(r.ips[0]!.address));
    assert.equal(new Set(ips).size, n, 'addresses are distinct');
    assert.equal(new Set(results.map((r) => r.interfaces[0]!.name)).size, n, 'host interfaces are distinct');
    assert.equal((await hostLinks()).length, n);
    await inPod(pods[0]!, ['ping', '-c', '1', '-W', '5', ips[1]!]);
    await inPod(pods[n - 1]!, ['ping', '-c', '1', '-W', '5', ips[0]!]);
    const weps = await node.ds.list('/calico/resources/v3/projectcalico.org/workloadendpoints/load/');
    assert.equal(weps.items.length, n);
    await Promise.all(pods.map((p, i) => del(p, `cid-load-${i}`, k8s(i))));
    assert.deepEqual(await hostLinks(), []);
    assert.equal((await node.ds.list('/calico/resources/v3/projectcalico.org/workloadendpoints/load/')).items.length, 0);
    for (let i = 0; i < n; i++) assert.deepEqual(await ipam.addressesByHandle(`test-net.cid-load-${i}`), []);
    for (const p of pods) await node.removePod(p);
  });
});
