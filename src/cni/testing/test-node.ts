// Test support: a Tabby node in a network namespace of its own, for integration tests and the
// CNI benchmark. It is the real thing: `tabby node` (supervisor + dataplane agent) running in the
// namespace against a real etcd (src/testing/etcd.ts), with the real plugin executables it
// installed, driven with the real CNI environment.
//
// The node namespace gets an "eth0" (one end of a veth pair whose other end also stays inside),
// 198.18.100.1/24 with a default route, so that autodetection finds an address and proxy-ARP has a
// route to answer through; nothing leaves the namespace.
// The agent reaches etcd through a unix-socket bridge (socket-bridge.ts): no link joins the
// namespace to the root one. stop() removes every namespace, process and file it made.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Datastore } from '../../datastore/index.js';
import { EtcdDatastore } from '../../datastore/index.js';
import { putPool } from '../../testing/resources.js';
import { ETCD_BINARY, type EtcdFixture, startEtcd } from '../../testing/etcd.js';
import { joinSockets } from '../../util/join-sockets.js';
import { mustRun, runCommand } from '../exec.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The build output directory (dist/). */
export const DIST = resolve(here, '..', '..', '..');
export const SHIM = join(DIST, 'bin', 'tabby-cni');
export const FORWARDER = join(DIST, 'bin', 'tabby-cni.cjs');

let counter = 0;

// If the test process ends without stop() (a crash, a closed output pipe), its namespaces and
// processes must not outlive it: this exit hook removes them synchronously.
const exitCleanups = new Map<string, () => void>();
process.on('exit', () => {
  for (const f of exitCleanups.values()) {
    try {
      f();
    } catch {
      // best effort on the way out
    }
  }
});
/** A namespace name unique to this process: tests in parallel files never collide. */
export const uniqueName = (what: string): string => `tbc${process.pid}${what}${counter++}`;

export interface PoolSpec {
  readonly name: string;
  readonly cidr: string;
  readonly blockSize: number;
}

export const DEFAULT_POOLS: readonly PoolSpec[] = [
  { name: 'test-ipv4', cidr: '10.77.0.0/16', blockSize: 26 },
  { name: 'test-ipv6', cidr: 'fd00:77::/112', blockSize: 122 },
];

export interface TestNodeOptions {
  readonly nodename?: string;
  readonly pools?: readonly PoolSpec[];
  /** Extra `tabby node` options. */
  readonly args?: readonly string[];
  readonly etcd?: EtcdFixture;
  /** Run a private etcd inside the node namespace instead of using the root-namespace fixture. */
  readonly etcdInNode?: boolean;
}

export interface CniRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestPod {
  readonly name: string;
  readonly netns: string;
}

export class TestNode {
  readonly pods: TestPod[] = [];
  private logText = '';
  agent?: ChildProcess;

  constructor(
    readonly nodename: string,
    readonly netnsName: string,
    readonly dir: string,
    /** The etcd fixture (root namespace), unless etcd runs inside the node namespace. */
    readonly etcd: EtcdFixture | undefined,
    /** etcd as the agent in the node namespace reaches it. */
    readonly etcdEndpointInside: string,
    /** A client for the test process (root namespace). */
    readonly ds: Datastore,
    /** Undo steps of createTestNode, run last-first by stop(). */
    private readonly cleanups: (() => Promise<unknown> | unknown)[],
  ) {}

  get netnsPath(): string {
    return `/run/netns/${this.netnsName}`;
  }
  get socket(): string {
    return join(this.dir, 'cni.sock');
  }
  get binDir(): string {
    return join(this.dir, 'bin');
  }
  get confDir(): string {
    return join(this.dir, 'net.d');
  }
  get stateDir(): string {
    return join(this.dir, 'state');
  }
  get logs(): string {
    return this.logText;
  }

  /** The `tabby node` command line this node runs with. */
  nodeArgs(extra: readonly string[] = []): string[] {
    return [
      join(DIST, 'src', 'tabby', 'main.js'), 'node',
      '--nodename', this.nodename,
      '--datastore-type', 'etcdv3',
      '--etcd-endpoints', this.etcdEndpointInside,
      '--cni-conf-dir', this.confDir,
      '--cni-bin-dir', this.binDir,
      '--cni-socket', this.socket,
      '--state-dir', this.stateDir,
      ...extra,
    ];
  }

