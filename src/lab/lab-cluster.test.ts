// Integration: a real 2-node lab (namespaces, etcd, `tabby node`, the CNI plugin, probe servers),
// driven through the `tabby lab` CLI as a user would, then torn down and checked for leftovers.
// Needs root and a `make build` (dist/bin/tabby.cjs, tabby-cni, tabby-probe).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runTabby, tabbyOk } from './testing.js';
import { openCluster } from './cluster.js';
import { labDown, mountsUnder } from './down.js';
import { planLab } from './plan.js';
import { namespaceInode, processStartTime, processesInNamespaces } from './processes.js';
import type { LabState } from './state.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LAB = 'itest';
const plan = planLab(LAB, 2);

const PODS = `
apiVersion: v1
kind: Namespace
metadata: {name: alpha, labels: {team: a}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: outside, labels: {zone: out}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: v1
kind: Pod
metadata: {name: a1, namespace: alpha, labels: {app: a1}}
spec:
  nodeName: node-1
  containers:
  - {name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a2, namespace: alpha, labels: {app: a2}}
spec:
  nodeName: node-1
  containers:
  - {name: c, ports: [{containerPort: 80, protocol: TCP}, {containerPort: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b1}
spec:
  nodeName: node-2
  containers:
  - {name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b2}
spec:
  containers:
  - {name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}
`;

const tabby = (args: string[]) => runTabby(args, 90_000);
const ok = (args: string[]) => tabbyOk(args, 90_000);

async function probe(extra: string[]): Promise<{ pods: string[]; matrix: boolean[][] }> {
  return JSON.parse(await ok(['lab', 'probe', '--name', LAB, '-o', 'json', ...extra])) as { pods: string[]; matrix: boolean[][] };
}

/**
 * Lines of the host's links, addresses and routes that belong to the lab: its link names, its
 * underlay ranges (198.18.0.0/15, 2001:2::/48) and the alpha pods' veths and addresses. Other
 * tests on this machine change the host's tables meanwhile, so only the lab's own traces count.
 */
async function labTracesOnHost(podIPs: readonly string[] = []): Promise<string[]> {
  const veths = ['alpha.a1', 'alpha.a2'].map((p) => `cali${createHash('sha1').update(p).digest('hex').slice(0, 11)}`);
  const marks = [/\btabby-(br\d|etcd|node-\d+|switch)\b/, /\b198\.1[89]\./, /\b2001:2:/, ...veths.map((v) => new RegExp(`\\b${v}\\b`)), ...podIPs.map((a) => new RegExp(`(^|\\s)${a.replaceAll('.', '\\.')}(/|\\s)`))];
  const text = [
    await execOut('ip', ['-o', 'link', 'show']),
    await execOut('ip', ['-o', 'addr', 'show']),
    await execOut('ip', ['route', 'show', 'table', 'all']),
    await execOut('ip', ['-6', 'route', 'show', 'table', 'all']),
  ].join('\n');
  return text.split('\n').filter((line) => marks.some((m) => m.test(line)));
}
function execOut(cmd: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => execFile(cmd, args, (err, stdout) => (err ? fail(err) : done(stdout))));
}

const SAME_NODE = [['alpha/a1', 'alpha/a2'], ['default/b1', 'default/b2']];

function assertSameNodeReach(m: { pods: string[]; matrix: boolean[][] }, what: string): void {
  for (const group of SAME_NODE) {
    for (const from of group) {
      for (const to of group) {
        assert.equal(m.matrix[m.pods.indexOf(from)]![m.pods.indexOf(to)], true, `${what}: ${from} → ${to} should be reachable (same node)`);
      }
    }
  }
}

