// Integration: network policy on real packets in a 2-node lab (VXLAN), one lab for every case.
// Scenarios from the Kubernetes netpol e2e set and Calico's model are applied with `tabby lab
// apply`, one at a time; for each, `tabby lab probe -o json` (real TCP and UDP connections
// between pods on both nodes) must equal `tabbyctl policy matrix -o json` (the engine, from the
// same datastore), then the scenario is deleted and every pod reaches every pod again. Also: a
// pod is programmed before CNI ADD returns (its first packet gets through where policy allows),
// and `tabbyctl policy stats` shows per-rule counters of every node that move with the probes.
// Cells of a pod to itself are left out: those packets never leave the pod, so no node filters them.
// Needs root and a `make build`.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatApplied, tabbyOk, waitApplied } from './testing.js';
import { labDown } from './down.js';
import { planLab } from './plan.js';
import type { LabState } from './state.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TABBYCTL = join(repo, 'bin/tabbyctl');
const PROBE = join(repo, 'dist/bin/tabby-probe');
const LAB = 'tbpol';
const plan = planLab(LAB, 2, 1);

const ns = (name: string) => `---
apiVersion: v1
kind: Namespace
metadata: {name: ${name}, labels: {ns: ${name}}}
`;
const pod = (namespace: string, name: string, node: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: {pod: ${name}}}
spec:
  nodeName: ${node}
  containers:
  - {name: c, ports: [{name: http, containerPort: 80}, {name: dns, containerPort: 81, protocol: UDP}]}
`;
const PODS = ns('x') + ns('y') + pod('x', 'a', 'node-1') + pod('x', 'b', 'node-2') + pod('y', 'a', 'node-1') + pod('y', 'b', 'node-2');

const knp = (namespace: string, name: string, spec: string) => `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ${name}, namespace: ${namespace}}
spec: ${spec}
`;
const DENY_X = knp('x', 'default-deny', '{podSelector: {}, policyTypes: [Ingress]}');

const ok = (args: string[]) => tabbyOk(args, 300_000);
const inNode = (node: string, ...argv: string[]) => ok(['lab', 'exec', '--name', LAB, node, '--', ...argv]);

type Matrix = { pods: string[]; matrix: boolean[][] };
/** "from → to" of every allowed cell but a pod to itself, sorted. */
const allowed = (m: Matrix): string[] => m.pods.flatMap((from, i) => m.pods.filter((to, j) => i !== j && m.matrix[i]![j]).map((to) => `${from} → ${to}`)).sort();

const PROTOCOLS = [
  ['TCP', '80'],
  ['UDP', '81'],
] as const;

async function probe(protocol: string, port: string): Promise<Matrix> {
  return JSON.parse(await ok(['lab', 'probe', '--name', LAB, '-o', 'json', '--protocol', protocol, '--port', port])) as Matrix;
}
async function policyMatrix(protocol: string, port: string): Promise<Matrix> {
  return JSON.parse(await inNode('node-1', TABBYCTL, 'policy', 'matrix', '-o', 'json', '--protocol', protocol, '--port', port)) as Matrix;
}

let workdir = '';
let state: LabState;
const ipOf = (namespace: string, name: string) => state.pods.find((p) => p.namespace === namespace && p.name === name)!.ips.find((a) => !a.includes(':'))!;

async function applyFile(name: string, yaml: string, verb: 'apply' | 'delete' = 'apply'): Promise<string> {
  const f = join(workdir, name);
  writeFileSync(f, yaml);
  return ok(['lab', verb, '--name', LAB, '-f', f]);
}

/**
 * Applies a scenario and waits until the kernel's answers (probes) equal the engine's (matrix),
 * for TCP and UDP; returns the expected allowed cells per protocol. Prints how long it took.
 */
/** When each node's agent last changed its table (its health report's policy.lastApply), ms since the epoch. */
async function lastApplies(): Promise<number[]> {
  const out: number[] = [];
  for (const node of ['node-1', 'node-2']) {
    const text = await inNode(node, process.execPath, '-e', "fetch('http://127.0.0.1:9099/readiness').then((r) => r.text()).then((t) => process.stdout.write(t))");
    const c = (JSON.parse(text) as { children: { detail?: { policy?: { lastApply?: string } } }[] }).children[0]!;
    out.push(Date.parse(c.detail?.policy?.lastApply ?? '1970-01-01T00:00:00Z'));
  }
  return out;
}

const NODES = ['node-1', 'node-2'];
/** Per-node apply times (ms from lab apply/delete begun to the node's appliedRevision covering it), for the summary. */
const applyTimes: number[] = [];

async function enforce(name: string, yaml: string, opts: { settleMs?: number } = {}): Promise<Record<string, string[]>> {
  const t0 = Date.now();
  await applyFile(`${name}.yaml`, yaml);
  const returned = Date.now() - t0;
  // Every node has the scenario in its kernel before any probe (then the probes only wait for
  // nothing more than what the revision already says).
  const done = await waitApplied(LAB, NODES, t0);
  applyTimes.push(...Object.values(done.ms));
  console.log(`# ${name}: revision ${done.revision} applied on ${formatApplied(done)} after lab apply began (lab apply returned after ${returned} ms)`);
  // The figures below stay relative to lab apply returning (they include the wait above).
  const applied = t0 + returned;
  const want: Record<string, string[]> = {};
  for (const [proto, port] of PROTOCOLS) want[proto] = allowed(await policyMatrix(proto, port));
  if (opts.settleMs !== undefined) await new Promise((r) => setTimeout(r, opts.settleMs));
  let last: Record<string, string[]> = {};
  for (let attempt = 0; ; attempt++) {
    for (const [proto, port] of PROTOCOLS) last[proto] = allowed(await probe(proto, port));
    if (PROTOCOLS.every(([p]) => JSON.stringify(last[p]) === JSON.stringify(want[p]))) break;
    if (Date.now() - applied > 90_000) {
      for (const [p] of PROTOCOLS) assert.deepEqual(last[p], want[p], `${name} ${p}: lab probe (kernel) vs tabbyctl policy matrix (engine)`);
    }
  }
  const programmed = (await lastApplies()).map((t) => (t < t0 ? 'unchanged' : `${t - applied} ms`));
  console.log(`# ${name}: probes equal the policy matrix ${Date.now() - applied} ms after lab apply returned (includes the matrix and probe rounds); last table change on node-1, node-2 relative to lab apply returning: ${programmed.join(', ')}; TCP ${want['TCP']!.length}/12, UDP ${want['UDP']!.length}/12 allowed`);
  return want;
}

