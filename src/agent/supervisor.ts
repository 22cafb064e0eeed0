// The `tabby node` supervisor: runs each daemon (today the dataplane agent; the BGP daemon is a
// second ChildSpec) as a child process, restarts one that dies with exponential back-off, and
// relays their health and metrics over the IPC channel.
//
// Invariants:
// - A child that exits while the supervisor is running is restarted after a delay of
//   initial·2^(n-1), capped, where n counts consecutive short-lived runs (a run longer than
//   `resetAfterMs` resets n). Other children are never touched by one child's crash.
// - Children exit when the IPC channel closes, so killing the supervisor (even with SIGKILL)
//   takes them down.
// - stop() sends SIGTERM, then SIGKILL after a grace period, and resolves when all have exited.
//
// IPC messages, child → supervisor: {type:"health", live, ready, reason?, detail?}, {type:"metrics", id, text},
// {type:"relay", to, topic, body} (for a sibling: the BGP daemon's learned routes to the dataplane
// agent). Supervisor → child: {type:"metrics?", id, what?}, {type:"relay", topic, body} — the last
// body of each topic is replayed to a child that (re)starts, so a restarted agent gets the routes
// at once. `what` asks one child for something else than its metrics text (the agent:
// "policy-stats", its per-rule counters as JSON), answered the same way.

import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../util/log.js';

export interface ChildSpec {
  readonly name: string;
  /** Script to run with node (the same entry point as the supervisor, normally). */
  readonly modulePath: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

export type ChildState = 'starting' | 'running' | 'backoff' | 'stopped';

export interface ChildStatus {
  readonly name: string;
  readonly pid?: number;
  readonly state: ChildState;
  readonly restarts: number;
  /** Exits in a row without a long enough run in between (0 once a run lasts resetAfterMs). */
  readonly consecutiveFailures: number;
  readonly ready: boolean;
  readonly reason?: string;
  /** What the child last reported about its work (the agent: its route reconciler). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay before the n-th consecutive restart (n ≥ 1). Pure. */
export function restartDelay(n: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, n - 1));
}

interface Child {
  spec: ChildSpec;
  proc?: ChildProcess;
  state: ChildState;
  restarts: number;
  consecutive: number;
  startedAt: number;
  ready: boolean;
  reason?: string;
  detail?: Readonly<Record<string, unknown>>;
  timer?: NodeJS.Timeout;
}

type ChildMessage =
  | { type: 'health'; live: boolean; ready: boolean; reason?: string; detail?: Record<string, unknown> }
  | { type: 'metrics'; id: number; text: string }
  | { type: 'relay'; to: string; topic: string; body: unknown };

export class Supervisor {
  private readonly children: Child[];
  private stopping = false;
  private nextId = 1;
  private readonly pendingMetrics = new Map<number, (text: string) => void>();
  /** Last relayed body per target child and topic. */
  private readonly relayed = new Map<string, Map<string, unknown>>();

  constructor(
    specs: readonly ChildSpec[],
    private readonly log: Logger,
    private readonly opts: { backoff?: BackoffPolicy; onRestart?: (name: string) => void; onState?: (name: string, up: boolean) => void } = {},
  ) {
    this.children = specs.map((spec) => ({ spec, state: 'stopped', restarts: 0, consecutive: 0, startedAt: 0, ready: false }));
  }

  start(): void {
    for (const c of this.children) this.spawn(c);
  }

