// Test support for the lab's integration tests: the built `tabby` run as a user runs it.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import http from 'node:http';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enclosingCIDR, formatCIDR, parseIP } from '../ip/index.js';
import { labDown } from './down.js';
import { ETCD_SOCKET, stateDirOf } from './plan.js';
import type { LabState } from './state.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The bundled `tabby` executable (`make build` first). */
export const TABBY_CJS = join(repo, 'dist/bin/tabby.cjs');

export interface TabbyRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tabby ARGS`, killed after `timeoutMs`; resolves with its exit code and output. */
export function runTabby(args: readonly string[], timeoutMs: number): Promise<TabbyRun> {
  return new Promise((done) => {
    execFile(process.execPath, [TABBY_CJS, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `tabby ARGS`, asserts exit 0 (showing both streams otherwise) and returns stdout. */
export async function tabbyOk(args: readonly string[], timeoutMs: number): Promise<string> {
  const r = await runTabby(args, timeoutMs);
  assert.equal(r.code, 0, `tabby ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** One end of a checked TCP stream between two pods (see `checkedStream`). */
export interface StreamEnd {
  readonly proc: ChildProcess;
  /** What the end printed so far: "listening" / "connected", then a JSON line `{n, bad}` or `{error}`. */
  readonly out: () => string;
  readonly exited: Promise<number>;
}

/**
 * A byte-checked TCP stream on port 9000 for "survives a restart" tests: the server checks every
 * byte against a pattern and prints `{"n":…,"bad":…}` (bad = first wrong offset, -1 for none);
 * the client sends `totalBytes` in 16 KiB chunks every `everyMs`. Returns a starter
 * `(netns, ["server"] | ["client", host])`; the script is written to `dir`.
 */
export function checkedStream(dir: string, totalBytes: number, everyMs: number): (netns: string, args: string[]) => StreamEnd {
  const script = join(dir, 'stream.cjs');
  writeFileSync(script, `
const net = require('node:net');
const [mode, host] = process.argv.slice(2);
const TOTAL = ${totalBytes}, CHUNK = 16 * 1024;
const byte = (i) => (i * 7 + 3) % 251;
if (mode === 'server') {
  net.createServer((s) => {
    let n = 0, bad = -1;
    s.on('data', (b) => { for (let i = 0; i < b.length; i++) if (bad < 0 && b[i] !== byte(n + i)) bad = n + i; n += b.length; });
    s.on('error', (e) => { console.log(JSON.stringify({ error: e.code || e.message, n, bad })); process.exit(0); });
    s.on('end', () => { console.log(JSON.stringify({ n, bad })); process.exit(0); });
  }).listen(9000, () => console.log('listening'));
} else {
  const s = net.connect(9000, host, () => {
    let sent = 0;
    console.log('connected');
    const tick = setInterval(() => {
      const len = Math.min(CHUNK, TOTAL - sent);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = byte(sent + i);
      s.write(b);
      sent += len;
      if (sent >= TOTAL) { clearInterval(tick); s.end(); }
    }, ${everyMs});
  });
  s.on('error', (e) => { console.log(JSON.stringify({ error: e.code || e.message })); process.exit(1); });
  s.on('close', () => process.exit(0));
}`);
  return (netns, args) => {
    const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    return { proc, out: () => out, exited: new Promise((r) => proc.on('exit', (c) => r(c ?? 1))) };
  };
}

/** A lab Pod document on `node` declaring TCP 80 and UDP 53 (what `tabby lab probe` tries). */
export const podYaml = (name: string, node: string): string => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: ${node}
  containers:
  - {name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}