describe('tabby lab: a 2-node cluster with real packets', { timeout: 300_000 }, () => {
  let workdir = '';
  let alphaIPs: string[] = [];

  before(async () => {
    await labDown(LAB); // remains of an earlier, interrupted run
    workdir = mkdtempSync(join(tmpdir(), 'tabby-lab-test-'));
    writeFileSync(join(workdir, 'pods.yaml'), PODS);
    assert.deepEqual(await labTracesOnHost(), [], 'the host has no lab traces before the lab starts');
    await ok(['lab', 'up', '--name', LAB, '--nodes', '2', '-f', join(workdir, 'pods.yaml')]);
  });

  after(async () => {
    await labDown(LAB);
    rmSync(workdir, { recursive: true, force: true });
  });

  it('reports nodes ready with their underlay addresses and pods placed and addressed', async () => {
    const s = JSON.parse(await ok(['lab', 'status', '--name', LAB, '-o', 'json'])) as {
      nodes: { name: string; addresses: string[]; state: string }[];
      pods: { name: string; node: string; ips: string[] }[];
    };
    assert.deepEqual(s.nodes.map((n) => [n.name, n.addresses, n.state]), [
      ['node-1', ['198.18.0.11', '2001:2::11'], 'ready'],
      ['node-2', ['198.18.0.12', '2001:2::12'], 'ready'],
    ]);
    assert.deepEqual(s.pods.map((p) => [p.name, p.node]), [
      ['alpha/a1', 'node-1'],
      ['alpha/a2', 'node-1'],
      ['default/b1', 'node-2'],
      ['default/b2', 'node-2'], // least-loaded node
    ]);
    for (const p of s.pods) {
      assert.equal(p.ips.length, 2, `${p.name} should be dual-stack: ${p.ips.join(', ')}`);
      assert.match(p.ips[0]!, /^10\.244\.\d+\.\d+$/, `${p.name} IPv4 from 10.244.0.0/16`);
      assert.match(p.ips[1]!, /^fd00:10:244:/, `${p.name} IPv6 from fd00:10:244::/48`);
    }
  });

  it('the host gets no route into the lab and no lab link', async () => {
    const state = JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
    alphaIPs = state.pods.filter((p) => p.namespace === 'alpha').flatMap((p) => p.ips);
    assert.equal(alphaIPs.length, 4);
    assert.deepEqual(await labTracesOnHost(alphaIPs), []);
  });

  it('same-node pods reach each other over TCP and UDP, IPv4 and IPv6', async () => {
    const tcp4 = await probe([]);
    assert.deepEqual(tcp4.pods, ['alpha/a1', 'alpha/a2', 'default/b1', 'default/b2']);
    assertSameNodeReach(tcp4, 'TCP/IPv4');
    assertSameNodeReach(await probe(['--protocol', 'UDP', '--port', '53']), 'UDP/IPv4');
    assertSameNodeReach(await probe(['--family', '6']), 'TCP/IPv6');
    assertSameNodeReach(await probe(['--family', '6', '--protocol', 'UDP', '--port', '53']), 'UDP/IPv6');
  });

  it('probes measure: a port no pod serves is unreachable everywhere', async () => {
    const m = await probe(['--port', '81', '--timeout-ms', '300']);
    assert.deepEqual(m.matrix.flat().filter(Boolean), []);
    const udp = await probe(['--port', '54', '--protocol', 'UDP', '--timeout-ms', '300']);
    assert.deepEqual(udp.matrix.flat().filter(Boolean), []);
  });

  it("wires pods the Calico way: /32 and /128 on eth0, routes via 169.254.1.1 and fe80::ecee:eeff:feee:eeee, host veth cali<sha1>, WorkloadEndpoint", async () => {
    const state = JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
    const a1 = state.pods.find((p) => p.name === 'a1')!;
    const [v4, v6] = a1.ips as [string, string];

    const addrs = JSON.parse(await ok(['lab', 'exec', '--name', LAB, 'alpha/a1', '--', 'ip', '-j', 'addr', 'show', 'eth0'])) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    const global = addrs[0]!.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`).sort();
    assert.deepEqual(global, [`${v4}/32`, `${v6}/128`].sort());
    assert.match(await ok(['lab', 'exec', '--name', LAB, 'alpha/a1', '--', 'ip', 'route']), /^default via 169\.254\.1\.1 dev eth0/m);
    assert.match(await ok(['lab', 'exec', '--name', LAB, 'alpha/a1', '--', 'ip', '-6', 'route']), /^default via fe80::ecee:eeff:feee:eeee dev eth0/m);

    const veth = `cali${createHash('sha1').update('alpha.a1').digest('hex').slice(0, 11)}`;
    const link = JSON.parse(await ok(['lab', 'exec', '--name', LAB, 'node-1', '--', 'ip', '-j', 'link', 'show', veth])) as { address: string }[];
    assert.equal(link[0]!.address, 'ee:ee:ee:ee:ee:ee');
    assert.match(await ok(['lab', 'exec', '--name', LAB, 'node-1', '--', 'ip', 'route']), new RegExp(`^${v4.replaceAll('.', '\\.')} dev ${veth} scope link`, 'm'));
    assert.match(await ok(['lab', 'exec', '--name', LAB, 'node-1', '--', 'ip', '-6', 'route']), new RegExp(`^${v6} dev ${veth} `, 'm'));

    const cluster = await openCluster(plan);
    try {
      // Calico's name: segments joined by "-", with "-" inside a segment doubled.
      const wep = await cluster.datastore.get('/calico/resources/v3/projectcalico.org/workloadendpoints/alpha/node--1-k8s-a1-eth0');
      assert.ok(wep, 'WorkloadEndpoint node--1-k8s-a1-eth0 exists in namespace alpha');
      const spec = (wep.value as { spec: Record<string, unknown> }).spec;
      assert.equal(spec.node, 'node-1');
      assert.equal(spec.orchestrator, 'k8s');
      assert.equal(spec.pod, 'a1');
      assert.equal(spec.endpoint, 'eth0');
      assert.equal(spec.interfaceName, veth);
      assert.deepEqual([...(spec.ipNetworks as string[])].sort(), [`${v4}/32`, `${v6}/128`].sort());
      assert.ok((spec.profiles as string[]).includes('kns.alpha'));
      const profile = await cluster.datastore.get('/calico/resources/v3/projectcalico.org/profiles/kns.alpha');
      assert.equal((profile?.value as { spec: { labelsToApply: Record<string, string> } }).spec.labelsToApply['pcns.team'], 'a', 'Namespace alpha brought its Profile');
      const netset = await cluster.datastore.get('/calico/resources/v3/projectcalico.org/globalnetworksets/outside');
      assert.deepEqual((netset?.value as { spec: { nets: string[] } }).spec.nets, ['198.51.100.0/24'], 'Calico kinds are stored at their Calico key');
      const pod = await cluster.datastore.get('/tabby/k8s/core/pods/alpha/a1');
      const status = (pod!.value as { status: { podIP: string; podIPs: { ip: string }[]; hostIP: string } }).status;
      assert.equal(status.podIP, v4);
      assert.deepEqual(status.podIPs, [{ ip: v4 }, { ip: v6 }]);
      assert.equal(status.hostIP, '198.18.0.11');
    } finally {
      await cluster.close();
    }
  });

  it('refuses bad input with a message naming it, and stores nothing from that file', async () => {
    writeFileSync(join(workdir, 'bad.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: beta}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: beta}\nspec: {nodeName: node-7, containers: [{name: c}]}\n');
    const r = await tabby(['lab', 'apply', '--name', LAB, '-f', join(workdir, 'bad.yaml')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Pod beta\/x: spec\.nodeName "node-7" is not a node of this lab \(nodes: node-1, node-2\)/);
    const cluster = await openCluster(plan);
    try {
      assert.equal(await cluster.datastore.get('/tabby/k8s/core/namespaces/beta'), undefined);
    } finally {
      await cluster.close();
    }
  });

  it('runs the workloads users copy from tutorials: Deployment, StatefulSet, DaemonSet, Job; scales and deletes them', async () => {
    const deploy = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: alpha}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fixed}
spec:
  selector: {matchLabels: {app: fixed}}
  template:
    metadata:
      labels: {app: fixed}
      annotations: {cni.projectcalico.org/ipAddrs: '["10.244.99.7"]'}
    spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec: {containers: [{name: c}], restartPolicy: Never}
`;
    const status = async () => JSON.parse(await ok(['lab', 'status', '--name', LAB, '-o', 'json'])) as { pods: { name: string; node: string; ips: string[]; owner?: string }[] };
    const owned = (s: { pods: { name: string; owner?: string }[] }, owner: string) => s.pods.filter((p) => p.owner === owner).map((p) => p.name).sort();
    writeFileSync(join(workdir, 'workloads.yaml'), deploy(2));
    await ok(['lab', 'apply', '--name', LAB, '-f', join(workdir, 'workloads.yaml')]);
    let s = await status();
    const web = owned(s, 'Deployment/web');
    assert.equal(web.length, 2);
    for (const name of web) assert.match(name, /^alpha\/web-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(owned(s, 'StatefulSet/db'), ['default/db-0', 'default/db-1']);
    assert.deepEqual(s.pods.filter((p) => p.owner === 'DaemonSet/agent').map((p) => p.node).sort(), ['node-1', 'node-2']);
    assert.equal(owned(s, 'Job/once').length, 1);
    assert.deepEqual(s.pods.find((p) => p.owner === 'Deployment/fixed')?.ips[0], '10.244.99.7', 'the template\'s ipAddrs annotation gives the pod its address');
    assert.match(await ok(['lab', 'status', '--name', LAB]), /OWNER[\s\S]*Deployment\/web/);
    // The pods carry the template's labels, as the datastore shows them.
    const cluster = await openCluster(plan);
    try {
      const pod = (await cluster.datastore.get(`/tabby/k8s/core/pods/${web[0]}`))?.value as { metadata: { labels: Record<string, string>; ownerReferences: { kind: string; name: string }[] } };
      assert.deepEqual([pod.metadata.labels.app, pod.metadata.labels.tier, pod.metadata.ownerReferences[0]?.kind], ['web', 'front', 'Deployment']);
    } finally {
      await cluster.close();
    }
    // Re-applying scales: up to 3, then down to 1 (the others go through CNI DEL).
    writeFileSync(join(workdir, 'workloads.yaml'), deploy(3));
    await ok(['lab', 'apply', '--name', LAB, '-f', join(workdir, 'workloads.yaml')]);
    assert.equal(owned(await status(), 'Deployment/web').length, 3);
    writeFileSync(join(workdir, 'workloads.yaml'), deploy(1));
    await ok(['lab', 'apply', '--name', LAB, '-f', join(workdir, 'workloads.yaml')]);
    s = await status();
    assert.equal(owned(s, 'Deployment/web').length, 1);
    assert.equal(owned(s, 'Job/once').length, 1, 'a Job runs its pod once, re-applying makes no other');
    // Deleting the workloads deletes their pods.
    await ok(['lab', 'delete', '--name', LAB, '-f', join(workdir, 'workloads.yaml')]);
    s = await status();
    assert.deepEqual(s.pods.filter((p) => p.owner !== undefined), []);
    assert.deepEqual(s.pods.map((p) => p.name).sort(), ['alpha/a1', 'alpha/a2', 'default/b1', 'default/b2']);
  });

  it('delete -f takes a pod down through CNI DEL: namespace, veth and WorkloadEndpoint go', async () => {
    writeFileSync(join(workdir, 'a2.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: a2, namespace: alpha}\n');
    await ok(['lab', 'delete', '--name', LAB, '-f', join(workdir, 'a2.yaml')]);
    assert.ok(!existsSync(`/run/netns/tabby-${LAB}-alpha.a2`));
    const veth = `cali${createHash('sha1').update('alpha.a2').digest('hex').slice(0, 11)}`;
    assert.doesNotMatch(await ok(['lab', 'exec', '--name', LAB, 'node-1', '--', 'ip', '-o', 'link']), new RegExp(veth));
    const cluster = await openCluster(plan);
    try {
      assert.equal(await cluster.datastore.get('/calico/resources/v3/projectcalico.org/workloadendpoints/alpha/node--1-k8s-a2-eth0'), undefined);
      assert.equal(await cluster.datastore.get('/tabby/k8s/core/pods/alpha/a2'), undefined);
    } finally {
      await cluster.close();
    }
    assert.deepEqual((await probe([])).pods, ['alpha/a1', 'default/b1', 'default/b2']);
  });

  it('down leaves no namespace, process, mount, link or file behind', async () => {
    const state = JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
    const pids = state.made.flatMap((m) => (m.kind === 'process' ? [m] : []));
    assert.ok(pids.length >= 6, 'etcd, two nodes and three probe servers were recorded');
    const netns = readdirSync('/run/netns').filter((n) => n.startsWith(`tabby-${LAB}-`));
    const inodes = new Set([...netns.map((n) => `/run/netns/${n}`), plan.nodes[0]!.mountNs, plan.nodes[1]!.mountNs].map(namespaceInode).filter((i): i is number => i !== undefined));
    assert.equal(inodes.size, netns.length + 2);
    // Everything running inside the lab now: recorded daemons and their children (agents, ...).
    const inside = processesInNamespaces(inodes);
    assert.ok(inside.length > pids.length, `found ${inside.length} processes in the lab's namespaces`);

    await ok(['lab', 'down', '--name', LAB]);

    assert.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith(`tabby-${LAB}-`)), []);
    assert.deepEqual(pids.filter((p) => processStartTime(p.pid) === p.startTime), [], 'recorded processes are gone');
    assert.deepEqual(inside.filter((p) => processStartTime(p.pid) === p.startTime), [], 'no process that ran in a lab namespace is left');
    // Nor one started meanwhile (a respawned child): namespace inodes may be reused by others'
    // namespaces, so only processes of this build or this lab count.
    const ours = (pid: number) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes(repo) || cmd.includes(plan.stateDir);
      } catch {
        return false;
      }
    };
    assert.deepEqual(processesInNamespaces(inodes).filter((p) => ours(p.pid)), []);
    assert.deepEqual(mountsUnder(plan.stateDir), []);
    assert.equal(existsSync(plan.stateDir), false);
    assert.deepEqual(await labTracesOnHost(alphaIPs), []);
    const again = await ok(['lab', 'down', '--name', LAB]);
    assert.match(again, /nothing to remove/);
  });
});

