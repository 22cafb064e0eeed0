// Long-running lab processes (etcd, `tabby node`, probe servers): start detached, find, stop.
//
// A process is identified by pid AND kernel start time (/proc/<pid>/stat field 22), so a pid the
// kernel reused for something else is never signalled. Each daemon leads its own session (and
// process group), so stopping it also stops the children it started. `processesInNamespaces`
// finds every process whose network or mount namespace is one of the lab's, by namespace inode:
// that is how `down` stops processes a crash left unrecorded, and nothing else.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { LabError } from './errors.js';

export interface DaemonHandle {
  readonly pid: number;
  readonly startTime: string;
}

export interface DaemonOptions {
  readonly env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  readonly cwd?: string;
  /** When set, wait until the process prints this line on stdout (its readiness signal). */
  readonly readyLine?: string;
  readonly readyTimeoutMs?: number;
}

/**
 * Kernel start time of `pid` in clock ticks since boot, or undefined if there is no such process
 * or it has already exited (a zombie waiting to be reaped counts as gone).
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export function isRunning(h: DaemonHandle): boolean {
  return processStartTime(h.pid) === h.startTime;
}

/** Starts argv detached (its own session), logging to `logFile`; resolves once it is up. */
export function startDaemon(argv: readonly string[], opts: DaemonOptions): Promise<DaemonHandle> {
  const log = openSync(opts.logFile, 'a');
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, {
    detached: true,
    stdio: ['ignore', opts.readyLine === undefined ? log : 'pipe', log],
    env: opts.env,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  closeSync(log);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      child.stdout?.destroy();
      // Never leave behind a process nobody recorded: it would outlive its namespace's name.
      if (child.pid !== undefined) signal(child.pid, 'SIGKILL', true);
      reject(new LabError('CommandFailed', `${argv.join(' ')} ${why} (log: ${opts.logFile})`));
    };
    child.on('error', (e) => fail(`could not start: ${e.message}`));
    const started = () => {
      const pid = child.pid!;
      const startTime = processStartTime(pid);
      child.stdout?.destroy();
      child.removeAllListeners();
      child.unref();
      if (startTime === undefined) return fail('exited at once');
      resolve({ pid, startTime });
    };
    if (opts.readyLine === undefined) {
      child.on('spawn', started);
      return;
    }
    let seen = '';
    const timer = setTimeout(() => fail(`did not print "${opts.readyLine}" within ${opts.readyTimeoutMs ?? 10_000} ms`), opts.readyTimeoutMs ?? 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(`exited (${signal ?? `status ${code}`}) before it was ready`);
    });
    child.stdout!.on('data', (b: Buffer) => {
      seen += b.toString();
      if (!seen.split('\n').includes(opts.readyLine!)) return;
      clearTimeout(timer);
      started();
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    // gone already, or (for a group) it was never a group leader: try the process itself
    if (group) signal(pid, sig, false);
  }
}

/**
 * Stops every process in `handles` (and their process groups): SIGTERM, then SIGKILL for what is
 * left after `graceMs`. Returns once all of them have exited.
 */
export async function stopProcesses(handles: readonly DaemonHandle[], graceMs = 3000): Promise<void> {
  const alive = () => handles.filter(isRunning);
  for (const h of alive()) signal(h.pid, 'SIGTERM', true);
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await sleep(25);
  for (const h of alive()) signal(h.pid, 'SIGKILL', true);
  const hardDeadline = Date.now() + 5000;
  while (alive().length > 0) {
    if (Date.now() > hardDeadline) {
      throw new LabError('Timeout', `processes ${alive().map((h) => h.pid).join(', ')} did not exit after SIGKILL`);
    }
    await sleep(25);
  }
}

/** The inode identifying a namespace file (/run/netns/X, a persistent mount ns file), if it exists. */
export function namespaceInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Every process whose network, mount or UTS namespace has one of `inodes`. */
export function processesInNamespaces(inodes: ReadonlySet<number>): DaemonHandle[] {
  if (inodes.size === 0) return [];
  const found: DaemonHandle[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    for (const ns of ['net', 'mnt', 'uts']) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/ns/${ns}`);
      } catch {
        continue;
      }
      const ino = Number(/\[(\d+)\]/.exec(link)?.[1]);
      if (!inodes.has(ino)) continue;
      const startTime = processStartTime(pid);
      if (startTime !== undefined) found.push({ pid, startTime });
      break;
    }
  }
  return found;
}
