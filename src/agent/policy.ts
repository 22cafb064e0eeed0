// The agent's policy wiring (Felix's calc graph → dataplane path, DESIGN.md §6): a typed
// ClusterSyncer over the policy kinds feeds the PolicyGraph for THIS node (its workload and host
// endpoints get plans; every endpoint feeds the IP sets), whose events the nftables policy
// dataplane turns into one `nft -f` transaction per batch. All decisions live in src/policy and
// src/dataplane/nft-policy; this file only sequences them and reports.
//
// Invariants:
// - Nothing reaches the kernel before the syncer's first InSync: the snapshot is rendered, then
//   one sync compares table `inet tabby` with it and applies only the repair (none when an
//   earlier agent left it right: a restart keeps enforcing, established flows survive).
// - Kernel work runs one task at a time in arrival order (one queue); changes arriving while a
//   transaction runs are batched into the next one (group commit). A failed transaction marks
//   the table for repair and the next task (or a retry a second later) syncs first.
// - A periodic drift check (FelixConfiguration nftablesRefreshInterval, node.<name> over default;
//   default 90 s, 0 disables) lists only our table and repairs without flushing.
// - Counters are read from one `nft -j list table inet tabby` on a timer or on request, never on
//   the apply path; per-rule counters keep growing across chain rewrites (a reset is added on).
// - Denied flows (and Calico Log rules) are read from the table's NFLOG group by tabby-nflog
//   and logged as JSON records with their tier, policy and rule (component "flowlog"); a reader
//   that dies is started again 5 s later. Without the binary, the agent runs without flow logs
//   and says so once.
// - `programWorkload` (the CNI ADD hook) feeds a just-written WorkloadEndpoint and resolves once
//   its chains and dispatch entries are in the kernel, so a pod is isolated before its first packet.
// - Host endpoints are resolved onto this node's interfaces (by name, or by an expectedIPs
//   address for one naming none) from the kernel's addresses: read before the first sync, again
//   when `ip monitor` reports an address or link change, and on every drift check; a change of
//   hands is one transaction like any other (through the same queue).
// - appliedRevision is the datastore (etcd) revision of the newest syncer update whose effect is
//   in the kernel: raised after the transaction carrying it committed (or, for an update that
//   changed nothing in the kernel, when its turn in the queue came), or after a sync that
//   rendered it succeeded. It never goes back; a failed transaction does not raise it.
// - VXLAN between nodes is accepted ahead of host endpoint policy: the policy kinds include
//   Nodes and IP pools, and the graph's overlay-updated event is rendered like any other.

import { type ClusterUpdate, ClusterSyncer } from '../client/index.js';
import type { Datastore } from '../datastore/index.js';
import {
  DeniedFlowLog,
  type DeniedFlowRecord,
  HostInterfaceWatcher,
  type HostInterfaces,
  type NftRunner,
  NftPolicyRenderer,
  PolicyDataplane,
  hostChain,
  nftRunner,
  policyChain,
  profileChain,
  readHostInterfaces,
  sameHostInterfaces,
  workloadChain,
} from '../dataplane/index.js';
import { STORED, type StoredKindName, type FelixConfiguration, decodeStored, parseResourceKey } from '../model/index.js';
import { type GraphEvent, POLICY_INPUT_KINDS, PolicyGraph, type ResourceUpdate } from '../policy/index.js';
import { parseDuration } from '../util/index.js';
import type { Logger } from '../util/log.js';
import { Counter, Gauge, type Registry } from './metrics.js';

/** The stored kinds the policy engine reads (its KubernetesNetworkPolicy is the model's K8sNetworkPolicy). */
export const POLICY_KINDS: readonly StoredKindName[] = POLICY_INPUT_KINDS.map((k): StoredKindName => (k === 'KubernetesNetworkPolicy' ? 'K8sNetworkPolicy' : k));

export const DEFAULT_POLICY_REFRESH_MS = 90_000;
export const DEFAULT_COUNTER_INTERVAL_MS = 10_000;

