// Pure pieces of the workload path: identity and names, the veth plan, CHECK's comparison, and
// the WorkloadEndpoint written to (and removed from) a datastore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { checkWorkload } from './check.js';
import { endpointIdentity } from './identity.js';
import { containerIp, parseObservation, planSetUp, randomMac } from './veth.js';
import { deleteWorkloadEndpoint, ensureNetworkProfile, podInfoFromObject, readWorkloadEndpoint, wepKey, workloadEndpointSpec, writeWorkloadEndpoint } from './workload-endpoint.js';

const k8sId = endpointIdentity({ node: 'node-1', network: 'k8s-pod-network', containerId: 'c0ffee', ifname: 'eth0', k8s: { namespace: 'default', pod: 'web-abc' } });

describe('endpoint identity', () => {
  it('names a pod like Calico: WEP, veth and IPAM handle', () => {
    assert.equal(k8sId.wepName, 'node--1-k8s-web--abc-eth0');
    // sha1("default.web-abc")[:11]
    assert.match(k8sId.hostIfname, /^cali[0-9a-f]{11}$/);
    assert.equal(k8sId.hostIfname, 'calide860dfb0c4');
    assert.equal(k8sId.handleId, 'k8s-pod-network.c0ffee');
    assert.equal(k8sId.namespace, 'default');
  });

  it('names a plain CNI workload after its container', () => {
    const id = endpointIdentity({ node: 'n1', network: 'net', containerId: '0123456789abcdef', ifname: 'eth1', k8s: undefined });
    assert.equal(id.orchestrator, 'cni');
    assert.equal(id.wepName, 'n1-cni-0123456789abcdef-eth1');
    assert.equal(id.hostIfname, 'cali0123456789a');
    assert.equal(id.workload, '0123456789abcdef');
  });
});

describe('veth plan', () => {
  const w = { hostIfname: 'cali1234567890a', containerIfname: 'eth0', netns: '/proc/42/ns/net', mtu: 1450, containerMac: '02:11:22:33:44:55', ipv4: '10.0.0.5', ipv6: 'fd00::5', allowIpForwarding: false };

  it('programs Calico\'s scheme on both sides', () => {
    const p = planSetUp(w);
    assert.deepEqual(p.hostBatch.trim().split('\n'), [
      'link add cali1234567890a mtu 1450 address ee:ee:ee:ee:ee:ee type veth peer name eth0 mtu 1450 address 02:11:22:33:44:55 netns /proc/42/ns/net',
      'link set cali1234567890a up',
      'route add 10.0.0.5/32 dev cali1234567890a scope link',
      'route add fd00::5/128 dev cali1234567890a scope link',
    ]);
    assert.deepEqual(p.containerBatch.trim().split('\n'), [
      'link set eth0 up',
      'addr add 10.0.0.5/32 dev eth0',
      'route add 169.254.1.1/32 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      'addr add fd00::5/128 dev eth0 nodad',
      'route add ::/0 via fe80::ecee:eeff:feee:eeee dev eth0',
    ]);
    const sysctls = Object.fromEntries(p.hostSysctls);
    assert.equal(sysctls['/proc/sys/net/ipv4/conf/cali1234567890a/proxy_arp'], '1');
    assert.equal(sysctls['/proc/sys/net/ipv4/neigh/cali1234567890a/proxy_delay'], '0');
    assert.equal(sysctls['/proc/sys/net/ipv4/conf/cali1234567890a/forwarding'], '1');
    assert.equal(sysctls['/proc/sys/net/ipv4/conf/cali1234567890a/route_localnet'], '1');
    assert.equal(sysctls['/proc/sys/net/ipv6/conf/cali1234567890a/proxy_ndp'], '1');
    assert.equal(sysctls['/proc/sys/net/ipv6/conf/cali1234567890a/accept_ra'], '0');
    assert.equal(sysctls['/proc/sys/net/ipv6/conf/cali1234567890a/forwarding'], '1');
    assert.deepEqual(p.containerSysctls, [['net/ipv6/conf/eth0/disable_ipv6', '0'], ['net/ipv6/conf/eth0/accept_dad', '0']]);
  });

  it('needs no container sysctls for IPv4 only', () => {
    const { ipv6: _drop, ...v4only } = w;
    const p = planSetUp(v4only);
    assert.deepEqual(p.containerSysctls, []);
    assert.ok(!p.hostSysctls.some(([k]) => k.includes('ipv6')));
    assert.deepEqual(planSetUp({ ...v4only, allowIpForwarding: true }).containerSysctls, [['net/ipv4/ip_forward', '1']]);
  });

  it('enters the container with ip -n for /run/netns names, else nsenter', () => {
    assert.deepEqual(containerIp('/run/netns/pod1'), ['ip', '-n', 'pod1']);
    assert.deepEqual(containerIp('/var/run/netns/pod1'), ['ip', '-n', 'pod1']);
    assert.deepEqual(containerIp('/proc/42/ns/net'), ['nsenter', '--net=/proc/42/ns/net', 'ip']);
  });

  it('makes unicast, locally administered MACs', () => {
    for (let i = 0; i < 50; i++) {
      const first = parseInt(randomMac().slice(0, 2), 16);
      assert.equal(first & 1, 0);
      assert.equal(first & 2, 2);
    }
  });
});

