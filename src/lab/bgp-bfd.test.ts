// Integration: BFD in the cluster, on real lab nodes (3 nodes, encapsulation None, full mesh).
// A node's underlay link is cut at the switch (its switch port down: the node's eth0 loses
// carrier, like a pulled cable); the others must remove the routes to its blocks — installed by
// their agents' route reconcilers, protocol 80 — long before the 90 s BGP hold time. Measured per
// node and family from the cut to the route's deletion seen by `ip monitor route` in the node's
// namespace, printed, and asserted only loosely (under 5 s). Without BFD the same cut must leave
// the routes in place for those 5 s (so the figure is BFD's doing). The link comes back and so do
// the routes. Then logSeverityScreen: Debug on `default` makes the speakers log every FSM event
// live, and `node.node-2` Warning overrides it on node-2, with no session restarted.
// Needs root and a `make build`.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { nodeLog } from './nodes.js';
import { BgpLab, blockOf, escapeRegExp as esc, podYaml as pod, tabbyOk, until } from './testing.js';

const exec = promisify(execFile);
/** Loose bound: BFD detects in 600 ms (200 ms × 3); the hold time is 90 s. */
const LOOSE_MS = 5_000;
const OTHERS = ['node-1', 'node-2'] as const;

/** Watches a node's routing table; records when a route to `dst` is deleted. */
class RouteWatch {
  private readonly proc: ChildProcess;
  private buf = '';
  readonly deleted = new Map<string, number>();
  constructor(netns: string, private readonly dsts: readonly string[]) {
    this.proc = spawn('ip', ['-n', netns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc.stdout!.on('data', (b: Buffer) => {
      const now = Date.now();
      this.buf += b.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      for (const l of lines) for (const d of this.dsts) if (new RegExp(`^Deleted ${esc(d)} `).test(l) && !this.deleted.has(d)) this.deleted.set(d, now);
    });
  }
  /** `ip monitor` is listening once it has been running a moment; give it that. */
  static async start(netns: string, dsts: readonly string[]): Promise<RouteWatch> {
    const w = new RouteWatch(netns, dsts);
    await new Promise((r) => setTimeout(r, 300));
    return w;
  }
  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

describe('BFD in the cluster: a node\'s link cut → its routes gone from the other nodes\' kernels', { timeout: 900_000 }, () => {
  const lab = new BgpLab(`tbbfd${process.pid % 10000}`);
  const watches: RouteWatch[] = [];
  before(() => lab.up(3, [], pod('p1', 'node-1') + pod('p2', 'node-2') + pod('p3', 'node-3')));
  after(async () => {
    for (const w of watches.splice(0)) w.stop();
    await lab.down();
  });

  const netns = (node: string) => lab.state.plan.nodes.find((n) => n.name === node)!.netns;
  const link = (how: 'up' | 'down') => exec('ip', ['-n', lab.state.plan.switchNetns, 'link', 'set', 'tabby-node-3', how]);
  const blocks3 = () => [blockOf(lab.ip('p3', 4)), blockOf(lab.ip('p3', 6))];
  const routes = async (node: string) => (await lab.exec(node, 'ip', 'route', 'show', 'proto', '80')) + (await lab.exec(node, 'ip', '-6', 'route', 'show', 'proto', '80'));
  const hasBlocks3 = (r: string) => blocks3().every((b) => new RegExp(`^${esc(b)} via (198\\.18\\.0\\.13|2001:2::13) `, 'm').test(r));
  const apply = async (yaml: string) => {
    const f = join(lab.workdir, 'bgp.yaml');
    writeFileSync(f, yaml);
    await tabbyOk(['lab', 'apply', '--name', lab.name, '-f', f], 300_000);
  };
  const allUp = (bfd: boolean) => (s: Awaited<ReturnType<BgpLab['bgpStatus']>>) =>
    s.peers.length === 4 && s.peers.every((p) => p.state === 'Established' && (bfd ? p.bfd?.state === 'Up' : p.bfd === null));
  const settle = async (bfd: boolean) => {
    for (const n of ['node-1', 'node-2', 'node-3']) await until(`${n}: 4 mesh sessions${bfd ? ' with BFD Up' : ' without BFD'}`, () => lab.bgpStatus(n), allUp(bfd));
    for (const n of OTHERS) await until(`${n} has node-3's blocks`, () => routes(n), hasBlocks3);
  };

  it('without BFD, node-3\'s link cut leaves its routes on the others for the whole bound (the hold time is 90 s)', async () => {
    await settle(false);
    for (const n of OTHERS) watches.push(await RouteWatch.start(netns(n), blocks3()));
    await link('down');
    try {
      await new Promise((r) => setTimeout(r, LOOSE_MS));
      for (const w of watches) assert.deepEqual([...w.deleted.keys()], [], 'no route to node-3 deleted without BFD');
      for (const n of OTHERS) assert.ok(hasBlocks3(await routes(n)), `${n} still routes to node-3's blocks`);
    } finally {
      await link('up');
      for (const w of watches.splice(0)) w.stop();
    }
  });

  it('with BFD on for the mesh (annotation on BGPConfiguration default), the cut removes node-3\'s routes on node-1 and node-2 within the bound; they come back with the link', async () => {
    await apply(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default, annotations: {tabby.dev/bfd: "true"}}
spec: {nodeToNodeMeshEnabled: true}
`);
    await settle(true);
    const byNode = new Map<string, RouteWatch>();
    for (const n of OTHERS) {
      const w = await RouteWatch.start(netns(n), blocks3());
      watches.push(w);
      byNode.set(n, w);
    }
    const logMark = Object.fromEntries(lab.state.plan.nodes.map((n) => [n.name, statSync(nodeLog(n)).size]));
    /** When the node's speaker saw BFD go Down for `peer` (its log line's time). */
    const bfdDownAt = (node: string, peer: string): number | undefined => {
      const text = readFileSync(nodeLog(lab.state.plan.nodes.find((n) => n.name === node)!)).subarray(logMark[node]).toString();
      for (const l of text.split('\n')) {
        if (!l.includes('"msg":"BFD state changed"') || !l.includes(`"peer":"${peer}"`) || !l.includes('"to":"Down"')) continue;
        return Date.parse((JSON.parse(l) as { time: string }).time);
      }
      return undefined;
    };
    const t0 = Date.now();
    await link('down');
    const figures: string[] = [];
    try {
      await until('node-3\'s routes deleted on node-1 and node-2', async () => [...byNode.values()].every((w) => w.deleted.size === 2), Boolean);
      for (const [n, w] of byNode) {
        for (const [b, peer] of blocks3().map((x, i) => [x, i === 0 ? '198.18.0.13' : '2001:2::13'] as const)) {
          const down = bfdDownAt(n, peer);
          // The split: BFD's detection, then speaker → supervisor → agent's route reconciler → kernel.
          figures.push(`${n} ${b}: ${w.deleted.get(b)! - t0} ms${down ? ` (BFD Down after ${down - t0} ms, route deleted ${w.deleted.get(b)! - down} ms later)` : ''}`);
        }
      }
      process.stdout.write(`# BFD in the lab: node-3's link cut → route to its block deleted (agent's reconciler, proto 80), against a 90 s hold time:\n${figures.map((f) => `#   ${f}\n`).join('')}`);
      for (const [n, w] of byNode) for (const b of blocks3()) assert.ok(w.deleted.get(b)! - t0 < LOOSE_MS, `${n}: route to ${b} deleted ${w.deleted.get(b)! - t0} ms after the cut (loose bound ${LOOSE_MS} ms)`);
      const left = await routes('node-1');
      assert.ok(!blocks3().some((b) => left.includes(b)), `node-1 has no route to node-3's blocks:\n${left}`);
      assert.match(left, new RegExp(`^${esc(blockOf(lab.ip('p2', 4)))} via 198\\.18\\.0\\.12 `, 'm'), 'node-2\'s route stays');
      const s = await lab.bgpStatus('node-1');
      assert.ok(s.peers.filter((p) => p.address.endsWith('.13') || p.address.endsWith('::13')).every((p) => p.state !== 'Established' && p.bfd?.state === 'Down'), JSON.stringify(s.peers));
    } finally {
      await link('up');
      for (const w of watches.splice(0)) w.stop();
    }
    await settle(true);
    await lab.assertAllReach('after the link came back');
  });

  it('logSeverityScreen applies to the speakers live: Debug on default logs every FSM event, node.node-2 Warning overrides it there; no session restarts', async () => {
    const since = Object.fromEntries(await Promise.all(['node-1', 'node-2'].map(async (n) => [n, (await lab.bgpStatus(n)).peers.map((p) => p.since)] as const)));
    const level = (n: string, want: string) => until(`${n} speaker at ${want}`, () => lab.bgpStatus(n) as Promise<{ logLevel?: string }>, (s) => s.logLevel === want);
    // node-2's override first, so that it never runs at Debug in between.
    await apply(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.node-2}
spec: {logSeverityScreen: Warning}
`);
    await level('node-2', 'warn');
    await level('node-1', 'info');
    const mark = Object.fromEntries(lab.state.plan.nodes.map((n) => [n.name, statSync(nodeLog(n)).size]));
    const debugLines = (node: string) => readFileSync(nodeLog(lab.state.plan.nodes.find((n) => n.name === node)!)).subarray(mark[node]).toString()
      .split('\n').filter((l) => l.includes('"level":"debug"') && l.includes('"component":"bgp"'));
    await apply(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default, annotations: {tabby.dev/bfd: "true"}}
spec: {nodeToNodeMeshEnabled: true, logSeverityScreen: Debug}
`);
    for (const [n, want] of [['node-1', 'debug'], ['node-3', 'debug'], ['node-2', 'warn']] as const) await level(n, want);
    // Keepalives (every 30 s on every session) are FSM events without a state change: logged at Debug only.
    await until('debug lines from node-1\'s and node-3\'s speakers', async () => [debugLines('node-1'), debugLines('node-3')], (d) => d.every((x) => x.some((l) => l.includes('"msg":"fsm"'))));
    const t = Date.now();
    await until('a full keepalive interval on node-2 too', async () => Date.now() - t > 31_000, Boolean);
    assert.deepEqual(debugLines('node-2'), [], 'node-2 (Warning) wrote no debug line');
    for (const n of ['node-1', 'node-2']) assert.deepEqual((await lab.bgpStatus(n)).peers.map((p) => p.since), since[n], `${n}: no session restarted`);
  });
});