  private spawn(c: Child): void {
    c.state = 'starting';
    c.ready = false;
    c.reason = 'starting';
    c.startedAt = Date.now();
    const proc = fork(c.spec.modulePath, [...c.spec.args], { env: c.spec.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.proc = proc;
    this.log.info('child started', { child: c.spec.name, pid: proc.pid });
    proc.on('message', (m: ChildMessage) => {
      if (m.type === 'health') {
        if (c.proc !== proc) return;
        // The first health report says the child listens: replay what its siblings sent it.
        if (c.state === 'starting') for (const [topic, body] of this.relayed.get(c.spec.name) ?? []) proc.send({ type: 'relay', topic, body }, () => {});
        c.state = 'running';
        c.ready = m.ready;
        if (m.reason !== undefined) c.reason = m.reason;
        else delete c.reason;
        if (m.detail !== undefined) c.detail = m.detail;
        this.opts.onState?.(c.spec.name, true);
      } else if (m.type === 'metrics') {
        this.pendingMetrics.get(m.id)?.(m.text);
      } else if (m.type === 'relay') {
        let topics = this.relayed.get(m.to);
        if (!topics) this.relayed.set(m.to, (topics = new Map()));
        topics.set(m.topic, m.body);
        // A child still starting may not listen yet: it gets the body on its first health report.
        const target = this.children.find((x) => x.spec.name === m.to);
        if (target?.state === 'running' && target.proc?.connected) target.proc.send({ type: 'relay', topic: m.topic, body: m.body }, () => {});
      }
    });

    proc.on('error', (err) => this.log.error('child process error', { child: c.spec.name, error: err }));
    proc.on('exit', (code, signal) => {
      if (c.proc !== proc) return;
      delete c.proc;
      c.ready = false;
      this.opts.onState?.(c.spec.name, false);
      if (this.stopping) {
        c.state = 'stopped';
        return;
      }
      const ranMs = Date.now() - c.startedAt;
      const policy = this.opts.backoff ?? DEFAULT_BACKOFF;
      c.consecutive = ranMs >= policy.resetAfterMs ? 1 : c.consecutive + 1;
      const delay = restartDelay(c.consecutive, policy);
      c.state = 'backoff';
      c.reason = `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`;
      this.log.warn('child exited; restarting after back-off', { child: c.spec.name, code, signal, ranMs, delayMs: delay });
      c.timer = setTimeout(() => {
        delete c.timer;
        if (this.stopping) return;
        c.restarts++;
        this.opts.onRestart?.(c.spec.name);
        this.spawn(c);
      }, delay);
    });
  }

  status(): ChildStatus[] {
    return this.children.map((c) => ({
      name: c.spec.name,
      ...(c.proc?.pid !== undefined ? { pid: c.proc.pid } : {}),
      state: c.state,
      restarts: c.restarts,
      consecutiveFailures: c.state === 'running' && Date.now() - c.startedAt >= (this.opts.backoff ?? DEFAULT_BACKOFF).resetAfterMs ? 0 : c.consecutive,
      ready: c.ready,
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      ...(c.detail !== undefined ? { detail: c.detail } : {}),
    }));
  }

  /** Each running child's metrics text, concatenated; a child that does not answer in time is skipped. */
  async collectMetrics(timeoutMs = 1000): Promise<string> {
    return (await this.ask(this.children, undefined, timeoutMs)).join('');
  }

  /** Asks one child for `what` (e.g. "policy-stats"); undefined when it is not running or does not answer in time. */
  async query(child: string, what: string, timeoutMs = 5000): Promise<string | undefined> {
    const c = this.children.filter((x) => x.spec.name === child);
    const [text] = await this.ask(c, what, timeoutMs);
    return text === '' ? undefined : text;
  }

  private async ask(children: readonly Child[], what: string | undefined, timeoutMs: number): Promise<string[]> {
    return Promise.all(
      children.map(
        (c) =>
          new Promise<string>((resolve) => {
            if (!c.proc?.connected) return resolve('');
            const id = this.nextId++;
            const timer = setTimeout(() => {
              this.pendingMetrics.delete(id);
              resolve('');
            }, timeoutMs);
            this.pendingMetrics.set(id, (text) => {
              clearTimeout(timer);
              this.pendingMetrics.delete(id);
              resolve(text);
            });
            c.proc.send({ type: 'metrics?', id, ...(what === undefined ? {} : { what }) }, (err) => {
              if (err) this.pendingMetrics.get(id)?.('');
            });
          }),
      ),
    );
  }

  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.children.map(async (c) => {
        if (c.timer) clearTimeout(c.timer);
        const proc = c.proc;
        if (!proc) {
          c.state = 'stopped';
          return;
        }
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
