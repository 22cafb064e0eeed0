// The node-to-node mesh: N nodes (default 20) each run a BGP speaker fed the configuration Tabby's
// cluster renderer (src/bgp/cluster) renders for it from one cluster state — Nodes with their
// addresses, one affine /26 block each, the default BGPConfiguration — and we time
//   1. convergence: from starting every speaker until every node has every other node's block in
//      its kernel routing table;
//   2. churn: one more node (already a configured peer of every node, its speaker not running)
//      starts; time until every node has its block and it has every other node's.
// Speakers: Tabby's (`tabby bgp run`, kernel table main, protocol 81) and BIRD 2, the anchor
// (what calico/node runs), given the same peers, passive sides, originated blocks and Calico's
// template timers (connect retry 5 s; BIRD also keeps Calico's `connect delay time 2`).
//
// Scope, honestly: speakers only, not a full `tabby lab` per node (a 20-node lab runs 60 Node.js
// processes, too heavy for this 2-core machine shared with others); the BGP work is what differs.
// Adding a node here means its speaker starting with peers configured everywhere; a re-render
// on every node (Calico: confd + `birdc configure`; Tabby: Speaker.reconfigure) is not timed.
//
// Measuring is the same for both speakers and nearly free: the polls (every 50 ms) read each
// speaker's /proc/<pid> — its namespace's TCP listeners and IPv4 main routing table — instead of
// spawning `ip netns exec … ss` and `ip -n … route` per namespace (41 processes a poll, 0.2–0.5
// CPU-seconds each time, which starved whichever speaker was busy on the CPU). Also printed: the
// mean CPU time (user + system, with reaped children) a speaker had used when first seen
// listening and when the mesh had converged.
//
// Everything runs in namespaces this benchmark makes and removes (tbw-mesh-<pid>-*), on
// 198.18.220.0/24, IPv4 only. Needs root. MESH_BENCH_NODES=N changes the size.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NodeBgpConfig, renderNodeBgp } from '../src/bgp/index.js';
import { formatCIDR, formatIP, parseCIDR } from '../src/ip/index.js';
import { type BGPConfiguration, type Node, applyDefaults, validateResource } from '../src/model/index.js';

const N = Number(process.env['MESH_BENCH_NODES'] ?? 20);
const TOTAL = N + 1;
const TAG = `tbw-mesh-${process.pid}`;
const SWITCH = `${TAG}-sw`;
const nsOf = (i: number) => `${TAG}-${i}`;
const addrOf = (i: number) => `198.18.220.${10 + i}`;
const blockOf = (i: number) => `10.244.${i}.0/26`;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TIMEOUT_MS = 300_000;

