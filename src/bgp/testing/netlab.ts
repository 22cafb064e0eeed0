// Interop test fixture: network namespaces on one bridge, and the BGP daemons that run in them
// (Tabby's own, BIRD 2, GoBGP, FRR's bgpd+zebra), each with its own config, socket and pid files
// in a scratch directory. Everything it makes is named `tbs-<lab>-…` and torn down by `destroy`,
// which the tests call from `after` so a failing test cleans up too.
//
// Addresses: node i of lab L has 198.18.L.i/24 and 2001:db8:L::i/64 on eth0; nothing routes
// out of the lab (no default route, the bridge has no uplink).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const TABBY_BIN = join(REPO_ROOT, 'dist/bin/tabby.cjs');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: string[], input?: string, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? 128, stdout, stderr }));
  });
}

export async function must(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await sh(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Polls `probe` until it returns a value that is not undefined; fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface LabNode {
  readonly name: string;
  readonly ns: string;
  readonly v4: string;
  readonly v6: string;
  readonly index: number;
}

export class NetLab {
  readonly dir: string;
  readonly nodes = new Map<string, LabNode>();
  private readonly procs: { name: string; child: ChildProcess; log: string[] }[] = [];
  private readonly sw: string;

  private constructor(readonly id: number) {
    this.dir = mkdtempSync(join(tmpdir(), `tbs-${id}-`));
    this.sw = `tbs-${id}-sw`;
  }

  /** A lab with a bridge namespace and one namespace per node. `id` (1..250) keeps labs apart. */
  static async create(id: number, names: string[]): Promise<NetLab> {
    const lab = new NetLab(id);
    try {
      await lab.cleanupLeftovers();
      await must('ip', ['netns', 'add', lab.sw]);
      await must('ip', ['-n', lab.sw, 'link', 'add', 'br0', 'type', 'bridge']);
      await must('ip', ['-n', lab.sw, 'link', 'set', 'br0', 'up']);
      let i = 1;
      for (const name of names) await lab.addNode(name, i++);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  private async cleanupLeftovers(): Promise<void> {
    const list = await sh('ip', ['netns', 'list']);
    for (const line of list.stdout.split('\n')) {
      const ns = line.split(' ')[0] ?? '';
      if (ns.startsWith(`tbs-${this.id}-`)) await this.killNamespace(ns);
    }
  }

  private async addNode(name: string, index: number): Promise<void> {
    const ns = `tbs-${this.id}-${name}`;
    await must('ip', ['netns', 'add', ns]);
    const node: LabNode = { name, ns, index, v4: `198.18.${this.id}.${index}`, v6: `2001:db8:${this.id}::${index}` };
    this.nodes.set(name, node);
    await must('ip', ['-n', this.sw, 'link', 'add', `p${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await must('ip', ['-n', this.sw, 'link', 'set', `p${index}`, 'master', 'br0', 'up']);
    await must('ip', ['-n', ns, '-batch', '-'], [
      'link set lo up',
      `addr add ${node.v4}/24 dev eth0`,
      `addr add ${node.v6}/64 dev eth0 nodad`,
      'link set eth0 up',
    ].join('\n') + '\n');
  }

  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no lab node ${name}`);
    return n;
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  /** Runs a command inside a node's namespace to completion. */
  exec(node: string, cmd: string, args: string[], input?: string, timeoutMs?: number): Promise<RunResult> {
    return sh('ip', ['netns', 'exec', this.node(node).ns, cmd, ...args], input, timeoutMs);
  }

  /** Starts a long-running process inside a node's namespace; killed by `destroy` or `kill`. */
  spawn(node: string, name: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.node(node).ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    const keep = (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 400) log.splice(0, 100);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.procs.push({ name, child, log });
    return child;
  }

  logOf(name: string): string {
    return this.procs.filter((p) => p.name === name).map((p) => p.log.join('')).join('\n');
  }

  /** Stops a process by name and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const mine = this.procs.filter((p) => p.name === name && p.child.exitCode === null && p.child.signalCode === null);
    await Promise.all(mine.map((p) => new Promise<void>((res) => {
      p.child.once('exit', () => res());
      p.child.kill(signal);
      setTimeout(() => {
        p.child.kill('SIGKILL');
        res();
      }, 5000).unref();
    })));
  }

  private async killNamespace(ns: string): Promise<void> {
    // Processes we did not track (a daemon that forked) die with their namespace's pids.
    const pids = await sh('ip', ['netns', 'pids', ns]);
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sh('ip', ['netns', 'del', ns]);
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const n of this.nodes.values()) await this.killNamespace(n.ns);
    await this.killNamespace(this.sw);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