export interface PolicyStatus {
  readonly inSync: boolean;
  /** Full syncs (start and drift checks) that completed. */
  readonly syncs: number;
  /** Delta transactions applied. */
  readonly deltas: number;
  /** Drift checks that found something to repair. */
  readonly repaired: number;
  readonly failures: number;
  readonly endpoints: number;
  readonly policies: number;
  readonly refreshMs: number;
  readonly lastSync?: string;
  readonly lastApply?: string;
  readonly lastError?: string;
  /** See PolicyStats.appliedRevision. */
  readonly appliedRevision: number;
  readonly appliedAt?: string;
}

/** One rule's counters as `tabbyctl policy stats` prints them. */
export interface RuleStat {
  readonly tier: string;
  /** Policy or profile ID (np/ns/name, gnp/name, knp/ns/name, or a profile name …); "" for an endpoint's own rules. */
  readonly policy: string;
  readonly kind: 'policy' | 'profile' | 'endpoint';
  readonly direction: 'ingress' | 'egress';
  /** Rule index in the policy (Calico's), or undefined for an endpoint chain's rule. */
  readonly rule?: number;
  readonly action: string;
  /** For endpoint rules: the interface and what the rule is (end of tier, no policy allowed). */
  readonly endpoint?: string;
  readonly note?: string;
  readonly packets: number;
  readonly bytes: number;
}

export interface PolicyStats {
  readonly node: string;
  readonly at: string;
  readonly rules: readonly RuleStat[];
  /** Datastore revision of the newest policy update now in the kernel (0 before the first sync). */
  readonly appliedRevision: number;
  /** When appliedRevision last rose (ISO time); absent before the first sync. */
  readonly appliedAt?: string;
}

export interface PolicyWiring {
  status(): PolicyStatus;
  /** Resolves after the first sync reached the kernel. */
  firstSync(): Promise<void>;
  /** The CNI ADD hook: feeds a WorkloadEndpoint just written and waits for its chains in the kernel. */
  programWorkload(key: string, value: unknown, timeoutMs?: number): Promise<void>;
  /** Per-rule counters now (one listing of table inet tabby). */
  stats(): Promise<PolicyStats>;
  stop(): Promise<void>;
}

export class PolicyProgramError extends Error {
  override readonly name = 'PolicyProgramError';
}

/** The policy engine's update for a typed syncer update. */
export function policyUpdateOf(u: ClusterUpdate): ResourceUpdate | undefined {
  if (!(POLICY_KINDS as readonly string[]).includes(u.kind)) return undefined;
  const kind = STORED[u.kind as StoredKindName];
  const ns = 'namespace' in u ? u.namespace : undefined;
  return { kind: kind.kind, apiVersion: kind.apiVersion, key: ns === undefined ? u.name : `${ns}/${u.name}`, value: u.value as ResourceUpdate['value'] };
}

/** nftablesRefreshInterval for `node`: node.<node> over default; undefined when unset. Pure. */
export function refreshIntervalOf(configs: ReadonlyMap<string, FelixConfiguration>, node: string): number | undefined {
  for (const name of [`node.${node}`, 'default']) {
    const v = configs.get(name)?.spec?.nftablesRefreshInterval;
    if (v !== undefined) return parseDuration(String(v), `FelixConfiguration ${name} spec.nftablesRefreshInterval`);
  }
  return undefined;
}

type Listing = { nftables?: Record<string, Record<string, unknown>>[] };
type ChainInfo = { kind: RuleStat['kind']; tier: string; policy: string; direction: RuleStat['direction']; actions: Map<number, string>; endpoint?: string };

/**
 * Per-rule counters from `nft -j list table inet tabby`: rules of one policy rule (several nft
 * rules when it is split per family or port) are summed. Pure.
 */
