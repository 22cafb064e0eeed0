// The lab's record of itself: `<state dir>/state.json`, plus the lock that serialises commands.
//
// Invariant: anything the lab makes on the host is recorded in `made` BEFORE it is made (an intent
// log), so `down` can remove exactly what exists even after a crash in the middle of `up`; `down`
// treats a recorded thing that is already gone as removed. Processes are recorded right after they
// start, with their kernel start time so a reused pid is never signalled; a process that started
// but was not recorded is still found by `down`, through the lab's namespaces.
// Writes are atomic (temporary file + rename): a reader sees the old or the new state, never half.

import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { LabError } from './errors.js';
import type { Workload } from './controllers.js';
import type { LabPlan } from './plan.js';

/** One thing the lab made, in the order it was made; `down` undoes them in reverse. */
export type Made =
  | { readonly kind: 'dir'; readonly path: string; /** true: remove with contents (the state dir). */ readonly tree?: boolean }
  | { readonly kind: 'netns'; readonly name: string }
  | { readonly kind: 'mount'; readonly target: string }
  | { readonly kind: 'process'; readonly pid: number; readonly startTime: string; readonly role: string };

export interface PodPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly name?: string;
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  readonly netns: string;
  readonly containerId: string;
  /** Pod addresses without prefix, IPv4 first. */
  readonly ips: string[];
  readonly ports: PodPort[];
  /** The final result of the CNI ADD chain, given back as prevResult on DEL. */
  readonly cniResult: unknown;
  /** The network configuration the pod was added with (DEL must use the same). */
  readonly cniConfig: unknown;
  /** The workload that made the pod ("Deployment/web"), when one did. */
  readonly owner?: string;
}

export interface LabState {
  readonly version: 1;
  readonly name: string;
  readonly createdAt: string;
  phase: 'starting' | 'up';
  readonly plan: LabPlan;
  made: Made[];
  pods: PodRecord[];
  /** Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs applied (controllers.ts). */
  workloads?: Workload[];
}

export const statePath = (stateDir: string): string => `${stateDir}/state.json`;
const lockPath = (stateDir: string): string => `${stateDir}/lock`;

export function readState(stateDir: string): LabState | undefined {
  const path = statePath(stateDir);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LabState;
  } catch (e) {
    throw new LabError('CommandFailed', `lab state ${path} is unreadable (${(e as Error).message}); \`tabby lab down\` still removes the lab`, { cause: e });
  }
}

export function writeState(state: LabState): void {
  const path = statePath(state.plan.stateDir);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Records `thing` in the intent log and persists it, before the caller makes it. */
export function recordMade(state: LabState, thing: Made): void {
  state.made.push(thing);
  writeState(state);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lab's lock (a file holding the owner's pid), stealing it from a dead owner and waiting
 * up to `waitMs` for a live one. Returns the release function.
 */
export async function lockLab(stateDir: string, what: string, waitMs = 120_000): Promise<() => void> {
  const path = lockPath(stateDir);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid} ${what}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new LabError('LabNotFound', `lab state dir ${stateDir} is gone (the lab was taken down)`);
      if (code !== 'EEXIST') throw e;
    }
    let holder = '';
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      continue; // released between our open and read
    }
    const [pidText, ...rest] = holder.split(' ');
    const pid = Number(pidText);
    if (!(Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid))) {
      rmSync(path, { force: true }); // stale: its owner is gone
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LabError('LabBusy', `lab in ${stateDir} is busy: pid ${pid} is running \`tabby lab ${rest.join(' ')}\`; wait for it, or stop it first`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