describe('tabby lab down after a crashed up', { timeout: 60_000 }, () => {
  const CRASH = 'icrash';
  const crashPlan = planLab(CRASH, 2);
  after(() => labDown(CRASH));

  it('removes what a killed `up` had made, found from the lab name alone', async () => {
    await labDown(CRASH);
    // Kill `up` (SIGKILL: no clean-up code runs) once etcd is up and the nodes are being made.
    const child = spawn(process.execPath, [join(repo, 'dist/bin/tabby.cjs'), 'lab', 'up', '--name', CRASH, '--nodes', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((done, fail) => {
      let seen = '';
      child.stderr.on('data', (b: Buffer) => {
        seen += b.toString();
        if (/node-\d: 198\.18\./.test(seen)) {
          child.kill('SIGKILL');
          done();
        }
      });
      child.on('exit', () => fail(new Error(`up ended before it could be killed:\n${seen}`)));
    });
    await new Promise((r) => child.once('exit', r));
    const netns = readdirSync('/run/netns').filter((n) => n.startsWith(`tabby-${CRASH}-`));
    assert.ok(netns.includes(`tabby-${CRASH}-etcd`), `the killed up left namespaces: ${netns.join(', ')}`);
    const inodes = new Set(netns.map((n) => namespaceInode(`/run/netns/${n}`)).filter((i): i is number => i !== undefined));
    const inside = processesInNamespaces(inodes);
    assert.ok(inside.length >= 2, 'etcd and at least one tabby node were running');
    // The worst case: the intent log is lost too. Only the host directories the lab created as
    // mount targets cannot be known without it; the test removes those itself.
    const created = (JSON.parse(readFileSync(`${crashPlan.stateDir}/state.json`, 'utf8')) as LabState).made.flatMap((m) =>
      m.kind === 'dir' && !m.path.startsWith(crashPlan.stateDir) ? [m.path] : [],
    );
    rmSync(`${crashPlan.stateDir}/state.json`);

    await ok(['lab', 'down', '--name', CRASH]);
    assert.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith(`tabby-${CRASH}-`)), []);
    assert.deepEqual(inside.filter((p) => processStartTime(p.pid) === p.startTime), []);
    assert.deepEqual(mountsUnder(crashPlan.stateDir), []);
    assert.equal(existsSync(crashPlan.stateDir), false);
    // Parents this test made, if still there and empty: down may have removed the state root, and
    // another lab running at the same time may have put its own directory in it.
    for (const dir of created.reverse()) if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  });
});