export function ruleStats(listing: string, chains: ReadonlyMap<string, ChainInfo>): (RuleStat & { key: string })[] {
  const doc = JSON.parse(listing) as Listing;
  const out = new Map<string, RuleStat & { key: string }>();
  for (const item of doc.nftables ?? []) {
    const r = item['rule'] as { chain: string; comment?: string; expr?: Record<string, { packets: number; bytes: number }>[] } | undefined;
    if (r === undefined) continue;
    const info = chains.get(r.chain);
    const counter = r.expr?.find((e) => e['counter'] !== undefined)?.['counter'];
    if (info === undefined || counter === undefined) continue;
    const label = (r.comment ?? '').replace(/ #[0-9a-f]+$/, '');
    let rule: number | undefined;
    let action: string;
    let note: string | undefined;
    if (info.kind === 'endpoint') {
      action = 'Deny';
      note = label;
    } else {
      const m = / (\d+)$/.exec(label);
      if (m === null) continue;
      rule = Number(m[1]);
      action = info.actions.get(rule) ?? '?';
    }
    const key = `${r.chain}|${rule ?? label}`;
    const prev = out.get(key);
    if (prev !== undefined) {
      out.set(key, { ...prev, packets: prev.packets + counter.packets, bytes: prev.bytes + counter.bytes });
      continue;
    }
    const endOfTier = note === undefined ? null : /^end of tier (\S+)$/.exec(note);
    out.set(key, {
      key,
      tier: endOfTier ? endOfTier[1]! : info.tier,
      policy: info.policy,
      kind: info.kind,
      direction: info.direction,
      ...(rule === undefined ? {} : { rule }),
      action,
      ...(info.endpoint === undefined ? {} : { endpoint: info.endpoint }),
      ...(note === undefined ? {} : { note }),
      packets: counter.packets,
      bytes: counter.bytes,
    });
  }
  return [...out.values()];
}

export interface PolicyDeps {
  readonly ds: Datastore;
  readonly nodename: string;
  readonly log: Logger;
  readonly registry: Registry;
  readonly nft?: NftRunner;
  /** Drift-check interval when FelixConfiguration sets none. */
  readonly refreshMs?: number;
  readonly counterIntervalMs?: number;
  /** Denied-flow logs: false turns them off; `netns` runs the reader in a named namespace (tests); `onRecord` also sees each record. */
  readonly flowLog?: false | { readonly netns?: string; readonly binary?: string; readonly onRecord?: (r: DeniedFlowRecord) => void };
  /** Host interfaces for resolving host endpoints: false turns reading off (named interfaces only); `netns` reads a named namespace (tests). */
  readonly hostInterfaces?: false | { readonly netns?: string };
}

export function startPolicy(deps: PolicyDeps): PolicyWiring {
  const log = deps.log.child({ component: 'policy' });
  const { registry } = deps;
  const mSyncs = registry.register(new Counter('tabby_policy_resyncs_total', 'Full policy syncs (table inet tabby listed and compared), including the first at start.'));
  const mRepaired = registry.register(new Counter('tabby_policy_drift_repaired_total', 'Policy syncs that found table inet tabby drifted and repaired it.'));
  const mDeltas = registry.register(new Counter('tabby_policy_transactions_total', 'nft transactions the policy dataplane applied, by kind (delta, full, repair).'));
  const mFailures = registry.register(new Counter('tabby_policy_apply_failures_total', 'Policy transactions nft refused (the table is repaired by the next sync).'));
  const mPackets = registry.register(new Counter('tabby_policy_packets_total', 'Packets that hit policy rules on this node, by tier, policy, direction and action (from the nft rule counters).'));
  const mBytes = registry.register(new Counter('tabby_policy_bytes_total', 'Bytes that hit policy rules on this node, by tier, policy, direction and action (from the nft rule counters).'));
  const mEndpoints = registry.register(new Gauge('tabby_policy_endpoints', 'Endpoints of this node with policy programmed, by kind.'));
  const mFlowLogs = registry.register(new Counter('tabby_policy_flow_logs_total', 'Denied flows (action deny) and Calico Log rule hits (action log) logged by this node, rate-limited per rule.'));
  const mApplied = registry.register(new Gauge('tabby_policy_applied_revision', 'Datastore (etcd) revision of the newest policy update whose effect is in the kernel.'));
  for (const c of [mSyncs, mRepaired, mFailures]) c.inc({}, 0);
  mApplied.set({}, 0);

  const graph = new PolicyGraph({ localNode: deps.nodename });
  const dp = new PolicyDataplane(new NftPolicyRenderer(), deps.nft ?? nftRunner());
  const felix = new Map<string, FelixConfiguration>();
  let inSync = false;
  let synced = false;
  /** A sync task has begun: from then on events go through the queue (after it), not into its listing's diff. */
  let syncStarted = false;
  let stopped = false;
  let needsRepair = false;
  let syncs = 0;
  let deltas = 0;
  let repaired = 0;
  let failures = 0;
  let lastSync: string | undefined;
  let lastApply: string | undefined;
  let lastError: string | undefined;
  /** Newest update revision handed to the renderer (a sync that succeeds puts it in the kernel). */
  let renderedRevision = 0;
  let appliedRevision = 0;
  let appliedAt: string | undefined;
  const markApplied = (revision: number): void => {
    if (revision <= appliedRevision) return;
    appliedRevision = revision;
    appliedAt = new Date().toISOString();
    mApplied.set({}, revision);
  };
  let refreshMs = deps.refreshMs ?? DEFAULT_POLICY_REFRESH_MS;
  let queue: Promise<unknown> = Promise.resolve();
  let resolveFirst!: () => void;
  const first = new Promise<void>((r) => (resolveFirst = r));
  let driftTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const lastCounts = new Map<string, { packets: number; bytes: number }>();
  let flowLogTimer: NodeJS.Timeout | undefined;
  const flowLog = startFlowLog();
  const ifaceOpts = deps.hostInterfaces === false ? undefined : (deps.hostInterfaces ?? {});
  let hostIfaces: HostInterfaces | undefined;

  function startFlowLog(): DeniedFlowLog | undefined {
    if (deps.flowLog === false) return undefined;
    const opts = deps.flowLog ?? {};
    const flows = log.child({ component: 'flowlog' });
    const reader = new DeniedFlowLog({
      renderer: dp.renderer,
      ...(opts.netns === undefined ? {} : { netns: opts.netns }),
      ...(opts.binary === undefined ? {} : { binary: opts.binary }),
      onRecord: (r) => {
        mFlowLogs.inc({ action: r.action });
        flows.info(r.action === 'deny' ? 'denied flow' : 'logged flow', { ...r });
        opts.onRecord?.(r);
      },
      onError: (err) => {
        flows.warn('flow log reader failed; starting it again in 5 s', { error: err.message });
        again();
      },
    });
    const again = (): void => {
      if (stopped || flowLogTimer !== undefined) return;
      flowLogTimer = setTimeout(() => {
        flowLogTimer = undefined;
        if (!stopped) begin();
      }, 5000);
      flowLogTimer.unref();
    };
    const begin = (): void => {
      reader.start().then(
        () => flows.debug('flow log reader bound', { group: dp.renderer.nflogGroup }),
        (err: Error) => {
          if (/not found/.test(err.message)) flows.warn('no denied-flow logs on this node', { error: err.message });
          else {
            flows.warn('flow log reader did not start; trying again in 5 s', { error: err.message });
            again();
          }
        },
      );
    };
    begin();
    return reader;
  }

  const enqueue = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  const fail = (what: string, err: unknown): void => {
    failures++;
    mFailures.inc();
    needsRepair = true;
    lastError = `${what}: ${(err as Error).message}`;
    log.error('policy dataplane change failed; the table is repaired by the next sync', { what, error: err as Error });
    if (retryTimer === undefined && !stopped) {
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        void enqueue(() => sync('retry'));
      }, 1000);
      retryTimer.unref();
    }
  };

  const countEndpoints = (): number => {
    let n = new Set(dp.renderer.hostInterfaceBindings().values()).size;
    for (const e of graph.allEndpoints()) if (e.kind === 'workload' && e.node === deps.nodename && e.interfaceName !== undefined) n++;
    return n;
  };

  async function sync(why: string): Promise<void> {
    if (stopped) return;
    syncStarted = true;
    const t0 = performance.now();
    try {
      const rendered = renderedRevision;
      const script = await dp.sync();
      needsRepair = false;
      markApplied(rendered);
      syncs++;
      mSyncs.inc();
      lastSync = new Date().toISOString();
      const kind = dp.applied.at(-1)?.script === script ? dp.applied.at(-1)!.kind : 'repair';
      if (script !== '') mDeltas.inc({ kind });
      if (script !== '' && synced && kind === 'repair') {
        repaired++;
        mRepaired.inc();
        log.warn('table inet tabby had drifted; repaired', { why, lines: script.split('\n').length - 1 });
      }
      if (!synced) {
        synced = true;
        log.info('policy programmed', { why, kind: script === '' ? 'nothing to change' : kind, lines: script === '' ? 0 : script.split('\n').length - 1, endpoints: countEndpoints(), ms: Math.round(performance.now() - t0) });
        resolveFirst();
      }
      lastError = undefined;
    } catch (err) {
      fail(`sync (${why})`, err);
    }
  }

  async function applyEvents(events: readonly GraphEvent[], revision: number): Promise<void> {
    if (stopped) return;
    if (events.length === 0) {
      // Changed nothing in the kernel: applied once every earlier change is (its turn in the queue).
      renderedRevision = Math.max(renderedRevision, revision);
      if (!needsRepair) markApplied(revision);
      return;
    }
    if (needsRepair) await sync('after a failed change');
    // Raised after that sync: it must not claim this batch, whose events it did not render.
    renderedRevision = Math.max(renderedRevision, revision);
    try {
      const script = await dp.apply(events);
      if (!needsRepair) markApplied(revision);
      if (script !== '') {
        deltas++;
        mDeltas.inc({ kind: 'delta' });
        lastApply = new Date().toISOString();
        log.debug('policy delta applied', { events: events.length, lines: script.split('\n').length - 1 });
      }
    } catch (err) {
      fail('delta', err);
      throw err;
    }
  }

  /** Reads the host's interfaces; when they changed, host endpoints are resolved again (a queue task). */
  async function refreshInterfaces(why: string): Promise<void> {
    if (ifaceOpts === undefined || stopped) return;
    let now: Map<string, string[]>;
    try {
      now = await readHostInterfaces(ifaceOpts.netns);
    } catch (err) {
      log.warn('cannot read the host interfaces; address-only host endpoints stay as they were', { why, error: (err as Error).message });
      return;
    }
    if (sameHostInterfaces(hostIfaces, now)) return;
    hostIfaces = now;
    if (!syncStarted) {
      dp.renderer.setHostInterfaces(now);
      return;
    }
    try {
      const script = await dp.setHostInterfaces(now);
      if (script !== '') {
        deltas++;
        mDeltas.inc({ kind: 'delta' });
        lastApply = new Date().toISOString();
        log.info('host endpoints resolved onto interfaces again', { why, interfaces: Object.fromEntries(dp.renderer.hostInterfaceBindings()) });
      }
    } catch (err) {
      fail('host interfaces', err);
    }
  }
  const ifaceWatcher =
    ifaceOpts === undefined
      ? undefined
      : new HostInterfaceWatcher({
          ...(ifaceOpts.netns === undefined ? {} : { netns: ifaceOpts.netns }),
          onChange: () => void enqueue(() => refreshInterfaces('address or link change')),
          onError: (err) => log.warn('host interface watch', { error: err.message }),
        });

  const armDrift = (): void => {
    if (driftTimer !== undefined) clearInterval(driftTimer);
    driftTimer = undefined;
    if (refreshMs > 0 && !stopped) {
      driftTimer = setInterval(() => {
        void enqueue(() => refreshInterfaces('periodic drift check'));
        void enqueue(() => sync('periodic drift check'));
      }, refreshMs);
      driftTimer.unref();
    }
  };

  const reportProblems = (events: readonly GraphEvent[]): void => {
    for (const e of events) if (e.type === 'problem') log.warn('ignoring a resource the policy engine cannot use', { kind: e.kind, key: e.key, problem: e.message });
  };

  const onGraphEvents = (events: GraphEvent[], revision: number): Promise<void> => {
    reportProblems(events);
    if (!syncStarted) {
      renderedRevision = Math.max(renderedRevision, revision);
      // Before the first sync nothing is in the kernel yet: the renderer only builds the desired
      // table, which the first sync compares with what is there. Once a sync has begun, changes
      // wait in the queue behind it (a change rendered while its script is applied would be lost).
      dp.renderer.apply(events);
      return Promise.resolve();
    }
    return submit(events, revision);
  };

  // Group commit: changes that arrive while a transaction runs go out together in the next one
  // (concurrent CNI ADDs on a busy node pay for one `nft -f`, not one each), in arrival order.
  let batch: GraphEvent[] | undefined;
  let batchRevision = 0;
  let batchDone: Promise<void> | undefined;
  /** `revision`: the datastore revision of the updates these events came from (0: none, e.g. CNI ADD). */
  function submit(events: readonly GraphEvent[], revision = 0): Promise<void> {
    if (batch === undefined) {
      const mine: GraphEvent[] = [];
      batch = mine;
      batchRevision = 0;
      batchDone = enqueue(async () => {
        batch = undefined;
        const revision = batchRevision;
        await applyEvents(mine, revision);
        if (needsRepair) throw new PolicyProgramError(lastError ?? 'the policy table needs repair');
      });
    }
    batch.push(...events);
    batchRevision = Math.max(batchRevision, revision);
    return batchDone!;
  }

  const syncer = new ClusterSyncer(
    deps.ds,
    {
      onStatus(status) {
        inSync = status === 'InSync';
        if (inSync && !synced) void enqueue(() => sync('start'));
      },
      onUpdates(updates) {
        const mapped: ResourceUpdate[] = [];
        let revision = 0;
        for (const u of updates) {
          revision = Math.max(revision, u.revision);
          if (u.kind === 'FelixConfiguration') {
            if (u.value === undefined) felix.delete(u.name);
            else felix.set(u.name, u.value);
            try {
              const ms = refreshIntervalOf(felix, deps.nodename) ?? deps.refreshMs ?? DEFAULT_POLICY_REFRESH_MS;
              if (ms !== refreshMs) {
                refreshMs = ms;
                log.info('policy drift-check interval', { ms });
                armDrift();
              }
            } catch (err) {
              log.warn('ignoring nftablesRefreshInterval', { error: (err as Error).message });
            }
          }
          const m = policyUpdateOf(u);
          if (m !== undefined) mapped.push(m);
        }
        // Every update counts for appliedRevision, even one that maps to nothing (FelixConfiguration).
        void onGraphEvents(mapped.length > 0 ? graph.apply(mapped) : [], revision).catch(() => undefined);
      },
      onInvalid(err) {
        log.warn('ignoring a stored value that does not decode', { key: err.key, error: err.message });
      },
      onError(err) {
        log.warn('policy syncer: datastore trouble, retrying', { error: err.message });
      },
    },
    { kinds: POLICY_KINDS },
  );

  /** Chain name → what its rules are, for the counters. */
  const chainInfo = (): Map<string, ChainInfo> => {
    const out = new Map<string, ChainInfo>();
    for (const p of graph.allPolicies()) {
      if (p.staged) continue;
      for (const [d, dir, rules] of [['i', 'ingress', p.ingress], ['o', 'egress', p.egress]] as const) {
        out.set(policyChain(p.id, d), { kind: 'policy', tier: p.tier, policy: p.id, direction: dir, actions: new Map(rules.map((r) => [r.index, r.action])) });
      }
    }
    const profiles = new Set<string>();
    for (const e of graph.allEndpoints()) {
      for (const name of e.profiles) profiles.add(name);
      if (e.node !== deps.nodename || e.interfaceName === undefined || e.kind !== 'workload') continue;
      for (const [d, dir] of [['i', 'ingress'], ['o', 'egress']] as const) {
        out.set(workloadChain(e.interfaceName, d), { kind: 'endpoint', tier: '', policy: '', direction: dir, actions: new Map(), endpoint: `${e.interfaceName} (${e.namespace === undefined ? '' : `${e.namespace}/`}${e.pod ?? e.name})` });
      }
    }
    // Host endpoints by the interface they hold (`*`: the all-interfaces endpoint's chains).
    for (const [iface, id] of dp.renderer.hostInterfaceBindings()) {
      const name = graph.endpoint(id)?.name ?? id;
      for (const [d, dir] of [['i', 'ingress'], ['o', 'egress']] as const) {
        out.set(hostChain(iface, d), { kind: 'endpoint', tier: '', policy: '', direction: dir, actions: new Map(), endpoint: `${iface === '*' ? 'all interfaces' : iface} (${name})` });
      }
    }
    for (const name of profiles) {
      const prof = graph.profile(name);
      if (prof === undefined) continue;
      for (const [d, dir, rules] of [['i', 'ingress', prof.ingress], ['o', 'egress', prof.egress]] as const) {
        out.set(profileChain(prof.id, d), { kind: 'profile', tier: '', policy: name, direction: dir, actions: new Map(rules.map((r) => [r.index, r.action])) });
      }
    }
    return out;
  };

  async function readStats(): Promise<PolicyStats> {
    const listing = await dp.listTable();
    const rules = listing === undefined ? [] : ruleStats(listing, chainInfo());
    // Prometheus counters: per rule, what grew since the last read (a rewritten chain restarts
    // its counters from 0: then all of the new value is growth).
    for (const r of rules) {
      const prev = lastCounts.get(r.key);
      const grownPackets = prev === undefined || r.packets < prev.packets ? r.packets : r.packets - prev.packets;
      const grownBytes = prev === undefined || r.bytes < prev.bytes ? r.bytes : r.bytes - prev.bytes;
      lastCounts.set(r.key, { packets: r.packets, bytes: r.bytes });
      const labels = { tier: r.tier, policy: r.kind === 'endpoint' ? `(${r.note ?? 'endpoint'})` : r.policy, direction: r.direction, action: r.action };
      mPackets.inc(labels, grownPackets);
      mBytes.inc(labels, grownBytes);
    }
    const keys = new Set(rules.map((r) => r.key));
    for (const k of lastCounts.keys()) if (!keys.has(k)) lastCounts.delete(k);
    mEndpoints.set({}, countEndpoints());
    return { node: deps.nodename, at: new Date().toISOString(), rules: rules.map(({ key: _key, ...r }) => r), appliedRevision, ...(appliedAt === undefined ? {} : { appliedAt }) };
  }

  const counterTimer = setInterval(() => {
    // Through the queue, like requests: reads never interleave (a late listing would look like a reset).
    if (synced) void enqueue(readStats).catch((err: Error) => log.warn('reading policy counters failed', { error: err.message }));
  }, deps.counterIntervalMs ?? DEFAULT_COUNTER_INTERVAL_MS);
  counterTimer.unref();

  // The interfaces are read before the first sync (queued ahead of it) so it has them.
  void enqueue(() => refreshInterfaces('start'));
  ifaceWatcher?.start();
  syncer.start();
  armDrift();

  const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PolicyProgramError(`${what} did not finish within ${ms} ms`)), ms);
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  };

  return {
    status: () => ({
      inSync: inSync && synced && !needsRepair,
      syncs,
      deltas,
      repaired,
      failures,
      endpoints: countEndpoints(),
      policies: [...graph.allPolicies()].filter((p) => !p.staged).length,
      refreshMs,
      ...(lastSync === undefined ? {} : { lastSync }),
      ...(lastApply === undefined ? {} : { lastApply }),
      ...(lastError === undefined ? {} : { lastError }),
      appliedRevision,
      ...(appliedAt === undefined ? {} : { appliedAt }),
    }),
    firstSync: () => first,
    async programWorkload(key, value, timeoutMs = 10_000) {
      const parsed = parseResourceKey(key);
      if (parsed === undefined || parsed.namespace === undefined) throw new PolicyProgramError(`${key} is not a WorkloadEndpoint key`);
      const wep = decodeStored(STORED.WorkloadEndpoint, key, value);
      const started = Date.now();
      await withTimeout(first, timeoutMs, 'the first policy sync (waiting for the datastore to be in sync)');
      const update: ResourceUpdate = { kind: 'WorkloadEndpoint', apiVersion: STORED.WorkloadEndpoint.apiVersion, key: `${parsed.namespace}/${parsed.name}`, value: wep as unknown as ResourceUpdate['value'] };
      const events = graph.apply([update]);
      reportProblems(events);
      const left = Math.max(1, timeoutMs - (Date.now() - started));
      // Queued behind every earlier change: when it resolves, the endpoint's chains, its dispatch
      // entries and every earlier change are in the kernel.
      await withTimeout(
        submit(events),
        left,
        `programming policy for WorkloadEndpoint ${parsed.namespace}/${parsed.name}`,
      );
    },
    stats: () => enqueue(readStats),
    async stop() {
      stopped = true;
      clearInterval(counterTimer);
      if (driftTimer !== undefined) clearInterval(driftTimer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (flowLogTimer !== undefined) clearTimeout(flowLogTimer);
      ifaceWatcher?.stop();
      await flowLog?.stop();
      await syncer.stop();
      await queue;
    },
  };
}
