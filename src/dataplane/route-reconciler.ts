// The agent's route reconciler (Felix's route-table and VXLAN managers): the cluster view in,
// kernel routes, neighbours, FDB entries, VXLAN devices and the natOutgoing table out.
//
//   datastore updates ─▶ ClusterView ─▶ computeDesired (pure) ─▶ planApply vs kernel ─▶ one batch
//
// Invariants:
// - Nothing is applied before the datastore view is in sync: acting on half a snapshot would
//   remove routes to nodes not yet seen (Felix never fabricates InSync).
// - The first pass, and every periodic resync, reads the kernel and applies only differences: a
//   restarted agent whose kernel already holds the desired state sends no command at all, so
//   established flows never notice the restart. Entries a resync had to restore count as
//   repaired drift.
// - The kernel is read only at start and on each periodic resync (Felix's route table does the
//   same). The start-up read begins with the datastore sync (`start()`), so the first pass after
//   in-sync only computes, diffs and applies. Between resyncs a pass diffs against a cache of
//   what the last apply left (the desired state it applied). The cache is trusted only after an
//   apply that fully succeeded: a failed line, or a batch that could not run, makes the next
//   pass a full one (re-read the kernel), retried within seconds.
// - Every command is idempotent (kernel-state.ts): replaces, and deletes that succeed when the
//   entry is already gone, so a cache that missed a change made by hand still applies whole;
//   the periodic resync repairs what the cache cannot see.
// - One pass at a time: updates arriving during a pass are coalesced into one more pass.

import type { Logger } from '../util/log.js';
import { ClusterView, type LearnedRoute } from './core/cluster-view.js';
import { type DesiredState, type HostFacts, computeDesired } from './core/desired.js';
import { EMPTY_KERNEL, type KernelState, hostFactsFrom, kernelAfter, planApply } from './core/kernel-state.js';
import { natComment, renderNat } from './core/nat.js';
import type { FailedLine, KernelDriver } from './kernel.js';

export const DEFAULT_ROUTE_REFRESH_MS = 90_000;

interface KernelRead {
  readonly routes: Promise<{ kernel: KernelState; links: unknown }>;
  readonly natMark: Promise<string>;
}
const RETRY_MS = 5000;

export interface ReconcilerStatus {
  readonly inSync: boolean;
  readonly routes: number;
  readonly blackholes: number;
  readonly neighbours: number;
  readonly fdb: number;
  readonly devices: readonly { readonly name: string; readonly mtu: number; readonly vni: number; readonly address: string }[];
  readonly workloadMtu?: number;
  readonly resyncs: number;
  /** Entries a periodic resync found missing or wrong and put back. */
  readonly repaired: number;
  readonly lastResync?: string;
  readonly lastApply?: string;
  readonly lastError?: string;
  readonly problems: readonly string[];
}

/** Where a pass spent its time, in seconds: waiting for the kernel read (0 when the pass used the
 *  cache), computing the desired state and the plan, and running the batches. */
export interface PassPhases {
  readonly read: number;
  readonly plan: number;
  readonly apply: number;
}

export interface ReconcilerHooks {
  /** After each pass that reached the kernel. */
  onPass?(s: { full: boolean; changes: number; repaired: number; failed: number; seconds: number; phases: PassPhases }): void;
  /** When the MTU workloads should get changes (the CNI path reads it). */
  onWorkloadMtu?(mtu: number): void;
}

export interface RouteReconcilerOptions {
  readonly nodename: string;
  readonly driver: KernelDriver;
  readonly log: Logger;
  readonly hooks?: ReconcilerHooks;
  /** Resync interval unless FelixConfiguration routeRefreshInterval says otherwise. */
  readonly defaultRefreshMs?: number;
  readonly now?: () => Date;
}

