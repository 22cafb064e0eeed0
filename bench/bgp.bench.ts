// BGP route reflection: how long until 10 receivers hold every prefix that 1 or 10 injectors
// send through a speaker acting as route reflector, and the speaker's peak memory (VmHWM).
// Speakers: BIRD 2 (the anchor), GoBGP and, when `tabby bgp run` exists in this build, Tabby's
// own; see bench/bgp-targets.ts. Scenarios: 10k and 100k IPv4 /24s, from 1 and from 10
// injectors (the prefixes split between them), always 10 receivers.
//
// Everything runs in two network namespaces this benchmark creates and removes (tbw-bgpb-*):
// the speaker in one, our injectors and receivers (bench/bgp-peers.ts, one process) in the
// other, joined by a veth pair on 198.18.200.0/24. A fresh speaker process per scenario, so
// each peak memory belongs to one scenario. Needs root (ip netns).
// Prints a table on stderr and one JSON line at the end (DESIGN.md §9): Tabby's time for 100k
// prefixes from 10 peers over BIRD's, or, while Tabby's speaker is absent, BIRD's and GoBGP's
// figures with value null and a note saying why.
//
// BGP_BENCH_TARGETS=bird,gobgp limits the speakers; BGP_BENCH_SCENARIOS=10000x1,100000x10 the runs;
// Tabby's speaker starts through the launcher bin/tabby (its Node options for the daemon), or,
// with BGP_BENCH_NODE_ARGS (a CPU profile), as `node <those options> dist/bin/tabby.cjs`.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan, Result } from './bgp-peers.js';
import { TARGETS, type Target } from './bgp-targets.js';

const NS_SPEAKER = `tbw-bgpb-${process.pid}-s`;
const NS_PEERS = `tbw-bgpb-${process.pid}-p`;
const SPEAKER = '198.18.200.1';
const RECEIVERS = Array.from({ length: 10 }, (_, i) => `198.18.200.${11 + i}`);
const INJECTORS = Array.from({ length: 10 }, (_, i) => `198.18.200.${31 + i}`);
const ASN = 65000;
const TIMEOUT_MS = 600_000;
const here = dirname(fileURLToPath(import.meta.url));

const SCENARIOS = (process.env['BGP_BENCH_SCENARIOS'] ?? '10000x1,10000x10,100000x1,100000x10').split(',').map((s) => {
  const [n, peers] = s.split('x').map(Number);
  if (!n || !peers || peers > INJECTORS.length) throw new Error(`BGP_BENCH_SCENARIOS: "${s}" is not PREFIXESxINJECTORS (1-${INJECTORS.length} injectors)`);
  return { prefixes: n, injectors: peers };
});
const HEADLINE = { prefixes: 100_000, injectors: 10 };

