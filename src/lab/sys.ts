// Running system commands (ip, nsenter, unshare, mount) for the lab, and entering namespaces.
//
// Every command runs without a shell (arguments are never re-parsed), with a timeout, and a
// failure becomes a LabError naming the command line, its exit status and its stderr.
// `inNamespaces` builds the nsenter prefix that runs a program inside a node's or pod's
// namespaces; it is the one place that knows how the lab enters a namespace.

import { spawn } from 'node:child_process';
import { LabError } from './errors.js';

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Resolve with the result instead of throwing when the exit status is not 0. */
  readonly allowFailure?: boolean;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment every lab command gets: a fixed PATH, so sbin tools are found under sudo too. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const line = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? { ...process.env, PATH: SYSTEM_PATH },
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a command that exits without reading its input
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => reject(new LabError('CommandFailed', `cannot run ${line}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      const result = { code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (result.code === 0 || opts.allowFailure) return resolve(result);
      const why = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}` : `exited with status ${result.code}`;
      reject(new LabError('CommandFailed', `${line} ${why}: ${result.stderr.trim() || result.stdout.trim() || 'no output'}`));
    });
  });
}

/** The namespaces a lab program enters: a pod is a network namespace; a node adds mount and UTS. */
export interface NamespaceSet {
  /** Network namespace name under /run/netns. */
  readonly netns: string;
  /** Persistent mount namespace file (nodes only). */
  readonly mountNs?: string;
  /** Persistent UTS namespace file (nodes only). */
  readonly utsNs?: string;
}

/** The argv prefix that runs a program inside `ns`: `nsenter --net=... [--mount=...] [--uts=...] --`. */
export function inNamespaces(ns: NamespaceSet, workdir?: string): string[] {
  const args = ['nsenter', `--net=/run/netns/${ns.netns}`];
  if (ns.mountNs !== undefined) args.push(`--mount=${ns.mountNs}`);
  if (ns.utsNs !== undefined) args.push(`--uts=${ns.utsNs}`);
  if (workdir !== undefined) args.push(`--wd=${workdir}`);
  args.push('--');
  return args;
}

/** Runs argv inside the namespaces of `ns`. */
export function runIn(ns: NamespaceSet, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...rest] = [...inNamespaces(ns), ...argv];
  return run(cmd!, rest, opts);
}
