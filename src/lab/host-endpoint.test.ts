// Integration: host endpoints with preDNAT and failsafe ports in a 2-node lab (BGP, no overlay),
// on real packets, each answer equal to the engine's (`tabbyctl policy explain -o json` on
// node-1). A HostEndpoint on node-1's underlay interface eth0 and a deny-all policy for it:
// - the external host still reaches node-1's failsafe port 22 (a server the test runs in
//   node-1's namespace) but not port 8081;
// - a node port (a DNAT rule the test installs in node-1's namespace, in its own table, 30080 and
//   30081 → pod a:80): preDNAT policy denies the external host's traffic to 30080 before the
//   DNAT, allows it to 30081 (an earlier preDNAT Allow), and node-2's traffic to 30080 passes;
// - pod-to-pod traffic keeps flowing (no applyOnForward policy): `tabby lab probe` equals
//   `tabbyctl policy matrix`, every pod reaching every pod.
// Needs root and a `make build`.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labDown } from './down.js';
import { planLab } from './plan.js';
import type { LabState } from './state.js';
import { podYaml, tabbyOk } from './testing.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TABBYCTL = join(repo, 'bin/tabbyctl');
const PROBE = join(repo, 'dist/bin/tabby-probe');
const LAB = 'tbhep';
const plan = planLab(LAB, 2, 1);
const [NODE1, NODE2] = plan.nodes as [(typeof plan.nodes)[0], (typeof plan.nodes)[0]];
const EXTERNAL = plan.external.address4;
const NAT_TABLE = 'tbhepnat';

const ok = (args: string[]) => tabbyOk(args, 300_000);
const inNode = (node: string, ...argv: string[]) => ok(['lab', 'exec', '--name', LAB, node, '--', ...argv]);

const HEP = `---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-1-eth0, labels: {role: host}}
spec: {node: node-1, interfaceName: eth0, expectedIPs: ['${NODE1.address4}']}
`;
const gnp = (name: string, spec: string) => `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: ${name}}
spec: ${spec}
`;
const DENY_ALL = gnp('host-deny-all', `{selector: "role == 'host'", order: 500, types: [Ingress, Egress], ingress: [{action: Deny}], egress: [{action: Deny}]}`);
const PRE_DNAT =
  gnp('pre-allow-30081', `{selector: "role == 'host'", order: 100, preDNAT: true, applyOnForward: true, types: [Ingress], ingress: [{action: Allow, protocol: TCP, source: {nets: ['${EXTERNAL}/32']}, destination: {ports: [30081]}}]}`) +
  gnp('pre-deny-external', `{selector: "role == 'host'", order: 200, preDNAT: true, applyOnForward: true, types: [Ingress], ingress: [{action: Deny, source: {nets: ['${EXTERNAL}/32']}}]}`);

interface Case {
  readonly what: string;
  readonly from: 'external' | 'node-2';
  readonly port: number;
  /** Where the node-port DNAT sends it (pod a:80), for the engine. */
  readonly dnat?: boolean;
}

type Matrix = { pods: string[]; matrix: boolean[][] };