describe('CHECK comparison', () => {
  const prevResult = {
    interfaces: [{ name: 'cali1', mac: 'ee:ee:ee:ee:ee:ee' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/p' }],
    ips: [{ address: '10.0.0.5/32', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  };
  const container = parseObservation(
    [
      JSON.stringify([{ ifname: 'eth0', address: '02:00:00:00:00:01', mtu: 1500, flags: ['UP'], addr_info: [{ family: 'inet', local: '10.0.0.5', prefixlen: 32, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] }]),
      JSON.stringify([{ dst: 'default', gateway: '169.254.1.1', dev: 'eth0' }, { dst: '169.254.1.1', dev: 'eth0' }]),
      '[]',
    ].join('\n'),
  );
  const host = parseObservation([JSON.stringify([{ ifname: 'cali1', address: 'ee:ee:ee:ee:ee:ee', flags: ['UP'] }]), JSON.stringify([{ dst: '10.0.0.5', dev: 'cali1' }]), '[]'].join('\n'));

  it('finds nothing wrong when the kernel matches prevResult', () => {
    assert.deepEqual(checkWorkload({ prevResult, ifname: 'eth0', hostIfname: 'cali1', container, host }), []);
  });

  it('names each missing piece', () => {
    const bare = parseObservation('null\n[]\n[]');
    const problems = checkWorkload({ prevResult, ifname: 'eth0', hostIfname: 'cali1', container: bare, host: bare });
    assert.deepEqual(problems, ['interface eth0 does not exist in the container', 'route to 0.0.0.0/0 is missing in the container', 'host interface cali1 does not exist']);
    const noAddr = { ...container, link: { ...container.link!, addresses: [] } };
    assert.match(checkWorkload({ prevResult, ifname: 'eth0', hostIfname: 'cali1', container: noAddr, host })[0]!, /address 10.0.0.5\/32 is not on eth0/);
    const noRoute = { ...host, routes: [] };
    assert.deepEqual(checkWorkload({ prevResult, ifname: 'eth0', hostIfname: 'cali1', container, host: noRoute }), ['host route 10.0.0.5/32 dev cali1 is missing']);
  });
});

describe('WorkloadEndpoint', () => {
  const pod = podInfoFromObject({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-abc', namespace: 'default', labels: { app: 'web' }, annotations: { 'cni.projectcalico.org/ipv4pools': '["p1"]' } },
    spec: { serviceAccountName: 'api', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }, { containerPort: 81 }] }] },
  });

  it('follows the pod under k8s policy: labels, profiles, named ports', () => {
    const { labels, spec } = workloadEndpointSpec({ id: k8sId, network: 'k8s-pod-network', policyType: 'k8s', pod, ipNetworks: ['10.0.0.5/32'], mac: '02:00:00:00:00:01' });
    assert.deepEqual(labels, { app: 'web', 'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': 'api' });
    assert.equal(spec.orchestrator, 'k8s');
    assert.equal(spec.pod, 'web-abc');
    assert.equal(spec.endpoint, 'eth0');
    assert.equal(spec.containerID, 'c0ffee');
    assert.equal(spec.interfaceName, k8sId.hostIfname);
    assert.equal(spec.mac, '02:00:00:00:00:01');
    assert.deepEqual(spec.ipNetworks, ['10.0.0.5/32']);
    assert.deepEqual(spec.profiles, ['kns.default', 'ksa.default.api']);
    assert.deepEqual(spec.ports, [{ name: 'http', protocol: 'TCP', port: 80 }]);
    assert.equal(spec.node, 'node-1');
  });

  it('uses the network as profile without k8s policy', () => {
    const { labels, spec } = workloadEndpointSpec({ id: k8sId, network: 'k8s-pod-network', pod, ipNetworks: ['10.0.0.5/32'], mac: 'x' });
    assert.deepEqual(spec.profiles, ['k8s-pod-network']);
    assert.deepEqual(labels, { 'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s' });
  });

  it('is created, rewritten in place, and deleted only by its own container', async () => {
    const ds = new MemoryDatastore();
    const input = { id: k8sId, network: 'n', policyType: 'k8s', pod, ipNetworks: ['10.0.0.5/32'], mac: '02:00:00:00:00:0a' };
    const first = await writeWorkloadEndpoint(ds, input);
    assert.equal(first.key, wepKey('default', 'node--1-k8s-web--abc-eth0'));
    const newer = { ...k8sId, containerId: 'newer' };
    await writeWorkloadEndpoint(ds, { ...input, id: newer, mac: '02:00:00:00:00:0b' });
    const stored = (await ds.get(first.key))!.value as { metadata: { uid: string }; spec: { containerID: string } };
    assert.equal(stored.metadata.uid, (first.value as { metadata: { uid: string } }).metadata.uid);
    assert.equal(stored.spec.containerID, 'newer');
    assert.equal(await deleteWorkloadEndpoint(ds, k8sId), 'kept');
    assert.equal((await readWorkloadEndpoint(ds, newer))?.containerId, 'newer');
    assert.equal(await deleteWorkloadEndpoint(ds, newer), 'deleted');
    assert.equal(await deleteWorkloadEndpoint(ds, newer), 'absent');
  });

  it("creates the network's profile as Calico's plugin does, and never changes an existing one", async () => {
    const ds = new MemoryDatastore();
    const key = '/calico/resources/v3/projectcalico.org/profiles/';
    await writeWorkloadEndpoint(ds, { id: k8sId, network: 'podnet', pod, ipNetworks: ['10.0.0.5/32'], mac: '02:00:00:00:00:0c' });
    const made = (await ds.get(`${key}podnet`))?.value as { spec: unknown } | undefined;
    assert.deepEqual(made?.spec, { ingress: [{ action: 'Allow', source: { selector: 'has(podnet)' } }], egress: [{ action: 'Allow' }], labelsToApply: { podnet: '' } });
    // A user's own profile of that name stays as it is.
    const mine = { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'other' }, spec: { ingress: [{ action: 'Deny' }] } };
    await ds.put(`${key}other`, mine);
    assert.equal(await ensureNetworkProfile(ds, 'other'), 'exists');
    assert.deepEqual((await ds.get(`${key}other`))?.value, mine);
    // Kubernetes pods under k8s policy use kns./ksa. profiles: nothing is created for their network.
    await writeWorkloadEndpoint(ds, { id: k8sId, network: 'k8s-net', policyType: 'k8s', pod, ipNetworks: ['10.0.0.6/32'], mac: '02:00:00:00:00:0d' });
    assert.equal(await ds.get(`${key}k8s-net`), undefined);
    await assert.rejects(ensureNetworkProfile(ds, 'Bad Name!'), /network "Bad Name!" cannot name its Calico profile/);
  });
});