  /** Starts `tabby node` in the namespace and waits until STATUS answers success. */
  async startAgent(extra: readonly string[] = []): Promise<void> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TABBY_LOG_LEVEL: process.env.TABBY_TEST_LOG_LEVEL ?? 'info' };
    const proc = spawn('ip', ['netns', 'exec', this.netnsName, process.execPath, ...this.nodeArgs(extra)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.agent = proc;
    const keep = (c: Buffer) => {
      this.logText += c.toString('utf8');
      if (this.logText.length > 2_000_000) this.logText = this.logText.slice(-1_000_000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`tabby node exited with ${proc.exitCode} while starting:\n${this.logText}`);
      const r = await this.cni('tabby', { CNI_COMMAND: 'STATUS', CNI_PATH: this.binDir }, JSON.stringify(this.conf({ cniVersion: '1.1.0' }))).catch(() => undefined);
      if (r?.code === 0) return;
      if (Date.now() > deadline) throw new Error(`tabby node did not become ready within 30 s; last STATUS: ${r?.stdout ?? 'plugin not installed yet'}\n${this.logText}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  async stopAgent(): Promise<void> {
    const proc = this.agent;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((res) => proc.once('exit', () => res()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(t);
  }

  /** A network configuration for the `tabby` plugin as the runtime would pass it on stdin. */
  conf(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: '1.0.0',
      name: 'test-net',
      type: 'tabby',
      nodename: this.nodename,
      mtu: 1500,
      ipam: { type: 'tabby-ipam' },
      policy: { type: 'k8s' },
      ...over,
    };
  }

  /** Runs an installed plugin executable with exactly this CNI environment. */
  cni(plugin: string, env: Record<string, string>, stdin: string, executable = join(this.binDir, plugin)): Promise<CniRun> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(executable, [], { env: { PATH: process.env.PATH, TABBY_CNI_SOCKET: this.socket, ...env }, stdio: ['pipe', 'pipe', 'pipe'], argv0: plugin });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
    });
  }

  /** A fresh pod network namespace (loopback up). */
  async addPod(label = 'p'): Promise<TestPod> {
    const name = uniqueName(label);
    await mustRun(['ip', 'netns', 'add', name]);
    const pod = { name, netns: `/run/netns/${name}` };
    this.pods.push(pod);
    exitCleanups.set(name, () => execFileSync('ip', ['netns', 'del', name]));
    await mustRun(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return pod;
  }

  async removePod(pod: TestPod): Promise<void> {
    await runCommand(['ip', 'netns', 'del', pod.name]);
    exitCleanups.delete(pod.name);
    const i = this.pods.indexOf(pod);
    if (i >= 0) this.pods.splice(i, 1);
  }

  /** Runs a command inside the node namespace. */
  inNode(argv: readonly string[], input?: string): Promise<CniRun> {
    return runCommand(['ip', 'netns', 'exec', this.netnsName, ...argv], input);
  }

  /** HTTP GET against the node's health port, from inside its namespace. */
  async httpGet(path: string, port = 9099): Promise<{ status: number; body: string }> {
    const script = `require('http').get({host:'127.0.0.1',port:${port},path:${JSON.stringify(path)}},r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>{process.stdout.write(JSON.stringify({status:r.statusCode,body:b}))})}).on('error',e=>{process.stdout.write(JSON.stringify({status:0,body:e.message}))})`;
    const r = await this.inNode([process.execPath, '-e', script]);
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  async stop(): Promise<void> {
    await this.stopAgent().catch(() => {});
    for (const pod of [...this.pods]) await this.removePod(pod);
    await runCleanups(this.cleanups);
  }
}

async function runCleanups(cleanups: (() => Promise<unknown> | unknown)[]): Promise<void> {
  for (const f of cleanups.splice(0).reverse()) {
    try {
      await f();
    } catch {
      // Keep going: every later step still has to run.
    }
  }
}

/** Runs the socket bridge inside `netns`; resolves once it listens. */
async function startBridge(netns: string, args: string[]): Promise<ChildProcess> {
  const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, join(DIST, 'src', 'cni', 'testing', 'socket-bridge.js'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    proc.stdout!.once('data', () => res());
    proc.once('exit', (code) => rej(new Error(`socket bridge in ${netns} exited with ${code}`)));
  });
  return proc;
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  proc.stdin?.end();
  proc.kill('SIGKILL');
  return exited;
}

/** A TCP or unix listener in this process that forwards every connection to `connect()`. */
async function forwarder(listen: (s: net.Server, ready: () => void) => void, connect: () => net.Socket): Promise<net.Server> {
  const server = net.createServer((c) => {
    joinSockets(c, connect());
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    listen(server, res);
  });
  return server;
}

/**
 * Makes the namespace, etcd, pools and the etcd bridge; the agent is started separately.
 * etcd is the shared fixture in the root namespace (reached from the node through a bridge), or
 * with `etcdInNode` a private etcd inside the node namespace, so that the agent's datastore
 * traffic takes no extra hop (the benchmark's choice; the test process then uses the bridge).
 */
export async function createTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tabby-cni-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const netnsName = uniqueName('node');
  try {
    await mustRun(['ip', 'netns', 'add', netnsName]);
    cleanups.push(() => runCommand(['ip', 'netns', 'del', netnsName]));
    exitCleanups.set(netnsName, () => {
      // Processes started inside the namespace first, then the namespace and the files.
      const pids = execFileSync('ip', ['netns', 'pids', netnsName], { encoding: 'utf8' }).split('\n').filter((x) => x !== '');
      for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      execFileSync('ip', ['netns', 'del', netnsName]);
      rmSync(dir, { recursive: true, force: true });
    });
    cleanups.push(() => exitCleanups.delete(netnsName));
    await mustRun(['ip', '-n', netnsName, '-batch', '-'], [
      'link set lo up',
      'link add eth0 type veth peer name underlay0',
      'link set underlay0 up',
      'addr add 198.18.100.1/24 dev eth0',
      'addr add fd00:198:18:100::1/64 dev eth0 nodad',
      'link set eth0 up',
      'route add default dev eth0',
      'route add ::/0 dev eth0',
    ].join('\n') + '\n');
    await mustRun(['ip', 'netns', 'exec', netnsName, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);

    let etcd: EtcdFixture | undefined;
    let outside: string;
    const inside = 'http://127.0.0.1:2379';
    if (opts.etcdInNode) {
      outside = await startEtcdInNode(netnsName, dir, cleanups);
    } else {
      etcd = opts.etcd ?? (await startEtcd());
      if (opts.etcd === undefined) cleanups.push(() => etcd!.stop());
      const endpoint = new URL(etcd.endpoints[0]!);
      const sock = join(dir, 'etcd.sock');
      const server = await forwarder((s, ready) => s.listen(sock, ready), () => net.connect(Number(endpoint.port), endpoint.hostname));
      cleanups.push(() => new Promise((res) => server.close(res)));
      const bridge = await startBridge(netnsName, ['tcp-to-unix', '127.0.0.1', '2379', sock]);
      cleanups.push(() => stopProcess(bridge));
      outside = etcd.endpoints[0]!;
    }
    const ds = new EtcdDatastore({ endpoints: [outside] });
    cleanups.push(() => ds.close());
    for (const p of opts.pools ?? DEFAULT_POOLS) {
      await putPool(ds, p.name, { cidr: p.cidr, blockSize: p.blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'], assignmentMode: 'Automatic' });
    }
    // The agent enforces policy: plain CNI workloads of network test-net carry profile test-net,
    // which Calico's CNI plugin would create; a workload with a missing profile is isolated.
    await ds.put('/calico/resources/v3/projectcalico.org/profiles/test-net', {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: { name: 'test-net' },
      spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
    });
    return new TestNode(opts.nodename ?? 'test-node-1', netnsName, dir, etcd, inside, ds, cleanups);
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/** etcd inside the node namespace on 127.0.0.1:2379; returns the URL the test process uses. */
async function startEtcdInNode(netns: string, dir: string, cleanups: (() => Promise<unknown> | unknown)[]): Promise<string> {
  const dataDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tabby-cni-etcd-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  exitCleanups.set(dataDir, () => rmSync(dataDir, { recursive: true, force: true }));
  cleanups.push(() => exitCleanups.delete(dataDir));
  const etcd = spawn(
    'ip',
    ['netns', 'exec', netns, ETCD_BINARY, '--name', 'node', '--data-dir', dataDir,
      '--listen-client-urls', 'http://127.0.0.1:2379', '--advertise-client-urls', 'http://127.0.0.1:2379',
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'node=http://127.0.0.1:2380', '--log-level', 'error', '--logger', 'zap'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  etcd.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  cleanups.push(() => stopProcess(etcd));
  const sock = join(dir, 'etcd-in.sock');
  const bridge = await startBridge(netns, ['unix-to-tcp', sock, '127.0.0.1', '2379']);
  cleanups.push(() => stopProcess(bridge));
  const server = await forwarder((s, ready) => s.listen(0, '127.0.0.1', ready), () => net.connect(sock));
  cleanups.push(() => new Promise((res) => server.close(res)));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return url;
    if (etcd.exitCode !== null || i > 300) throw new Error(`etcd in ${netns} did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** createTestNode + startAgent. */
export async function startTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const node = await createTestNode(opts);
  try {
    await node.startAgent(opts.args ?? []);
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}
