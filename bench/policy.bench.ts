// The nftables policy dataplane at node scale: 10,000 local pods and 1,000 policies (Kubernetes
// NetworkPolicies with pod and namespace selectors, ports) rendered into table inet tabby in a
// network namespace this bench creates (tbnb…), then policy changes timed from the update to
// `nft -f` returning (the kernel enforces once the transaction commits).
//
// Measured in one run, median of 30 changes:
// - value: a policy's rules change → graph → renderer → PolicyDataplane.apply (one nft -f);
// - anchor: a bare `nft -f -` carrying the very same script (what any dataplane must pay);
// - also printed: the full start (whole table) and a label change, each with its own bare anchor.
// - TCP connects/s from one pod to another through the node (the server is selected by six
//   policies, the last allowing the client) with the table, against a pair on non-cali
//   interfaces through the same node and table (no policy applies to it), in 8 alternating
//   rounds (ABBA order, so a load swing hits both sides alike): medians of each side and the
//   median of the per-round ratios; then the plain pair behind a linear rule list of the same
//   size (one non-matching rule per endpoint before the accept, as an unindexed iptables chain
//   evaluates them). Also printed: what the first packet of a connection evaluates on the
//   policed path (rules and set lookups), the rest being one conntrack-established rule.
// - Agent memory per endpoint: V8 heap (after GC) and RSS held by the graph plus the renderer's
//   desired table with 10k endpoints and 1k policies, divided by the endpoints.
// Final JSON line: policy change vs bare nft -f, ratio = value / anchor (goal ≤ 1.2).

import { execFileSync, spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ResourceObject } from '../src/model/index.js';
import { PolicyGraph, type ResourceUpdate, updateFor } from '../src/policy/index.js';
import { NftPolicyRenderer, PolicyDataplane, nftRunner } from '../src/dataplane/nft-policy/index.js';
import { unitRandom } from '../src/util/random.js';
import { Testbed } from '../src/dataplane/nft-policy/testbed.js';

const PODS = 10_000;
const POLICIES = 1_000;
const NAMESPACES = 20;
const RUNS = 30;
const random = unitRandom(0x7ab);
const int = (n: number): number => Math.floor(random() * n);
const APPS = Array.from({ length: 200 }, (_, i) => `app-${i}`);
type Doc = Record<string, unknown>;

const pod = (i: number, app: string): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `pod-${i}`, namespace: `ns-${i % NAMESPACES}`, labels: { app, env: i % 3 === 0 ? 'prod' : 'dev' } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
  status: { podIP: `10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}` },
});
const policy = (i: number, port: number): Doc => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: `pol-${i}`, namespace: `ns-${i % NAMESPACES}` },
  spec: {
    podSelector: { matchLabels: { app: APPS[i % APPS.length] } },
    policyTypes: i % 4 === 0 ? ['Ingress', 'Egress'] : ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: APPS[(i * 7) % APPS.length] } } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `ns-${(i + 1) % NAMESPACES}` } } }], ports: [{ port, protocol: 'TCP' }, { port: 'http' }] }],
    ...(i % 4 === 0 ? { egress: [{ to: [{ podSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 53, protocol: 'UDP' }] }] } : {}),
  },
});
const up = (d: Doc): ResourceUpdate => updateFor(d as unknown as ResourceObject);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap used and RSS after a full GC. */
function memory(): { heap: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

function bareNft(netns: string, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`nft -f exited ${c}: ${err.slice(0, 500)}`))));
    p.stdin.end(script);
  });
}

/** Sequential TCP connects from `src` to ip:port for `ms`, per second (a node process in the pod). */
function connectRate(bed: Testbed, src: string, ip: string, port: number, ms: number): number {
  const code = `const net=require('net');let n=0;const end=Date.now()+${ms};const go=()=>{if(Date.now()>=end){console.log(n);return;}const s=net.connect(${port},'${ip}',()=>{n++;s.destroy();go();});s.on('error',()=>{s.destroy();go();});};go();`;
  const out = execFileSync('ip', ['netns', 'exec', src, process.execPath, '-e', code], { encoding: 'utf8' });
  return Math.round((Number(out.trim()) * 1000) / ms);
}

