// Integration: pods on different nodes over Tabby's VXLAN overlay, with real packets, in one lab
// shared by every case (3 nodes on two underlay subnets: node-1 and node-3 on 198.18.0.0/24,
// node-2 on 198.19.0.0/24). In order: VXLAN everywhere; the pools switched live to CrossSubnet
// (direct next hops inside a subnet, vxlan.calico across); natOutgoing to the external host (the
// node's address seen, natOutgoingAddress honoured, nothing reached without it); a cross-node TCP
// stream that keeps flowing while an agent is SIGKILLed and restarted; drift repaired by a resync.
// Needs root and a `make build`.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkedStream, podYaml as pod, tabbyOk } from './testing.js';
import { enclosingCIDR, formatCIDR, parseIP } from '../ip/index.js';
import { labDown } from './down.js';
import { planLab } from './plan.js';
import type { LabState } from './state.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LAB = 'tboov';
const plan = planLab(LAB, 3, 2);

const PODS = pod('p1', 'node-1') + pod('p2', 'node-2') + pod('p3', 'node-3') + pod('q1', 'node-1');

const pools = (mode: string, nat4: boolean, nat6: boolean) => `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: default-ipv4-ippool}
spec: {cidr: 10.244.0.0/16, blockSize: 26, vxlanMode: ${mode}, natOutgoing: ${nat4}, nodeSelector: all()}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: default-ipv6-ippool}
spec: {cidr: "fd00:10:244::/48", blockSize: 122, vxlanMode: ${mode}, natOutgoing: ${nat6}, nodeSelector: all()}
`;

const ok = (args: string[]) => tabbyOk(args, 300_000);
const inNode = (node: string, ...argv: string[]) => ok(['lab', 'exec', '--name', LAB, node, '--', ...argv]);

type Matrix = { pods: string[]; matrix: boolean[][] };
async function assertAllReach(what: string): Promise<void> {
  for (const extra of [[], ['--protocol', 'UDP', '--port', '53'], ['--family', '6'], ['--family', '6', '--protocol', 'UDP', '--port', '53']]) {
    const m = JSON.parse(await ok(['lab', 'probe', '--name', LAB, '-o', 'json', ...extra])) as Matrix;
    const missing = m.pods.flatMap((from, i) => m.pods.filter((_, j) => !m.matrix[i]![j]).map((to) => `${from} → ${to}`));
    assert.deepEqual(missing, [], `${what} ${extra.join(' ') || 'TCP/IPv4'}: every pod reaches every pod`);
  }
}

type External = { pods: string[]; reached: boolean[]; seenSource: (string | null)[] };
const external = async (...extra: string[]) => JSON.parse(await ok(['lab', 'probe', '--name', LAB, '--external', '-o', 'json', ...extra])) as External;

async function apply(name: string, yaml: string): Promise<void> {
  const f = join(workdir, name);
  writeFileSync(f, yaml);
  await ok(['lab', 'apply', '--name', LAB, '-f', f]);
}

/** The agent's health detail on a node (children[0] is the dataplane agent). */
async function agent(node: string): Promise<{ pid: number; ready: boolean; routes: { resyncs: number; repaired: number; lastApply?: string; routes: number } }> {
  const text = await inNode(node, process.execPath, '-e', "fetch('http://127.0.0.1:9099/readiness').then((r) => r.text()).then((t) => process.stdout.write(t))");
  const c = (JSON.parse(text) as { children: { pid: number; ready: boolean; detail?: { routes: never } }[] }).children[0]!;
  return { pid: c.pid, ready: c.ready, routes: c.detail?.routes ?? { resyncs: 0, repaired: 0, routes: 0 } };
}

/** Polls `check` until it holds (the test's own timeout bounds the wait; no timed assertion). */
async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined && check(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
    if (process.env.TABBY_TEST_DEBUG) process.stderr.write(`waiting for ${what}\n`);
  }
}