`;

const tabbyctl = join(repo, 'dist/bin/tabbyctl.cjs');

const ok = (args: string[]) => tabbyOk(args, 300_000);
/** `tabby lab probe -o json`: who reaches whom. */
export type Matrix = { pods: string[]; matrix: boolean[][] };
/** The lab's block (/26, /122) holding `ip`. */
export const blockOf = (ip: string) => formatCIDR(enclosingCIDR(parseIP(ip), ip.includes(':') ? 122 : 26));
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Polls `check` until it holds (the test's own timeout bounds the wait; no timed assertion). */
export async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined && check(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
    if (process.env.TABBY_TEST_DEBUG) process.stderr.write(`waiting for ${what}\n`);
  }
}

/** The lab etcd's current revision: a range read over its unix socket (etcd's JSON gateway), header.revision. */
export function labRevision(lab: string): Promise<number> {
  const socketPath = `${stateDirOf(lab)}/${ETCD_SOCKET}`;
  return new Promise((done, fail) => {
    const body = JSON.stringify({ key: Buffer.from('\0').toString('base64'), count_only: true });
    const req = http.request({ socketPath, path: '/v3/kv/range', method: 'POST', headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => {
        const rev = Number((JSON.parse(text) as { header?: { revision?: string } }).header?.revision);
        if (res.statusCode === 200 && Number.isInteger(rev) && rev > 0) done(rev);
        else fail(new Error(`lab ${lab} etcd (${socketPath}): no revision in ${res.statusCode} ${text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`lab ${lab} etcd (${socketPath}): no answer in 5 s`)));
    req.on('error', fail);
    req.end(body);
  });
}

/** One node's policy dataplane progress, from its /policy/stats (inside the node). */
export interface NodeApplied {
  readonly appliedRevision: number;
  readonly appliedAt?: string;
}