/**
 * connectRate as a child process, so two clients can run at the same moment; also the client's
 * CPU time (user + system) per connect: the SYN's trip through the node's forward hook runs in
 * the sender's softirq, so it is charged there, and CPU time moves far less with host load than
 * wall-clock rates do.
 */
function connectRateAsync(src: string, ip: string, port: number, ms: number): Promise<{ rate: number; cpuUs: number }> {
  const code = `const net=require('net');let n=0;const c0=process.cpuUsage();const end=Date.now()+${ms};const go=()=>{if(Date.now()>=end){const c=process.cpuUsage(c0);console.log(n+' '+(c.user+c.system));return;}const s=net.connect(${port},'${ip}',()=>{n++;s.destroy();go();});s.on('error',()=>{s.destroy();go();});};go();`;
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', src, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', () => {
      const [n, cpu] = out.trim().split(' ').map(Number) as [number, number];
      resolve({ rate: Math.round((n * 1000) / ms), cpuUs: n > 0 ? cpu / n : NaN });
    });
  });
}

const bed = new Testbed(`tbnb${process.pid % 1000}`);
const netns = bed.node;
try {
  const graph = new PolicyGraph({ localNode: 'n1' });
  const docs: Doc[] = [];
  for (let n = 0; n < NAMESPACES; n++) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}` }, spec: {} });
  for (let i = 0; i < PODS; i++) docs.push(pod(i, APPS[int(APPS.length)]!));
  for (let i = 0; i < POLICIES; i++) docs.push(policy(i, 1000 + (i % 50)));
  // The probe pair: pod-2 (app-2 in ns-2, selected by five policies and zz-bench) and pod-1, the client.
  docs.push(pod(1, 'bench-client'), pod(2, APPS[2]!));
  docs.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'zz-bench', namespace: 'ns-2' },
    spec: { podSelector: { matchLabels: { app: APPS[2] } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'bench-client' } } }], ports: [{ port: 1000, protocol: 'TCP' }] }] },
  });
  const updates = docs.map(up);
  const mem0 = memory();
  const dp = new PolicyDataplane(new NftPolicyRenderer(), nftRunner({ netns }));
  let t0 = now();
  dp.renderer.apply(graph.apply(updates));
  const renderOnlyMs = now() - t0;
  const mem1 = memory();
  const endpoints = [...graph.allEndpoints()].filter((e) => e.kind === 'workload').length;
  console.log(
    JSON.stringify({
      bench: 'policy',
      metric: 'agent-memory-per-endpoint',
      value: Math.round((mem1.heap - mem0.heap) / endpoints),
      unit: 'B heap',
      rssPerEndpoint: Math.round((mem1.rss - mem0.rss) / endpoints),
      endpoints,
      policies: POLICIES + 1,
      heapMB: Number(((mem1.heap - mem0.heap) / 1e6).toFixed(1)),
      rules: [...dp.renderer.state.chains.values()].reduce((n, c) => n + c.rules.length, 0),
      graphAndRenderMs: Math.round(renderOnlyMs),
    }),
  );
  const ifaceOf = (name: string): string => [...graph.allEndpoints()].find((e) => e.pod === name)!.interfaceName!;
  const client = bed.addPod('client', '10.100.0.1', ifaceOf('pod-1'));
  const server = bed.addPod('server', '10.100.0.2', ifaceOf('pod-2'));
  const plainClient = bed.addPod('plain-client', '10.99.0.1', 'tbnc1');
  const plainServer = bed.addPod('plain-server', '10.99.0.2', 'tbnc2');
  // Each client closes first, so its side keeps every connection in TIME_WAIT: at ~10k connects/s
  // the default 28k ephemeral ports run out within seconds and later rounds would measure port
  // exhaustion (rates fell to ~350/s on both sides). Reuse TIME_WAIT ports after 1 s and use the
  // whole port range, in both client namespaces alike.
  for (const c of [client, plainClient]) {
    execFileSync('ip', ['netns', 'exec', c.netns, 'sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65535']);
  }
  await bed.serve(1000, 1001);
  const full = dp.renderer.fullScript();
  const renderMs = now() - t0;
  t0 = now();
  await dp.sync();
  const fullMs = now() - t0;
  const rules = full.split('\n').filter((l) => l.startsWith('add rule')).length;
  // Bare anchor for the start: the same full script into a fresh table.
  execFileSync('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', 'inet', 'tabby']);
  t0 = now();
  await bareNft(netns, full);
  const fullBare = now() - t0;
  console.log(JSON.stringify({ bench: 'policy', metric: 'full-start', value: Math.round(renderMs + fullMs), unit: 'ms', renderMs: Math.round(renderMs), rules, scriptBytes: full.length, anchor: 'bare-nft-f-full', anchorValue: Math.round(fullBare), ratio: Number(((renderMs + fullMs) / fullBare).toFixed(2)) }));
  // A restart finds the table correct: the listing and the comparison only.
  t0 = now();
  const repair = await dp.sync();
  console.log(JSON.stringify({ bench: 'policy', metric: 'restart-sync', value: Math.round(now() - t0), unit: 'ms', repairBytes: repair.length }));

  // (b) TCP connects/s, rounds interleaved so load swings hit every side alike: the policed pair
  // (cali… interfaces, through the table) against a pair on non-cali interfaces through the same
  // node (no policy applies to it), ABBA order; then that pair behind a linear list of the same size.
  const MS = 1500;
  const ROUNDS = 8;
  const policed: number[] = [];
  const plain: number[] = [];
  const roundRatios: number[] = [];
  const linearRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = (): number => connectRate(bed, client.netns, server.ip, 1000, MS);
    const b = (): number => connectRate(bed, plainClient.netns, plainServer.ip, 1000, MS);
    let x: number;
    let y: number;
    if (r % 2 === 0) (x = a()), (y = b());
    else (y = b()), (x = a());
    policed.push(x);
    plain.push(y);
    roundRatios.push(x / y);
  }
  // The same two pairs measured at the same moment (both clients run together): whatever load
  // the host is under, both sides share it, so the per-round ratio is the robust figure here.
  const together: { policed: number; plain: number; ratio: number; cpuPoliced: number; cpuPlain: number }[] = [];
  for (let r = 0; r < 6; r++) {
    const [x, y] = await Promise.all([connectRateAsync(client.netns, server.ip, 1000, 2000), connectRateAsync(plainClient.netns, plainServer.ip, 1000, 2000)]);
    together.push({ policed: x.rate, plain: y.rate, ratio: x.rate / y.rate, cpuPoliced: x.cpuUs, cpuPlain: y.cpuUs });
  }
  const cpuPoliced = median(together.map((t) => t.cpuPoliced));
  const cpuPlain = median(together.map((t) => t.cpuPlain));
  // What the first packet of a connection evaluates on the policed path (every later packet
  // leaves at the conntrack-established rule): the client's from_ chain and the server's to_
  // chain, with every policy/profile chain they jump to.
  const chainRules = (name: string): readonly string[] => dp.renderer.state.chains.get(name)?.rules ?? [];
  let pathRules = 0;
  let pathLookups = 0;
  for (const name of [`from_${client.iface}`, `to_${server.iface}`]) {
    for (const r of chainRules(name)) {
      pathRules++;
      const jump = /^(?:.* )?jump (\S+)/.exec(r);
      if (jump === null) continue;
      // An IPv4 packet leaves a policy chain at its 'meta nfproto ipv4 return' (the IPv6 half follows).
      for (const pr of chainRules(jump[1]!)) {
        pathRules++;
        if (pr.startsWith('meta nfproto ipv4 return')) break;
        pathLookups += (pr.match(/@/g) ?? []).length;
      }
    }
  }
  const linear = ['add table inet tbnlinear', 'add chain inet tbnlinear forward { type filter hook forward priority filter; policy accept; }', 'add rule inet tbnlinear forward ct state established,related accept'];
  for (let i = 3; i < PODS; i++) linear.push(`add rule inet tbnlinear forward ip daddr 10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256} tcp dport ${1000 + (i % 50)} ip saddr 10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${(i + 1) % 256} accept`);
  linear.push(`add rule inet tbnlinear forward ip daddr ${plainServer.ip} tcp dport 1000 accept`, `add rule inet tbnlinear forward ip daddr ${plainServer.ip} drop`);
  await bareNft(netns, linear.join('\n') + '\n');
  for (let r = 0; r < 3; r++) {
    linearRates.push(connectRate(bed, plainClient.netns, plainServer.ip, 1000, MS));
  }
  execFileSync('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', 'inet', 'tbnlinear']);
  const withTable = median(policed);
  const noPolicy = median(plain);
  const linearRate = median(linearRates);
  console.log(
    JSON.stringify({
      bench: 'policy',
      metric: 'tcp-connects-per-s',
      value: withTable,
      unit: 'connects/s',
      rounds: policed,
      anchor: 'no-policy-same-node',
      anchorValue: noPolicy,
      anchorRounds: plain,
      ratio: Number((withTable / noPolicy).toFixed(2)),
      medianRoundRatio: Number(median(roundRatios).toFixed(2)),
      roundRatios: roundRatios.map((x) => Number(x.toFixed(2))),
      simultaneousRatio: Number(median(together.map((t) => t.ratio)).toFixed(2)),
      simultaneousRounds: together.map((t) => `${t.policed}/${t.plain}`),
      cpuUsPerConnect: Number(cpuPoliced.toFixed(1)),
      cpuUsPerConnectNoPolicy: Number(cpuPlain.toFixed(1)),
      cpuRatio: Number((cpuPlain / cpuPoliced).toFixed(2)),
      cpuRounds: together.map((t) => `${t.cpuPoliced.toFixed(0)}/${t.cpuPlain.toFixed(0)}`),
      firstPacketRulesMax: pathRules,
      firstPacketSetLookupsMax: pathLookups,
      linearRules: PODS - 2,
      linearValue: linearRate,
      linearRounds: linearRates,
      vsLinear: Number((withTable / linearRate).toFixed(2)),
    }),
  );

  // Label changes: a pod's app flips.
  const labelOurs: number[] = [];
  const labelBare: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const i = (k * 331) % PODS;
    t0 = now();
    const script = await dp.apply(graph.apply([up(pod(i, APPS[(k * 17) % APPS.length]!))]));
    labelOurs.push(now() - t0);
    if (script === '') continue;
    t0 = now();
    await bareNft(netns, script.replace(/^add element/gm, 'add element').replace(/^delete element.*$/gm, ''));
    labelBare.push(now() - t0);
  }
  console.log(JSON.stringify({ bench: 'policy', metric: 'label-change-to-enforced', value: Number(median(labelOurs).toFixed(2)), unit: 'ms', anchor: 'bare-nft-f-same-additions', anchorValue: Number(median(labelBare).toFixed(2)), ratio: Number((median(labelOurs) / median(labelBare)).toFixed(2)) }));

  // Policy changes: one policy's port changes (its chain is rewritten, one transaction).
  const ours: number[] = [];
  const bare: number[] = [];
  let lines = 0;
  for (let k = 0; k < RUNS; k++) {
    const i = (k * 37) % POLICIES;
    t0 = now();
    const script = await dp.apply(graph.apply([up(policy(i, 2000 + k))]));
    ours.push(now() - t0);
    lines += script.split('\n').length - 1;
    // The same transaction again (flush chain + add rules: applies the same way).
    t0 = now();
    await bareNft(netns, script);
    bare.push(now() - t0);
  }
  const value = median(ours);
  const anchor = median(bare);
  console.log(JSON.stringify({ bench: 'policy', metric: 'policy-change-to-enforced', value: Number(value.toFixed(2)), unit: 'ms', endpoints: PODS, policies: POLICIES, scriptLines: Math.round(lines / RUNS), anchor: 'bare-nft-f-same-change', anchorValue: Number(anchor.toFixed(2)), ratio: Number((value / anchor).toFixed(2)) }));
} finally {
  bed.destroy();
}