let workdir = '';
let state: LabState;
const podsOf = () => JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
const ipOf = (name: string, family: 4 | 6) => state.pods.find((p) => p.name === name)!.ips.find((a) => a.includes(':') === (family === 6))!;
const blockOf = (ip: string, family: 4 | 6) => formatCIDR(enclosingCIDR(parseIP(ip), family === 4 ? 26 : 122));

describe('overlay: pods on different nodes (VXLAN, CrossSubnet, natOutgoing, restarts, drift)', { timeout: 900_000 }, () => {
  before(async () => {
    await labDown(LAB);
    workdir = mkdtempSync(join(tmpdir(), 'tbo-overlay-'));
    writeFileSync(join(workdir, 'pods.yaml'), PODS);
    await ok(['lab', 'up', '--name', LAB, '--nodes', '3', '--subnets', '2', '--encapsulation', 'VXLAN', '-f', join(workdir, 'pods.yaml')]);
    state = podsOf();
  });
  after(async () => {
    await labDown(LAB);
    rmSync(workdir, { recursive: true, force: true });
  });

  it('VXLAN: every pod reaches every pod over TCP and UDP, IPv4 and IPv6, with the VXLAN MTU', async () => {
    await assertAllReach('VXLAN');
    const routes = await inNode('node-1', 'ip', 'route', 'show', 'proto', '80');
    for (const p of ['p2', 'p3']) {
      const b = blockOf(ipOf(p, 4), 4);
      assert.match(routes, new RegExp(`^${b.replaceAll('.', '\\.')} via \\S+ dev vxlan\\.calico onlink`, 'm'), `${p}'s block over VXLAN`);
    }
    assert.match(routes, new RegExp(`^blackhole ${blockOf(ipOf('p1', 4), 4).replaceAll('.', '\\.')}`, 'm'));
    assert.match(await inNode('node-1', 'ip', '-d', 'link', 'show', 'vxlan.calico'), /mtu 1450[\s\S]*vxlan id 4096 .*dstport 4789/);
    assert.match(await ok(['lab', 'exec', '--name', LAB, 'default/p1', '--', 'ip', 'link', 'show', 'eth0']), /mtu 1430/);
  });

  it('CrossSubnet (switched live): direct next hop inside a subnet, vxlan.calico across, every pod still reached', async () => {
    await apply('cross.yaml', pools('CrossSubnet', true, false));
    const b3 = blockOf(ipOf('p3', 4), 4);
    const b2 = blockOf(ipOf('p2', 4), 4);
    const b3v6 = blockOf(ipOf('p3', 6), 6);
    const routes = await until('direct routes on node-1', () => inNode('node-1', 'ip', 'route', 'show', 'proto', '80'), (r) => r.includes(`${b3} via 198.18.0.13 dev eth0`));
    assert.match(routes, new RegExp(`^${b2.replaceAll('.', '\\.')} via \\S+ dev vxlan\\.calico onlink`, 'm'), 'node-2 is on the other subnet');
    await until('direct IPv6 route on node-1', () => inNode('node-1', 'ip', '-6', 'route', 'show', 'proto', '80'), (r) => r.includes(`${b3v6} via 2001:2::13 dev eth0`));
    await assertAllReach('CrossSubnet');
  });

  it('natOutgoing: the external host is reached and sees the node\'s address; natOutgoingAddress is honoured; without natOutgoing nothing reaches it', async () => {
    const v4 = await external();
    assert.deepEqual(v4.reached, [true, true, true, true]);
    assert.deepEqual(v4.seenSource, ['198.18.0.11', '198.19.0.12', '198.18.0.13', '198.18.0.11'], 'pods p1, p2, p3, q1 seen as their nodes');
    const v6 = await external('--family', '6');
    assert.deepEqual(v6.reached, [false, false, false, false], 'the IPv6 pool has natOutgoing off');

    await apply('nat6.yaml', pools('CrossSubnet', true, true));
    const v6nat = await until('IPv6 NAT', () => external('--family', '6'), (x) => x.reached.every(Boolean));
    assert.deepEqual(v6nat.seenSource, ['2001:2::11', '2001:2:0:1::12', '2001:2::13', '2001:2::11']);

    await inNode('node-1', 'ip', 'addr', 'add', '198.18.0.211/24', 'dev', 'eth0');
    await apply('nataddr.yaml', 'apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: node.node-1}\nspec: {natOutgoingAddress: 198.18.0.211}\n');
    const snat = await until('natOutgoingAddress on node-1', () => external(), (x) => x.seenSource[0] === '198.18.0.211');
    assert.deepEqual(snat.seenSource, ['198.18.0.211', '198.19.0.12', '198.18.0.13', '198.18.0.211']);

    await apply('nonat.yaml', pools('CrossSubnet', false, false));
    const none = await until('no NAT', () => external(), (x) => x.reached.every((r) => !r));
    assert.deepEqual(none.seenSource, [null, null, null, null]);
    assert.doesNotMatch(await inNode('node-1', 'nft', 'list', 'tables'), /tabby-nat/);
    await assertAllReach('without natOutgoing (pod-to-pod is never translated)');
  });

  it('a cross-node TCP stream keeps flowing while the agent is SIGKILLed and restarted: no byte lost, no reset', async () => {
    const p1 = state.pods.find((p) => p.name === 'p1')!;
    const p2 = state.pods.find((p) => p.name === 'p2')!;
    // The server checks every byte against the pattern; the client paces 4 MB over about 6 s.
    const start = checkedStream(workdir, 4 * 1024 * 1024, 23);
    const server = start(p2.netns, ['server']);
    let client: ReturnType<typeof start> | undefined;
    try {
      await until('stream server', async () => server.out(), (o) => o.includes('listening'));
      client = start(p1.netns, ['client', p2.ips[0]!]);
      await until('stream client', async () => client!.out(), (o) => o.includes('connected'));
      const before1 = await agent('node-1');
      const before2 = await agent('node-2');
      process.kill(before1.pid, 'SIGKILL');
      process.kill(before2.pid, 'SIGKILL');
      const after1 = await until('node-1 agent back', () => agent('node-1'), (a) => a.pid !== before1.pid && a.ready);
      const after2 = await until('node-2 agent back', () => agent('node-2'), (a) => a.pid !== before2.pid && a.ready);
      for (const a of [after1, after2]) {
        assert.ok(a.routes.resyncs >= 1 && a.routes.routes > 0, 'the restarted agent resynced its routes');
        assert.equal(a.routes.lastApply, undefined, 'and changed nothing in the kernel (no flush, no re-add)');
      }
      assert.equal(await client.exited, 0, `client: ${client.out()}`);
      await server.exited;
      const result = JSON.parse(server.out().split('\n').find((l) => l.startsWith('{'))!) as { n: number; bad: number; error?: string };
      assert.deepEqual(result, { n: 4 * 1024 * 1024, bad: -1 }, 'every byte arrived, in order, and the stream ended cleanly');
    } finally {
      server.proc.kill('SIGKILL');
      client?.proc.kill('SIGKILL');
    }
  });

  it('drift repair: a route, a neighbour and an FDB entry deleted by hand are back after one resync', async () => {
    await apply('vxlan.yaml', pools('Always', false, false));
    await apply('refresh.yaml', 'apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {routeRefreshInterval: 1s}\n');
    const b2 = blockOf(ipOf('p2', 4), 4);
    const routes = await until('VXLAN routes again', () => inNode('node-1', 'ip', 'route', 'show', 'proto', '80'), (r) => new RegExp(`^${b2.replaceAll('.', '\\.')} via \\S+ dev vxlan\\.calico`, 'm').test(r));
    const vtep = new RegExp(`^${b2.replaceAll('.', '\\.')} via (\\S+) dev vxlan`, 'm').exec(routes)![1]!;
    const neigh = await inNode('node-1', 'ip', 'neigh', 'show', 'dev', 'vxlan.calico', vtep);
    const mac = /lladdr (\S+)/.exec(neigh)![1]!;
    assert.match(await inNode('node-1', 'bridge', 'fdb', 'show', 'dev', 'vxlan.calico'), new RegExp(`${mac} dst 198\\.19\\.0\\.12`));
    // Let the changes above settle first (a resync that began after them), so that the deletion
    // below is found by a resync and not undone by a reconcile of those changes.
    const applied = await agent('node-1');
    const before = await until('a resync after the changes', () => agent('node-1'), (a) => a.pid === applied.pid && a.routes.resyncs >= applied.routes.resyncs + 1);
    await inNode('node-1', 'sh', '-c', `ip route del ${b2} && ip neigh del ${vtep} dev vxlan.calico && bridge fdb del ${mac} dev vxlan.calico dst 198.19.0.12 self`);
    // The agent's status reaches us through the health report (every 2 s), so counting resyncs
    // from it races the 1 s interval; wait instead for the three repairs to be counted.
    const later = await until('the three entries counted as repaired drift', () => agent('node-1'), (a) => a.pid === before.pid && a.routes.repaired >= before.routes.repaired + 3);
    assert.ok(later.routes.resyncs > before.routes.resyncs, 'repaired by a resync');
    assert.match(await inNode('node-1', 'ip', 'route', 'show', 'proto', '80'), new RegExp(`^${b2.replaceAll('.', '\\.')} via ${vtep.replaceAll('.', '\\.')} dev vxlan\\.calico onlink`, 'm'));
    assert.match(await inNode('node-1', 'ip', 'neigh', 'show', 'dev', 'vxlan.calico', vtep), new RegExp(`lladdr ${mac} PERMANENT`));
    assert.match(await inNode('node-1', 'bridge', 'fdb', 'show', 'dev', 'vxlan.calico'), new RegExp(`${mac} dst 198\\.19\\.0\\.12 self permanent`));
    const metrics = await inNode('node-1', process.execPath, '-e', "fetch('http://127.0.0.1:9099/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))");
    assert.ok(Number(/^tabby_route_drift_repaired_total (\d+)$/m.exec(metrics)?.[1]) >= 3, 'repaired drift is counted in /metrics');
    assert.match(metrics, /^tabby_routes_programmed\{kind="route"\} [1-9]/m);
  });

  it('tabbyctl node status on a node shows its processes, the routes it programmed and the last resync', async () => {
    const tabbyctl = join(repo, 'dist/bin/tabbyctl.cjs');
    const json = JSON.parse(await inNode('node-1', process.execPath, tabbyctl, 'node', 'status', '-o', 'json')) as {
      node: { ready: boolean; children: { name: string; ready: boolean; detail?: { routes?: { routes: number; resyncs: number; lastResync?: string; devices: { name: string }[] } } }[] };
      bgp: unknown;
    };
    const routes = json.node.children.find((c) => c.detail?.routes !== undefined)?.detail?.routes;
    assert.equal(json.node.ready, true);
    assert.ok(routes !== undefined && routes.routes > 0 && routes.resyncs > 0 && routes.lastResync !== undefined, JSON.stringify(json));
    assert.ok(routes.devices.some((d) => d.name === 'vxlan.calico'));
    assert.equal(json.bgp, null);
    const text = await inNode('node-1', process.execPath, tabbyctl, 'node', 'status');
    assert.match(text, /^Tabby node is running\.\n/);
    assert.match(text, /Routes programmed by this node \(route protocol 80\):\n  \d+ routes .* in sync with the datastore\n  vxlan\.calico: VNI 4096/);
    assert.match(text, /last resync \d{4}-\d\d-\d\dT/);
    const help = await inNode('node-1', process.execPath, tabbyctl, 'node', '--help');
    assert.match(help, /Commands:\n\s+status/);
  });
});