export async function nodeApplied(lab: string, node: string): Promise<NodeApplied> {
  const text = await ok(['lab', 'exec', '--name', lab, node, '--', process.execPath, '-e', "fetch('http://127.0.0.1:9099/policy/stats').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
  const body = JSON.parse(text) as { appliedRevision?: unknown; appliedAt?: string; error?: string };
  if (typeof body.appliedRevision !== 'number') throw new Error(`node ${node} of lab ${lab}: /policy/stats has no appliedRevision (${body.error ?? text.slice(0, 200)})`);
  return { appliedRevision: body.appliedRevision, ...(body.appliedAt === undefined ? {} : { appliedAt: body.appliedAt }) };
}

/** What `waitApplied` found: the revision waited for and, per node, ms from `since` to its appliedAt. */
export interface AppliedWait {
  readonly revision: number;
  readonly ms: Readonly<Record<string, number>>;
}

/**
 * After a `tabby lab apply`/`delete`: reads the datastore's current revision and waits until every
 * node's policy dataplane has applied it (appliedRevision ≥ it: the change is in that node's
 * kernel, even when it left the probe matrix as it was). Each node's time is its appliedAt minus
 * `since` (ms since the epoch, e.g. just before lab apply ran; the nodes share this host's clock).
 * No deadline of its own: the test's timeout bounds the wait.
 */
export async function waitApplied(lab: string, nodes: readonly string[], since: number): Promise<AppliedWait> {
  const revision = await labRevision(lab);
  const ms: Record<string, number> = {};
  await Promise.all(
    nodes.map(async (node) => {
      const got = await until(`${node} of ${lab} applied revision ${revision}`, () => nodeApplied(lab, node), (a) => a.appliedRevision >= revision);
      ms[node] = got.appliedAt === undefined ? NaN : Date.parse(got.appliedAt) - since;
    }),
  );
  return { revision, ms: Object.fromEntries(nodes.map((n) => [n, ms[n]!])) };
}

/** "node-1 12 ms, node-2 15 ms" for a waitApplied result. */
export const formatApplied = (w: AppliedWait): string => Object.entries(w.ms).map(([n, t]) => `${n} ${t} ms`).join(', ');

/**
 * With TABBY_TEST_KEEP_LOGS=DIR, copies the lab's state directory (every daemon's log, the ToR's
 * configuration and log) to DIR/<lab>-<time> before the lab goes down: a flaky run leaves evidence.
 */
export function keepLabLogs(name: string): void {
  const keep = process.env.TABBY_TEST_KEEP_LOGS;
  const dir = stateDirOf(name);
  if (!keep || !existsSync(dir)) return;
  try {
    cpSync(dir, join(keep, `${name}-${new Date().toISOString().replace(/[:.]/g, '')}`), { recursive: true, filter: (src) => !src.endsWith('.sock') });
  } catch (e) {
    process.stderr.write(`# lab logs not kept: ${(e as Error).message}\n`);
  }
}

/** A BGP lab (`--encapsulation None`) as the BGP lab tests drive it, through the built CLIs. */
export class BgpLab {
  state!: LabState;
  workdir = '';
  constructor(readonly name: string) {}
  async up(nodes: number, extra: string[], pods: string): Promise<void> {
    await labDown(this.name);
    this.workdir = mkdtempSync(join(tmpdir(), `tb-bgp-${this.name}-`));
    writeFileSync(join(this.workdir, 'pods.yaml'), pods);
    await ok(['lab', 'up', '--name', this.name, '--nodes', String(nodes), '--encapsulation', 'None', ...extra, '-f', join(this.workdir, 'pods.yaml')]);
    this.state = JSON.parse(readFileSync(`/run/tabby/lab/${this.name}/state.json`, 'utf8')) as LabState;
  }
  async down(): Promise<void> {
    keepLabLogs(this.name);
    await labDown(this.name);
    if (this.workdir) rmSync(this.workdir, { recursive: true, force: true });
  }
  exec(target: string, ...argv: string[]): Promise<string> {
    return ok(['lab', 'exec', '--name', this.name, target, '--', ...argv]);
  }
  ctl(node: string, ...args: string[]): Promise<string> {
    return this.exec(node, process.execPath, tabbyctl, ...args);
  }
  ip(name: string, family: 4 | 6): string {
    return this.state.pods.find((p) => p.name === name)!.ips.find((a) => a.includes(':') === (family === 6))!;
  }
  async unreached(): Promise<string[]> {
    const out: string[] = [];
    for (const extra of [[], ['--protocol', 'UDP', '--port', '53'], ['--family', '6'], ['--family', '6', '--protocol', 'UDP', '--port', '53']]) {
      const m = JSON.parse(await ok(['lab', 'probe', '--name', this.name, '-o', 'json', ...extra])) as Matrix;
      out.push(...m.pods.flatMap((from, i) => m.pods.filter((_, j) => !m.matrix[i]![j]).map((to) => `${extra.join(' ') || 'TCP/IPv4'} ${from} → ${to}`)));
    }
    return out;
  }
  /** Polls until every pod reaches every pod (routes converge after changes), then asserts it. */
  async assertAllReach(what: string): Promise<void> {
    const missing = await until(`${what}: all reach`, () => this.unreached(), (m) => m.length === 0).catch(() => this.unreached());
    assert.deepEqual(missing, [], `${what}: every pod reaches every pod`);
  }
  async children(node: string): Promise<{ name: string; pid: number; ready: boolean }[]> {
    const text = await this.exec(node, process.execPath, '-e', "fetch('http://127.0.0.1:9099/readiness').then((r) => r.text()).then((t) => process.stdout.write(t))");
    return (JSON.parse(text) as { children: { name: string; pid: number; ready: boolean }[] }).children;
  }
  async bgpStatus(node: string): Promise<{ peers: { name: string; address: string; state: string; since: string; uptimeSeconds: number; bfd: { state: string } | null }[]; peerTypes: Record<string, string> }> {
    return JSON.parse(await this.exec(node, process.execPath, join(repo, 'dist/bin/tabby.cjs'), 'bgp', 'status', '-o', 'json')) as never;
  }
}

/** Every BGP session of a node's status is Established. */
export const established = (s: { peers: { state: string }[] }) => s.peers.length > 0 && s.peers.every((p) => p.state === 'Established');