describe('host endpoints with preDNAT and failsafe ports in the lab, as the engine says', { timeout: 1_800_000 }, () => {
  let workdir = '';
  let state: LabState;
  let server: ChildProcess | undefined;
  const podIp = (name: string) => state.pods.find((p) => p.name === name)!.ips.find((a) => !a.includes(':'))!;

  async function applyFile(name: string, yaml: string): Promise<void> {
    const f = join(workdir, name);
    writeFileSync(f, yaml);
    await ok(['lab', 'apply', '--name', LAB, '-f', f]);
  }

  /** Connects from the external host or node-2 to node-1 (real packets). */
  async function connect(from: Case['from'], ports: readonly number[]): Promise<boolean[]> {
    const out = await ok(['lab', 'exec', '--name', LAB, from, '--', PROBE, 'connect', '--timeout-ms', '1500', ...ports.map((p) => `tcp:${NODE1.address4}:${p}`)]);
    return out.trim().split('\n').map((l) => l === 'ok');
  }

  /** What the engine says of a case (tabbyctl policy explain -o json on node-1, from etcd). */
  async function engine(c: Case): Promise<{ allowed: boolean; decided: string }> {
    const src = c.from === 'external' ? EXTERNAL : NODE2.address4;
    const args = ['policy', 'explain', '-o', 'json', '--from', src, '--to', NODE1.address4, '--port', String(c.port), ...(c.dnat === true ? ['--dnat', `${podIp('a')}:80`] : [])];
    const v = JSON.parse(await inNode('node-1', TABBYCTL, ...args)) as { allowed: boolean; decidedBy?: { stage: string; decision: { by: string; policy?: string } } };
    const d = v.decidedBy;
    return { allowed: v.allowed, decided: d === undefined ? 'nothing' : `${d.stage} ${d.decision.policy ?? d.decision.by}` };
  }

  /**
   * Probes every case until the kernel equals the engine (policy reaches the node's kernel within
   * about a second of `lab apply`), then returns the answers with what decided.
   */
  async function check(label: string, cases: readonly Case[]): Promise<Record<string, { allowed: boolean; decided: string }>> {
    const want = new Map<string, { allowed: boolean; decided: string }>();
    for (const c of cases) want.set(c.what, await engine(c));
    const t0 = Date.now();
    for (;;) {
      const got = new Map<string, boolean>();
      for (const from of ['external', 'node-2'] as const) {
        const mine = cases.filter((c) => c.from === from);
        if (mine.length > 0) (await connect(from, mine.map((c) => c.port))).forEach((r, i) => got.set(mine[i]!.what, r));
      }
      const diff = cases.filter((c) => got.get(c.what) !== want.get(c.what)!.allowed).map((c) => `${c.what}: kernel ${got.get(c.what) ? 'allowed' : 'denied'}, engine ${want.get(c.what)!.allowed ? 'allows' : 'denies'} (${want.get(c.what)!.decided})`);
      if (diff.length === 0) break;
      if (Date.now() - t0 > 60_000) assert.deepEqual(diff, [], `${label}: lab packets vs tabbyctl policy explain`);
    }
    console.log(`# ${label}: packets equal policy explain after ${Date.now() - t0} ms of probe rounds (begun once the engine had answered, after lab apply returned)`);
    return Object.fromEntries(want);
  }

  async function podsStillTalk(label: string): Promise<void> {
    const probe = JSON.parse(await ok(['lab', 'probe', '--name', LAB, '-o', 'json', '--protocol', 'TCP', '--port', '80'])) as Matrix;
    const matrix = JSON.parse(await inNode('node-1', TABBYCTL, 'policy', 'matrix', '-o', 'json', '--protocol', 'TCP', '--port', '80')) as Matrix;
    assert.deepEqual(probe, matrix, `${label}: lab probe equals tabbyctl policy matrix`);
    assert.ok(probe.matrix.every((row) => row.every((c) => c)), `${label}: every pod reaches every pod\n${JSON.stringify(probe)}`);
  }

  before(async () => {
    await labDown(LAB);
    workdir = mkdtempSync(join(tmpdir(), 'tbhep-'));
    writeFileSync(join(workdir, 'pods.yaml'), podYaml('a', 'node-1') + podYaml('b', 'node-2') + podYaml('c', 'node-1'));
    await ok(['lab', 'up', '--name', LAB, '--nodes', '2', '-f', join(workdir, 'pods.yaml')]);
    state = JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
    // A failsafe port (22) and an ordinary one (8081) served on node-1 itself.
    server = spawn('ip', ['netns', 'exec', NODE1.netns, PROBE, 'serve', '--tcp', '22', '--tcp', '8081'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r, reject) => {
      server!.on('error', reject);
      server!.stdout!.once('data', () => r());
    });
    // Node ports, as kube-proxy would have them: 30080 and 30081 on node-1 → pod a:80.
    execFileSync('ip', ['netns', 'exec', NODE1.netns, 'nft', '-f', '-'], {
      input: `table ip ${NAT_TABLE} {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  tcp dport { 30080, 30081 } dnat to ${podIp('a')}:80\n }\n}\n`,
    });
  });

  after(async () => {
    if (server !== undefined && server.exitCode === null) server.kill('SIGTERM');
    try {
      execFileSync('ip', ['netns', 'exec', NODE1.netns, 'nft', 'delete', 'table', 'ip', NAT_TABLE], { stdio: 'ignore' });
    } catch {
      // the lab is gone or the table never came
    }
    await labDown(LAB);
    rmSync(workdir, { recursive: true, force: true });
  });

  const BASIC: Case[] = [
    { what: 'external → node-1:22', from: 'external', port: 22 },
    { what: 'external → node-1:8081', from: 'external', port: 8081 },
    { what: 'external → node-1:30080 (DNAT to a:80)', from: 'external', port: 30080, dnat: true },
    { what: 'node-2 → node-1:30080 (DNAT to a:80)', from: 'node-2', port: 30080, dnat: true },
  ];

  it('without a host endpoint node-1 is open to the external host', async () => {
    const r = await check('no host endpoint', BASIC);
    assert.equal(r['external → node-1:8081']!.allowed, true);
    assert.equal(r['external → node-1:30080 (DNAT to a:80)']!.allowed, true);
  });

  it('a host endpoint on eth0 under deny-all: the failsafe port stays open, the other closes; pods still talk', async () => {
    await applyFile('hep.yaml', HEP + DENY_ALL);
    const r = await check('deny-all', BASIC);
    assert.deepEqual(r['external → node-1:22'], { allowed: true, decided: 'ingress failsafe' });
    assert.deepEqual(r['external → node-1:8081'], { allowed: false, decided: 'ingress gnp/host-deny-all' });
    assert.equal(r['external → node-1:30080 (DNAT to a:80)']!.allowed, true, 'forwarded to the pod: deny-all is not applyOnForward');
    await podsStillTalk('deny-all');
  });

  it("preDNAT: the external host's node-port traffic is denied before the DNAT; another source, and an allowed port, pass", async () => {
    await applyFile('pre.yaml', PRE_DNAT);
    const cases: Case[] = [...BASIC, { what: 'external → node-1:30081 (DNAT to a:80)', from: 'external', port: 30081, dnat: true }];
    const r = await check('preDNAT', cases);
    assert.deepEqual(r['external → node-1:30080 (DNAT to a:80)'], { allowed: false, decided: 'preDNAT gnp/pre-deny-external' });
    assert.equal(r['external → node-1:30081 (DNAT to a:80)']!.allowed, true, 'allowed by the earlier preDNAT Allow');
    assert.equal(r['node-2 → node-1:30080 (DNAT to a:80)']!.allowed, true, 'another source');
    assert.deepEqual(r['external → node-1:22'], { allowed: true, decided: 'ingress failsafe' }, 'failsafe before preDNAT too');
    await podsStillTalk('preDNAT');
    const table = await inNode('node-1', 'nft', 'list', 'chain', 'inet', 'tabby', 'hpre_eth0');
    const rules = table.split('\n').filter((l) => /comment "/.test(l));
    assert.match(rules[0] ?? '', /^\s*fib daddr type local tcp dport 22 counter packets [1-9]/, `the failsafe rule heads the preDNAT chain and counted the probes to 22:\n${table}`);
  });
});
