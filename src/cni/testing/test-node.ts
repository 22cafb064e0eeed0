// Test support: a Tabby node in a network namespace of its own, for integration tests and the
// CNI benchmark. It is the real thing: `tabby node` (supervisor + dataplane agent) running in the
// namespace against a real etcd (src/testing/etcd.ts), with the real plugin executables it
// installed, driven with the real CNI environment.
//
// The node namespace gets an "eth0" (one end of a veth pair whose other end also stays inside),
// 198.18.100.1/24 with a default route, so that autodetection finds an address and proxy-ARP has a
// route to answer through; nothing leaves the namespace.
// The agent reaches etcd through a unix-socket bridge (tcp-to-unix.ts): no link joins the
// namespace to the root one. stop() removes every namespace, process and file it made.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Datastore } from '../../datastore/datastore.js';
import { EtcdDatastore } from '../../datastore/etcd.js';
import { putPool } from '../../ipam/testing.js';
import { type EtcdFixture, startEtcd } from '../../testing/etcd.js';
import { mustRun, runCommand } from '../exec.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The build output directory (dist/). */
export const DIST = resolve(here, '..', '..', '..');
export const SHIM = join(DIST, 'bin', 'tabby-cni');
export const FORWARDER = join(DIST, 'bin', 'tabby-cni.cjs');

let counter = 0;
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
    readonly etcd: EtcdFixture,
    private readonly ownsEtcd: boolean,
    readonly ds: Datastore,
    private readonly bridgeServer: net.Server,
    private readonly bridgeProc: ChildProcess,
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
      join(DIST, 'src', 'cli', 'main.js'), 'node',
      '--nodename', this.nodename,
      '--datastore-type', 'etcdv3',
      '--etcd-endpoints', 'http://127.0.0.1:2379',
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
    await mustRun(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return pod;
  }

  async removePod(pod: TestPod): Promise<void> {
    await runCommand(['ip', 'netns', 'del', pod.name]);
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
    this.bridgeProc.stdin?.end();
    this.bridgeProc.kill('SIGKILL');
    await new Promise<void>((res) => this.bridgeServer.close(() => res()));
    await runCommand(['ip', 'netns', 'del', this.netnsName]);
    await this.ds.close().catch(() => {});
    if (this.ownsEtcd) await this.etcd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Makes the namespace, etcd (unless given), pools and bridge; the agent is started separately. */
export async function createTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-cni-test-'));
  const netnsName = uniqueName('node');
  const etcd = opts.etcd ?? (await startEtcd());
  const endpoint = new URL(etcd.endpoints[0]!);
  const ds = new EtcdDatastore({ endpoints: etcd.endpoints });
  let bridgeServer: net.Server | undefined;
  let bridgeProc: ChildProcess | undefined;
  try {
    for (const p of opts.pools ?? DEFAULT_POOLS) {
      await putPool(ds, p.name, { cidr: p.cidr, blockSize: p.blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'], assignmentMode: 'Automatic' });
    }
    await mustRun(['ip', 'netns', 'add', netnsName]);
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

    const sock = join(dir, 'etcd.sock');
    const server = net.createServer((c) => {
      const up = net.connect(Number(endpoint.port), endpoint.hostname);
      const drop = () => {
        c.destroy();
        up.destroy();
      };
      c.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
      c.pipe(up);
      up.pipe(c);
    });
    bridgeServer = server;
    await new Promise<void>((res, rej) => server.once('error', rej).listen(sock, () => res()));
    const proc = spawn('ip', ['netns', 'exec', netnsName, process.execPath, join(DIST, 'src', 'cni', 'testing', 'tcp-to-unix.js'), '127.0.0.1', '2379', sock], { stdio: ['pipe', 'pipe', 'inherit'] });
    bridgeProc = proc;
    await new Promise<void>((res, rej) => {
      proc.stdout!.once('data', () => res());
      proc.once('exit', (code) => rej(new Error(`etcd bridge in ${netnsName} exited with ${code}`)));
    });
    return new TestNode(opts.nodename ?? 'test-node-1', netnsName, dir, etcd, opts.etcd === undefined, ds, server, proc);
  } catch (err) {
    bridgeProc?.kill('SIGKILL');
    bridgeServer?.close();
    await runCommand(['ip', 'netns', 'del', netnsName]);
    await ds.close().catch(() => {});
    if (opts.etcd === undefined) await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
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