function sh(argv: string[], allowFail = false): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function setUp(): void {
  sh(['ip', 'netns', 'add', SWITCH]);
  sh(['ip', '-n', SWITCH, 'link', 'add', 'tbwbr', 'type', 'bridge']);
  sh(['ip', '-n', SWITCH, 'link', 'set', 'tbwbr', 'up']);
  for (let i = 1; i <= TOTAL; i++) {
    sh(['ip', 'netns', 'add', nsOf(i)]);
    sh(['ip', '-n', SWITCH, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsOf(i)]);
    sh(['ip', '-n', SWITCH, 'link', 'set', `p${i}`, 'master', 'tbwbr', 'up']);
    sh(['ip', '-n', nsOf(i), 'addr', 'add', `${addrOf(i)}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', nsOf(i), 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', nsOf(i), 'link', 'set', 'lo', 'up']);
  }
}

function tearDown(): void {
  for (let i = 1; i <= TOTAL; i++) sh(['ip', 'netns', 'del', nsOf(i)], true);
  sh(['ip', 'netns', 'del', SWITCH], true);
}

/** The renderer's configuration of every node, from one cluster state. */
function render(): NodeBgpConfig[] {
  const res = <T>(kind: string, name: string, spec: unknown): T => applyDefaults(validateResource({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec })) as T;
  const nodes = Array.from({ length: TOTAL }, (_, k) => res<Node>('Node', `node-${k + 1}`, { bgp: { ipv4Address: `${addrOf(k + 1)}/24` } }));
  const configurations = [res<BGPConfiguration>('BGPConfiguration', 'default', { asNumber: 64512 })];
  const affinities = nodes.map((_, k) => ({ node: `node-${k + 1}`, cidr: parseCIDR(blockOf(k + 1)), state: 'confirmed' as const, deleted: false }));
  return nodes.map((_, k) => renderNodeBgp({ nodename: `node-${k + 1}`, configurations, peers: [], filters: [], nodes, pools: [], blocks: [], affinities }));
}

interface Speaker {
  readonly name: string;
  readonly proto: string;
  start(i: number, c: NodeBgpConfig, dir: string): ChildProcess;
}

const tabby: Speaker = {
  name: 'tabby',
  proto: '81',
  start(i, c, dir) {
    const file = join(dir, `tabby-${i}.yaml`);
    writeFileSync(file, [
      `asNumber: ${c.asNumber}`, `routerID: ${c.routerID}`, `listenPort: ${c.listenPort}`, `statusSocket: ${join(dir, `tabby-${i}.sock`)}`,
      'kernel: { table: main }', `logLevel: ${process.env['MESH_BENCH_LOG'] ?? 'warn'}`, 'gracefulRestart: { enabled: true }',
      `originate: [${c.originate.map((o) => formatCIDR(o.prefix)).join(', ')}]`,
      'peers:',
      ...c.peers.flatMap((p) => [`  - name: ${p.name}`, `    peerIP: ${formatIP(p.address)}`, `    asNumber: ${p.asNumber}`, `    passive: ${p.passive}`, `    localAddress: ${formatIP(p.localAddress!)}`, '    connectRetryTime: 5', '    families: [ipv4]']),
    ].join('\n') + '\n');
    return spawn('ip', ['netns', 'exec', nsOf(i), process.execPath, join(repo, 'dist/bin/tabby.cjs'), 'bgp', 'run', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  },
};

const bird: Speaker = {
  name: 'bird',
  proto: 'bird',
  start(i, c, dir) {
    const file = join(dir, `bird-${i}.conf`);
    // Calico's bird.cfg shape (calico-internals.md §7.1): static blackholes for the blocks, a
    // kernel protocol, one `protocol bgp Mesh_…` per peer from a template with its timers.
    writeFileSync(file, [
      `router id ${c.routerID};`,
      'protocol device { scan time 2; }',
      'protocol direct { ipv4; interface "eth0"; }',
      `protocol static { ipv4; ${c.originate.map((o) => `route ${formatCIDR(o.prefix)} blackhole;`).join(' ')} }`,
      'protocol kernel { ipv4 { export where source = RTS_BGP; }; scan time 2; graceful restart; merge paths on; }',
      `template bgp bgp_template { local as ${c.asNumber}; ipv4 { import all; export where source ~ [RTS_STATIC, RTS_BGP]; next hop self ebgp; gateway recursive; }; graceful restart; connect delay time 2; connect retry time 5; error wait time 5,30; }`,
      ...c.peers.map((p) => `protocol bgp ${p.name} from bgp_template { neighbor ${formatIP(p.address)} as ${p.asNumber}; source address ${formatIP(p.localAddress!)};${p.passive ? ' passive on;' : ''} }`),
    ].join('\n') + '\n');
    return spawn('ip', ['netns', 'exec', nsOf(i), 'bird', '-f', '-c', file, '-s', join(dir, `bird-${i}.ctl`)], { stdio: ['ignore', 'ignore', 'inherit'] });
  },
};

// Measuring costs next to nothing and is the same for both speakers: the benchmark reads each
// speaker's /proc/<pid> (`ip netns exec` execs the speaker in place, so the pid is the speaker's
// and /proc/<pid>/net is its namespace's) instead of spawning `ip`/`ss` per namespace per poll —
// which had cost ~0.2–0.5 CPU-seconds a poll, a core taken from whichever speaker needs CPU.

const HOST_NETNS = readlinkSync('/proc/self/ns/net');
const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // not exec'd into its namespace yet, or gone
  }
};
/** True once the process runs inside its own namespace (before `ip netns exec` enters it, its /proc/<pid>/net is the host's). */
const inNamespace = (pid: number): boolean => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) !== HOST_NETNS;
  } catch {
    return false;
  }
};

/** Learned routes of a node: its main table's routes into the pod blocks' 10.244.0.0/16 with a
 *  gateway (/proc/<pid>/net/route: little-endian hex destination, flags bit 0x2 RTF_GATEWAY).
 *  Only the speaker puts such routes in these namespaces, and neither puts its own block there. */
function learnedCount(pid: number): number {
  if (!inNamespace(pid)) return 0;
  let n = 0;
  for (const line of read(`/proc/${pid}/net/route`).split('\n').slice(1)) {
    const f = line.split('\t');
    if (f.length > 3 && f[1]!.endsWith('F40A') && (parseInt(f[3]!, 16) & 0x2) !== 0) n++;
  }
  return n;
}

/** CPU time (user + system, ms) a process and its reaped children (Tabby's `ip`) have used so far. */
function cpuMs(pid: number): number {
  const f = read(`/proc/${pid}/stat`).split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(sh(['getconf', 'CLK_TCK']).trim()) || 100;

let failed: string | undefined;

async function waitAll(pids: number[], want: number, t0: number): Promise<number> {
  for (;;) {
    if (failed) throw new Error(failed);
    const counts = pids.map(learnedCount);
    if (counts.every((c) => c >= want)) return performance.now() - t0;
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`not converged after ${TIMEOUT_MS / 1000} s: ${counts.join(',')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a speaker listens on port 179 (process started and configured): /proc/<pid>/net/tcp{,6}
 *  holds a local :00B3 (179), remote 0…0:0000, state 0A (LISTEN). */
function listens(pid: number): boolean {
  return inNamespace(pid) && /:00B3 0+:0000 0A /.test(read(`/proc/${pid}/net/tcp`) + read(`/proc/${pid}/net/tcp6`));
}

interface RunResult {
  convergeMs: number;
  listenMs: number;
  churnMs: number;
  /** Mean CPU ms a speaker had used when first seen listening, and when the mesh had converged. */
  cpuAtListenMs: number;
  cpuAtConvergedMs: number;
}

/** Every speaker process started, so that an interrupted run still kills them. */
const procs: ChildProcess[] = [];
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const p of procs) p.kill('SIGKILL');
    tearDown();
    process.exit(130);
  });
}

async function run(sp: Speaker, configs: NodeBgpConfig[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `${TAG}-${sp.name}-`));
  procs.length = 0;
  const first = Array.from({ length: N }, (_, k) => k + 1);
  try {
    const t0 = performance.now();
    const track = (p: ChildProcess) => {
      p.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') failed = `${sp.name} exited early (${signal ?? code}): see its stderr above`;
      });
      procs.push(p);
    };
    for (const i of first) track(sp.start(i, configs[i - 1]!, dir));
    // Every node learns the other N-1 running nodes' blocks (the extra node is not up yet).
    const pids = procs.map((p) => p.pid!);
    const cpuAtListen = new Map<number, number>();
    let listenMs = -1;
    for (;;) {
      if (failed) throw new Error(failed);
      for (const pid of pids) if (!cpuAtListen.has(pid) && listens(pid)) cpuAtListen.set(pid, cpuMs(pid));
      if (cpuAtListen.size === N) {
        listenMs = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const convergeMs = await waitAll(pids, N - 1, t0);
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const cpuAtConvergedMs = mean(pids.map(cpuMs));
    const t1 = performance.now();
    track(sp.start(TOTAL, configs[TOTAL - 1]!, dir));
    const churnMs = await waitAll(procs.map((p) => p.pid!), N, t1);
    return { convergeMs, listenMs, churnMs, cpuAtListenMs: mean([...cpuAtListen.values()]), cpuAtConvergedMs };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    // Both speakers leave kernel routes behind when killed; the namespaces go with them later.
    for (let i = 1; i <= TOTAL; i++) sh(['ip', '-n', nsOf(i), 'route', 'flush', 'proto', sp.proto], true);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  tearDown();
  setUp();
  const configs = render();
  const results: Record<string, RunResult> = {};
  try {
    for (const sp of [bird, tabby]) {
      results[sp.name] = await run(sp, configs);
      const r = results[sp.name]!;
      process.stderr.write(`${sp.name.padEnd(6)} ${N}-node mesh converged in ${Math.round(r.convergeMs)} ms (every speaker listening after ${Math.round(r.listenMs)} ms, converged ${Math.round(r.convergeMs - r.listenMs)} ms later); node ${TOTAL} joined in ${Math.round(r.churnMs)} ms; CPU per speaker ${Math.round(r.cpuAtListenMs)} ms when listening, ${Math.round(r.cpuAtConvergedMs)} ms when converged\n`);
    }
  } finally {
    tearDown();
  }
  const t = results['tabby']!;
  const b = results['bird']!;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  process.stdout.write(JSON.stringify({
    bench: 'mesh',
    metric: `ms from starting ${N} speakers (full iBGP mesh, configuration from the cluster renderer) until every node has every other node's block in its kernel`,
    value: Math.round(t.convergeMs),
    unit: 'ms',
    anchor: 'bird',
    anchorValue: Math.round(b.convergeMs),
    ratio: r2(t.convergeMs / b.convergeMs),
    afterListeningMs: Math.round(t.convergeMs - t.listenMs),
    anchorAfterListeningMs: Math.round(b.convergeMs - b.listenMs),
    afterListeningRatio: r2((t.convergeMs - t.listenMs) / (b.convergeMs - b.listenMs)),
    churnMs: Math.round(t.churnMs),
    anchorChurnMs: Math.round(b.churnMs),
    churnRatio: r2(t.churnMs / b.churnMs),
    cpuPerSpeakerAtListenMs: Math.round(t.cpuAtListenMs),
    anchorCpuPerSpeakerAtListenMs: Math.round(b.cpuAtListenMs),
    cpuPerSpeakerAtConvergedMs: Math.round(t.cpuAtConvergedMs),
    anchorCpuPerSpeakerAtConvergedMs: Math.round(b.cpuAtConvergedMs),
    nodes: N,
    loadavg: loadavg().map((x) => r2(x)),
  }) + '\n');
}

main().catch((e: unknown) => {
  tearDown();
  process.stderr.write(`mesh bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