function sh(argv: string[], allowFail = false): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function setUp(): void {
  sh(['ip', 'netns', 'add', NS_SPEAKER]);
  sh(['ip', 'netns', 'add', NS_PEERS]);
  // The veth pair is created inside the speaker's namespace: nothing appears on the host.
  sh(['ip', '-n', NS_SPEAKER, 'link', 'add', 'tbw-s', 'type', 'veth', 'peer', 'name', 'tbw-p', 'netns', NS_PEERS]);
  sh(['ip', '-n', NS_SPEAKER, 'addr', 'add', `${SPEAKER}/24`, 'dev', 'tbw-s']);
  for (const ip of [...RECEIVERS, ...INJECTORS]) sh(['ip', '-n', NS_PEERS, 'addr', 'add', `${ip}/24`, 'dev', 'tbw-p']);
  for (const [ns, dev] of [[NS_SPEAKER, 'tbw-s'], [NS_PEERS, 'tbw-p']] as const) {
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
}

function tearDown(): void {
  sh(['ip', 'netns', 'del', NS_SPEAKER], true);
  sh(['ip', 'netns', 'del', NS_PEERS], true);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set size of a process, from /proc (kB → MB). */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(m[1]) / 1024;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}

interface Measurement {
  target: string;
  prefixes: number;
  injectors: number;
  result: Result;
  peakRssMb: number;
}

async function runScenario(target: Target, prefixes: number, injectors: number): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'tbw-bgpb-'));
  let speaker: ChildProcess | undefined;
  try {
    const start = target.configure({ speaker: SPEAKER, asn: ASN, injectors: INJECTORS.slice(0, injectors), receivers: RECEIVERS, dir });
    // `ip netns exec` execs the command, so the child's pid is the speaker's.
    const proc = spawn('ip', ['netns', 'exec', NS_SPEAKER, ...start.argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    speaker = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    if (start.ready) {
      const until = Date.now() + 20_000;
      while (!start.ready()) {
        if (proc.exitCode !== null || Date.now() > until) throw new Error(`${target.name} did not start: ${stderr.trim()}`);
        await sleep(100);
      }
    }
    const plan: Plan = { speaker: SPEAKER, port: 179, asn: ASN, injectors: INJECTORS.slice(0, injectors), receivers: RECEIVERS, prefixes, timeoutMs: TIMEOUT_MS };
    // The peers run while the speaker lives: if it dies, stop them instead of waiting them out.
    const peers = spawn('ip', ['netns', 'exec', NS_PEERS, process.execPath, join(here, 'bgp-peers.js'), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    peers.stdout.on('data', (d: Buffer) => (out += d.toString()));
    peers.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const peersDone = new Promise<number | null>((r) => peers.once('exit', (code) => r(code)));
    const speakerDied = new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
    const first = await Promise.race([peersDone.then(() => 'peers' as const), speakerDied.then(() => 'speaker' as const)]);
    if (first === 'speaker') {
      peers.kill('SIGKILL');
      await peersDone;
      throw new Error(`${target.name} exited during the run: ${stderr.trim().slice(-1000)}`);
    }
    const line = out.trim().split('\n').at(-1) ?? '';
    let result: Result;
    try {
      result = JSON.parse(line) as Result;
    } catch {
      throw new Error(`peers printed no result (exit ${await peersDone}): ${err}`);
    }
    if (proc.exitCode !== null) throw new Error(`${target.name} exited during the run: ${stderr.trim()}`);
    const rss = peakRssMb(proc.pid!);
    return { target: target.name, prefixes, injectors, result, peakRssMb: rss };
  } finally {
    if (speaker) await stop(speaker);
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 0) => (n < 0 ? '—' : n.toFixed(digits));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bgp bench: needs root (it creates network namespaces)\n');
    process.exit(2);
  }
  const wanted = process.env['BGP_BENCH_TARGETS']?.split(',');
  const targets = TARGETS.filter((t) => !wanted || wanted.includes(t.name));
  const skipped = new Map<string, string>();
  const runnable = targets.filter((t) => {
    const why = t.unavailable();
    if (why) skipped.set(t.name, why);
    return !why;
  });
  const results: Measurement[] = [];
  const cleanup = () => {
    tearDown();
    process.exit(130);
  };
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  setUp();
  try {
    for (const { prefixes, injectors } of SCENARIOS) {
      for (const t of runnable) {
        // A speaker that fails to start or dies is a failed scenario, not the end of the run.
        const m = await runScenario(t, prefixes, injectors).catch(
          (e: unknown): Measurement => ({
            target: t.name,
            prefixes,
            injectors,
            result: { ok: false, error: (e as Error).message, establishMs: -1, sendMs: -1, doneMs: -1, receiverMs: [], updatesSent: 0, receivedCounts: [] },
            peakRssMb: -1,
          }),
        );
        results.push(m);
        const r = m.result;
        process.stderr.write(
          `${t.name.padEnd(6)} ${String(prefixes).padStart(6)} prefixes from ${String(injectors).padStart(2)} peer(s) → 10 receivers: ` +
            (r.ok ? `${fmt(r.doneMs)} ms (sent in ${fmt(r.sendMs)} ms, sessions up in ${fmt(r.establishMs)} ms)` : `FAILED: ${r.error} (received ${r.receivedCounts?.join('/')})`) +
            `, peak RSS ${fmt(m.peakRssMb, 1)} MB\n`,
        );
      }
    }
  } finally {
    tearDown();
  }
  for (const [name, why] of skipped) process.stderr.write(`${name}: not run: ${why}\n`);

  const pick = (name: string) => results.find((m) => m.target === name && m.prefixes === HEADLINE.prefixes && m.injectors === HEADLINE.injectors && m.result.ok);
  const bird = pick('bird');
  const gobgp = pick('gobgp');
  const tabby = pick('tabby');
  const scenarios = results.map((m) => ({ target: m.target, prefixes: m.prefixes, injectors: m.injectors, ok: m.result.ok, ms: m.result.ok ? Math.round(m.result.doneMs) : null, peakRssMb: Math.round(m.peakRssMb * 10) / 10 }));
  const metric = `ms until 10 receivers hold ${HEADLINE.prefixes} prefixes from ${HEADLINE.injectors} peers via a route reflector`;
  const line = {
    bench: 'bgp',
    metric,
    value: tabby ? Math.round(tabby.result.doneMs) : null,
    unit: 'ms',
    anchor: 'bird',
    anchorValue: bird ? Math.round(bird.result.doneMs) : null,
    ratio: tabby && bird ? Math.round((tabby.result.doneMs / bird.result.doneMs) * 100) / 100 : null,
    memoryMb: tabby ? Math.round(tabby.peakRssMb * 10) / 10 : null,
    anchorMemoryMb: bird ? Math.round(bird.peakRssMb * 10) / 10 : null,
    gobgpMs: gobgp ? Math.round(gobgp.result.doneMs) : null,
    gobgpMemoryMb: gobgp ? Math.round(gobgp.peakRssMb * 10) / 10 : null,
    ...(tabby ? {} : { note: `no Tabby figure: ${skipped.get('tabby') ?? (targets.some((t) => t.name === 'tabby') ? 'its headline run failed or was not selected' : 'not selected by BGP_BENCH_TARGETS')}; value and ratio are null` }),
    scenarios,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  if (results.some((m) => !m.result.ok)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  tearDown();
  process.stderr.write(`bgp bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