export class RouteReconciler {
  readonly view: ClusterView;
  private inSync = false;
  private running = false;
  private again: 'no' | 'incremental' | 'full' = 'no';
  private lastFullAt = 0;
  /** The next pass must re-read the kernel (first pass, or the last one failed). */
  private needFull = true;
  private kernel: KernelState = EMPTY_KERNEL;
  private natMark: string | undefined;
  private host: HostFacts = {};
  private desired: DesiredState | undefined;
  private resyncs = 0;
  private repaired = 0;
  private lastResync: Date | undefined;
  private lastApply: Date | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};
  private prefetched: KernelRead | undefined;
  private holdLearned = false;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RouteReconcilerOptions) {
    this.view = new ClusterView(opts.nodename);
  }

  /**
   * Starts reading the kernel while the datastore sync runs, so the first pass only computes and
   * applies. Call just before starting the datastore watch.
   */
  start(): void {
    const read = this.readKernel();
    this.prefetched = read;
    // A failed prefetch is retried by the first pass itself.
    read.routes.catch(() => this.prefetched === read && (this.prefetched = undefined));
    read.natMark.catch(() => this.prefetched === read && (this.prefetched = undefined));
  }

  /** Datastore changes (value undefined = deleted). */
  onUpdates(updates: readonly { readonly key: string; readonly value: unknown }[]): void {
    const refresh = this.refreshMs();
    let relevant = false;
    for (const u of updates) {
      relevant = this.view.applyKV(u.key, u.value) || relevant;
      const problem = this.view.problems.get(u.key);
      if (problem) this.opts.log.warn('ignoring a resource the route reconciler cannot use', { key: u.key, problem });
    }
    if (relevant) this.schedule('incremental');
    // A new routeRefreshInterval takes effect now, not after the old interval ran out.
    if (this.refreshMs() !== refresh && this.lastFullAt !== 0) this.armTimer();
  }

  /**
   * The datastore view is complete (or, false, being re-listed): passes wait while it is not.
   * Becoming in sync runs the first (full) pass, or catches up with what arrived meanwhile.
   */
  setInSync(inSync: boolean): void {
    const became = inSync && !this.inSync;
    this.inSync = inSync;
    if (became) this.schedule(this.lastFullAt === 0 ? 'full' : 'incremental');
  }

  /**
   * Routes learned elsewhere (BGP) as one more input. `converged` false: the source is still
   * restarting (waiting for its peers' End-of-RIB), so routes it does not list yet are kept.
   */
  setLearned(routes: readonly LearnedRoute[], converged = true): void {
    this.view.setLearned(routes);
    if (converged) this.releaseHold();
    this.schedule('incremental');
  }

  /**
   * A learned-route source (the BGP daemon) is expected: until it says it has converged (or
   * `maxMs` passed) direct routes already in the kernel are kept even when nothing asks for
   * them, so that restarting the node does not cut the flows those routes carry.
   */
  expectLearned(maxMs: number): void {
    if (this.holdLearned) return;
    this.holdLearned = true;
    this.holdTimer = setTimeout(() => {
      this.opts.log.warn('no converged learned routes in time: routes nobody asks for are removed now', { waitedMs: maxMs });
      this.releaseHold();
      this.schedule('incremental');
    }, maxMs);
    this.holdTimer.unref();
  }

  private releaseHold(): void {
    clearTimeout(this.holdTimer);
    this.holdLearned = false;
  }

  /** Runs a full resync now (and whenever the refresh interval passes). */
  resync(): Promise<void> {
    this.schedule('full');
    return this.idle;
  }

  /** Resolves when no pass is running or queued. */
  settled(): Promise<void> {
    return this.idle;
  }

  private refreshMs(): number {
    return this.view.settings().routeRefreshMs ?? this.opts.defaultRefreshMs ?? DEFAULT_ROUTE_REFRESH_MS;
  }

  private armTimer(after?: number): void {
    clearTimeout(this.timer);
    const ms = after ?? this.refreshMs();
    if (ms <= 0 || this.stopped) return;
    this.timer = setTimeout(() => this.schedule('full'), ms);
    this.timer.unref();
  }

  private schedule(kind: 'incremental' | 'full'): void {
    if (this.stopped || !this.inSync) return;
    if (kind === 'full') this.again = 'full';
    else if (this.again === 'no') this.again = 'incremental';
    if (this.running) return;
    this.running = true;
    this.idle = new Promise((r) => (this.markIdle = r));
    // Let a burst of watch events land before computing (they arrive in the same tick or close).
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.again !== 'no' && !this.stopped) {
        const full = this.again === 'full' || this.needFull;
        this.again = 'no';
        this.needFull = false;
        await this.pass(full).catch((e: Error) => {
          this.lastError = e.message;
          this.opts.log.error('route reconciliation failed; the next pass re-reads the kernel', { error: e.message });
          this.needFull = true;
        });
        // After a failure, try again soon rather than a whole refresh interval later.
        if (this.needFull) this.armTimer(Math.min(RETRY_MS, this.refreshMs() || RETRY_MS));
        else if (full) this.armTimer();
      }
    } finally {
      this.running = false;
      this.markIdle();
    }
  }

  private async pass(full: boolean): Promise<void> {
    const started = performance.now();
    const me = this.view.nodes.get(this.opts.nodename);
    const { driver } = this.opts;
    const periodic = full && this.lastFullAt > 0;
    let natRead: Promise<string> | undefined;
    if (full || this.natMark === undefined) {
      // The first pass takes the read started with the datastore sync (it needs no cluster data).
      const read = this.prefetched ?? this.readKernel();
      this.prefetched = undefined;
      const { kernel, links } = await read.routes;
      this.kernel = kernel;
      this.host = hostFactsFrom(links, me?.ipv4?.address, me?.ipv6?.address);
      // `nft` is the slowest reader to start: the routes are planned and applied without waiting
      // for it, and the NAT table's marker is awaited only for the NAT step.
      natRead = read.natMark;
    } else if ((me?.ipv4 && !this.host.underlay4) || (me?.ipv6 && !this.host.underlay6)) {
      this.host = await driver.hostFacts(me?.ipv4?.address, me?.ipv6?.address);
    }
    const read = performance.now();
    const desired = this.holdLearned ? keepKernelDirect(computeDesired(this.view, this.host), this.kernel) : computeDesired(this.view, this.host);
    if (desired.workloadMtu !== this.desired?.workloadMtu) this.opts.hooks?.onWorkloadMtu?.(desired.workloadMtu);
    this.desired = desired;
    const plan = planApply(desired, this.kernel);
    const planned = performance.now();
    // Until the apply's outcome is known the cache is not to be trusted: a pass that throws
    // half-way (a batch that could not run) leaves needFull set, and the next pass reads the kernel.
    this.needFull = true;
    const failed: FailedLine[] = plan.changes > 0 ? await driver.apply(plan) : [];
    if (natRead) this.natMark = await natRead;
    const wantMark = natComment(desired.nat);
    let natChanged = 0;
    if (wantMark !== this.natMark) {
      await driver.applyNat(renderNat(desired.nat));
      this.natMark = wantMark;
      natChanged = 1;
    }
    const applied = performance.now();
    const now = (this.opts.now ?? (() => new Date()))();
    if (full) {
      this.resyncs++;
      this.lastResync = now;
      this.lastFullAt = now.getTime();
    }
    const changes = plan.changes + natChanged;
    const repairedNow = periodic ? changes : 0;
    this.repaired += repairedNow;
    if (changes > 0) this.lastApply = now;
    if (failed.length > 0) {
      this.lastError = `${failed.length} kernel change(s) failed, first: ${failed[0]!.line}: ${failed[0]!.error}`;
      this.opts.log.warn('some route changes failed; the next pass re-reads the kernel', { failed: failed.slice(0, 5) });
    } else {
      // The kernel now holds what the plan asked for: the next incremental pass diffs against it
      // without reading the kernel again.
      this.kernel = kernelAfter(desired);
      this.needFull = false;
      if (changes > 0) this.lastError = undefined;
    }
    const seconds = (applied - started) / 1000;
    const phases = { read: (read - started) / 1000, plan: (planned - read) / 1000, apply: (applied - planned) / 1000 };
    if (changes > 0 || full) this.opts.hooks?.onPass?.({ full, changes, repaired: repairedNow, failed: failed.length, seconds, phases });
    if (changes > 0) this.opts.log.info('routes reconciled', { full, changes, repaired: repairedNow, routes: desired.routes.length, ms: Math.round(seconds * 1000) });
  }

  /** Starts reading the kernel: the routes' tables (with the links) and, apart, the NAT marker. */
  private readKernel(): KernelRead {
    const { driver } = this.opts;
    const read = { routes: driver.read(), natMark: driver.natComment() };
    // Either may fail while the other is awaited: the failure surfaces where it is awaited.
    read.routes.catch(() => {});
    read.natMark.catch(() => {});
    return read;
  }

  status(): ReconcilerStatus {
    const d = this.desired;
    return {
      inSync: this.inSync,
      routes: d?.routes.length ?? 0,
      blackholes: d?.routes.filter((r) => r.kind === 'blackhole').length ?? 0,
      neighbours: d?.neighbours.length ?? 0,
      fdb: d?.fdb.length ?? 0,
      devices: (d?.devices ?? []).map((x) => ({ name: x.name, mtu: x.mtu, vni: x.vni, address: x.address })),
      ...(d ? { workloadMtu: d.workloadMtu } : {}),
      resyncs: this.resyncs,
      repaired: this.repaired,
      ...(this.lastResync ? { lastResync: this.lastResync.toISOString() } : {}),
      ...(this.lastApply ? { lastApply: this.lastApply.toISOString() } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      problems: [...this.view.problems].map(([k, why]) => `${k}: ${why}`),
    };
  }

  /** The routes this node programs now (for `tabbyctl node status` and tests). */
  desiredState(): DesiredState | undefined {
    return this.desired;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.holdTimer);
  }
}

/** The desired state plus the kernel's direct routes it does not mention (held learned routes). */
function keepKernelDirect(desired: DesiredState, kernel: KernelState): DesiredState {
  const have = new Set(desired.routes.map((r) => r.dst));
  const kept = kernel.routes.filter((r) => r.kind === 'direct' && !have.has(r.dst));
  if (kept.length === 0) return desired;
  return { ...desired, routes: [...desired.routes, ...kept].sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0)) };
}