/** Deletes a scenario's resources and waits until every pod reaches every other pod again. */
async function retract(name: string): Promise<void> {
  const t0 = Date.now();
  await ok(['lab', 'delete', '--name', LAB, '-f', join(workdir, `${name}.yaml`)]);
  const done = await waitApplied(LAB, NODES, t0);
  applyTimes.push(...Object.values(done.ms));
  console.log(`# ${name} deleted: revision ${done.revision} applied on ${formatApplied(done)} after lab delete began`);
  for (const [proto, port] of PROTOCOLS) {
    for (;;) {
      if (allowed(await probe(proto, port)).length === 12) break;
    }
  }
}

type Stats = { nodes: { node: string; rules: { tier: string; policy: string; kind: string; direction: string; rule?: number; action: string; note?: string; endpoint?: string; packets: number; bytes: number }[] }[] };
const stats = async (...extra: string[]) => JSON.parse(await inNode('node-1', TABBYCTL, 'policy', 'stats', '-o', 'json', ...extra)) as Stats;

describe('policy on real packets: lab probe equals tabbyctl policy matrix', { timeout: 1_800_000 }, () => {
  before(async () => {
    await labDown(LAB);
    workdir = mkdtempSync(join(tmpdir(), 'tbpol-'));
    writeFileSync(join(workdir, 'pods.yaml'), PODS);
    await ok(['lab', 'up', '--name', LAB, '--nodes', '2', '-f', join(workdir, 'pods.yaml')]);
    state = JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
  });
  after(async () => {
    const sorted = [...applyTimes].sort((a, b) => a - b);
    if (sorted.length > 0) console.log(`# per-node apply time (lab apply/delete begun → node's appliedRevision covers it), ${sorted.length} node-changes: median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`);
    await labDown(LAB);
    rmSync(workdir, { recursive: true, force: true });
  });

  it('with no policy every pod reaches every pod (namespace profiles allow), as the engine says', async () => {
    for (const [proto, port] of PROTOCOLS) {
      const want = allowed(await policyMatrix(proto, port));
      assert.equal(want.length, 12);
      assert.deepEqual(allowed(await probe(proto, port)), want, proto);
    }
  });

  it('a pod is programmed before CNI ADD returns: its first packet passes where policy allows', async () => {
    await applyFile('late.yaml', pod('y', 'late', 'node-2'));
    // No wait: lab apply returned after CNI ADD, so the pod's chains are in node-2's table now
    // (an interface the table does not know is dropped).
    const map = await inNode('node-2', 'nft', 'list', 'map', 'inet', 'tabby', 'from_wl');
    const st = JSON.parse(readFileSync(`${plan.stateDir}/state.json`, 'utf8')) as LabState;
    const late = st.pods.find((p) => p.namespace === 'y' && p.name === 'late')!;
    const out = await ok(['lab', 'exec', '--name', LAB, 'y/late', '--', PROBE, 'connect', '--timeout-ms', '2000', `tcp:${ipOf('x', 'a')}:80`, `tcp:${ipOf('y', 'b')}:80`]);
    assert.deepEqual(out.trim().split('\n'), ['ok', 'ok'], `first packets of y/late (${late.ips.join(', ')})`);
    const iface = (late.cniResult as { interfaces: { name: string; sandbox?: string }[] }).interfaces.find((i) => i.sandbox === undefined)!.name;
    assert.match(map, new RegExp(`"${iface}" : goto from_${iface}`), `node-2's dispatch map has ${iface}:\n${map}`);
    await applyFile('late.yaml', pod('y', 'late', 'node-2'), 'delete');
  });

  it('Kubernetes default-deny ingress; counters of the deny move on the target pod\'s node', async () => {
    await enforce('default-deny', DENY_X);
    const before = await stats();
    assert.deepEqual(before.nodes.map((n) => n.node).sort(), ['node-1', 'node-2'], 'policy stats answers from every node');
    const drops = (s: Stats) => s.nodes.find((n) => n.node === 'node-2')!.rules.filter((r) => r.kind === 'endpoint' && r.direction === 'ingress' && r.note === 'end of tier default').reduce((n, r) => n + r.packets, 0);
    await probe('TCP', '80');
    const now = await stats('--node', 'node-2');
    assert.deepEqual(now.nodes.map((n) => n.node), ['node-2']);
    assert.ok(drops(now) > drops(before), `denied connection attempts to x/b counted on node-2: ${drops(before)} → ${drops(now)}`);
    await retract('default-deny');
  });

  it('allow from a namespace selector: rule counters of the allow move', async () => {
    await enforce('allow-from-ns', DENY_X + knp('x', 'allow-from-y', '{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]}'));
    const rule = (s: Stats) => s.nodes.flatMap((n) => n.rules).filter((r) => r.policy === 'knp/x/allow-from-y' && r.direction === 'ingress' && r.rule === 0);
    const sum = (s: Stats) => rule(s).reduce((n, r) => n + r.packets, 0);
    const before = await stats();
    assert.ok(rule(before).length > 0 && rule(before).every((r) => r.action === 'Allow' && r.tier === 'default'), JSON.stringify(rule(before)));
    await probe('TCP', '80');
    assert.ok(sum(await stats()) > sum(before), 'allowed connections from y counted by knp/x/allow-from-y rule 0');
    await retract('allow-from-ns');
  });

  it('pod selector and port: only pod b reaches x/a, only on TCP 80', async () => {
    const want = await enforce('pod-and-port', DENY_X + knp('x', 'allow-b-80', '{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80, protocol: TCP}]}]}'));
    assert.ok(want['TCP']!.includes('y/b → x/a') && !want['UDP']!.includes('y/b → x/a'));
    await retract('pod-and-port');
  });

  it('egress deny: namespace y sends nothing', async () => {
    const want = await enforce('egress-deny', knp('y', 'deny-egress', '{podSelector: {}, policyTypes: [Egress]}'));
    assert.ok(want['UDP']!.every((c) => !c.startsWith('y/')));
    await retract('egress-deny');
  });

  it('a tier with Pass, GNP before NP by order, and a global network set', async () => {
    await applyFile('tier.yaml', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n');
    const yaml = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.gate}
spec:
  tier: security
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
  - {action: Deny, protocol: UDP, source: {selector: pod == "b"}}
  - {action: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-y-to-xa}
spec:
  order: 5
  selector: pod == "a" && projectcalico.org/namespace == "x"
  types: [Ingress]
  ingress:
  - {action: Deny, source: {namespaceSelector: ns == "y"}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-all-a, namespace: x}
spec:
  order: 10
  selector: pod == "a"
  types: [Ingress]
  ingress:
  - {action: Allow}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: blocked, labels: {role: blocked}}
spec: {nets: ["${ipOf('x', 'a')}/32"]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: block-set-to-b}
spec:
  order: 1
  selector: pod == "b"
  types: [Ingress]
  ingress:
  - {action: Deny, source: {selector: role == "blocked"}}
  - {action: Allow}
`;
    const want = await enforce('calico', yaml);
    assert.ok(!want['TCP']!.includes('y/a → x/a'), 'the GNP (order 5) denies before the NP (order 10) allows');
    assert.ok(want['TCP']!.includes('x/b → x/a'));
    assert.ok(!want['TCP']!.includes('x/a → y/b') && want['TCP']!.includes('y/a → y/b'), 'the network set holds x/a only');
    assert.ok(!want['UDP']!.includes('x/b → y/a') && want['TCP']!.includes('x/b → y/a'), 'the security tier denies UDP from pod b and passes the rest');
    await retract('calico');
  });

  it('a staged policy is not enforced', async () => {
    const want = await enforce(
      'staged',
      '---\napiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: deny-all, namespace: x}\nspec: {selector: all(), types: [Ingress], ingress: [{action: Deny}]}\n',
      { settleMs: 3000 },
    );
    assert.equal(want['TCP']!.length, 12);
    await retract('staged');
  });
});
