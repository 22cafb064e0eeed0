// `tabby lab down`: remove every namespace, process, mount, link and file a lab made.
//
// Exact and crash-proof: it works from the intent log in state.json AND from what can be found by
// the lab's name alone (network namespaces named `tabby-<lab>-*`, mounts under the state dir,
// processes inside those namespaces), so a half-finished or crashed `up`, or a lost state.json,
// still comes down completely. Order matters: processes first (a namespace with a process inside
// outlives `ip netns delete`), then pod, node, etcd and switch namespaces (their links go with
// them), then mounts (deepest first), then the state dir, then host directories the lab created.

import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { STATE_ROOT, netnsPrefix, stateDirOf } from './plan.js';
import { type DaemonHandle, isRunning, namespaceInode, processesInNamespaces, stopProcesses } from './processes.js';
import { type LabState, lockLab, readState } from './state.js';
import { run } from './sys.js';
import { deleteNetns } from './underlay.js';

export interface DownReport {
  readonly found: boolean;
  readonly processes: number;
  readonly namespaces: string[];
  readonly mounts: string[];
  readonly dirs: string[];
}

/** Mount points at or below `dir` in the host's mount table, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Network namespaces whose names carry the lab's prefix. */
export function labNetnsNames(lab: string): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix(lab)));
}

/** Pods first, then nodes, etcd, and the switch last (it is what everything else is plugged into). */
function teardownOrder(lab: string, names: readonly string[]): string[] {
  const rank = (n: string) => {
    const rest = n.slice(netnsPrefix(lab).length);
    return rest.includes('.') ? 0 : rest === 'switch' ? 3 : rest === 'etcd' ? 2 : 1;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

async function unmountAll(dir: string): Promise<string[]> {
  const done: string[] = [];
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) break;
    for (const p of points) {
      const r = await run('umount', [p], { allowFailure: true });
      if (r.code !== 0) await run('umount', ['-l', p], { allowFailure: true });
      done.push(p);
    }
  }
  return [...new Set(done)];
}

export async function labDown(lab: string): Promise<DownReport> {
  const stateDir = stateDirOf(lab);
  const release = existsSync(stateDir) ? await lockLab(stateDir, 'down', 15_000) : () => {};
  let state: LabState | undefined;
  try {
    state = readState(stateDir);
  } catch {
    state = undefined; // unreadable: fall back to what can be found by name
  }
  try {
    const made = state?.made ?? [];
    const netns = [...new Set([...made.flatMap((m) => (m.kind === 'netns' ? [m.name] : [])), ...labNetnsNames(lab)])];
    const nsFiles = [...netns.map((n) => `/run/netns/${n}`), ...mountsUnder(stateDir)];
    const mounted = new Set(mountsUnder('/run/netns').concat(mountsUnder(stateDir)));
    const inodes = new Set(nsFiles.filter((f) => mounted.has(f)).map(namespaceInode).filter((i): i is number => i !== undefined));

    // Stop until nothing is left: a supervisor may start a replacement child while it is being
    // stopped, and that child is only found by looking again.
    const stopped = new Map<string, DaemonHandle>();
    let next: DaemonHandle[] = made.flatMap((m) => (m.kind === 'process' ? [{ pid: m.pid, startTime: m.startTime }] : []));
    for (let round = 0; round < 5; round++) {
      next = [...next, ...processesInNamespaces(inodes)].filter(isRunning);
      if (next.length === 0) break;
      for (const h of next) stopped.set(`${h.pid}/${h.startTime}`, h);
      await stopProcesses(next);
      next = [];
    }
    const processes = [...stopped.values()];

    const namespaces: string[] = [];
    for (const n of teardownOrder(lab, netns)) if (await deleteNetns(n)) namespaces.push(n);
    const mounts = await unmountAll(stateDir);
    const existed = existsSync(stateDir);
    rmSync(stateDir, { recursive: true, force: true });

    // Host directories the lab created as mount targets, newest first, while no other lab needs them.
    const dirs: string[] = [];
    const otherLabs = existsSync(STATE_ROOT) ? readdirSync(STATE_ROOT).length > 0 : false;
    if (!otherLabs) {
      for (const m of [...made].reverse()) {
        if (m.kind !== 'dir' || m.tree) continue;
        try {
          rmdirSync(m.path);
          dirs.push(m.path);
        } catch {
          // not empty (someone else uses it) or already gone: leave it
        }
      }
      try {
        rmdirSync(STATE_ROOT);
      } catch {
        // another lab appeared meanwhile, or it is already gone
      }
    }
    return { found: existed || namespaces.length > 0 || processes.length > 0, processes: processes.length, namespaces, mounts, dirs };
  } finally {
    release();
  }
}
