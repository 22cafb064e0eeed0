// The agent's route reconciler wiring (Felix's route and VXLAN managers, DESIGN.md §6): a
// datastore Syncer over pools, Nodes, FelixConfiguration and IPAM blocks feeds the dataplane's
// RouteReconciler and this node's tunnel-address upkeep; passes are counted in the agent's
// metrics. The adapter only translates Syncer updates into (key, value) pairs: all decisions
// live in src/dataplane.

import type { Datastore } from '../datastore/datastore.js';
import { Syncer } from '../datastore/index.js';
import { KernelDriver, type CommandRunner, type LearnedRoute, type ReconcilerStatus, RouteReconciler, TunnelAddresses, WATCH_PREFIXES } from '../dataplane/index.js';
import { tryParseCIDR, tryParseIP } from '../ip/index.js';
import type { TunnelIpam } from '../ipam/index.js';
import type { Logger } from '../util/log.js';
import { Counter, Gauge, Histogram, type Registry } from './metrics.js';

export interface RouteWiring {
  status(): ReconcilerStatus;
  /** The MTU workloads get now (VXLAN or host), once the first pass ran. */
  workloadMtu(): number | undefined;
  /** The BGP daemon's best learned routes (text), whole each time; see RouteReconciler.setLearned. */
  setLearned(routes: readonly { readonly dst: string; readonly gateway: string }[], converged: boolean): void;
  /** Resolves after the first full resync (readiness can be reported at once). */
  firstResync(): Promise<void>;
  stop(): Promise<void>;
}

export function startRoutes(deps: { ds: Datastore; ipam: TunnelIpam; nodename: string; run: CommandRunner; log: Logger; registry: Registry; expectLearned?: boolean }): RouteWiring {
  const { registry, log } = deps;
  const programmed = registry.register(new Gauge('tabby_routes_programmed', 'Routes, neighbours and FDB entries the route reconciler holds in the kernel, by kind.'));
  const resyncs = registry.register(new Counter('tabby_route_resyncs_total', 'Full route resyncs (kernel re-read and diffed), including the first at start.'));
  const repaired = registry.register(new Counter('tabby_route_drift_repaired_total', 'Kernel entries a periodic resync found missing or different and put back.'));
  const failures = registry.register(new Counter('tabby_route_apply_failures_total', 'Kernel changes that failed (retried on the next resync).'));
  const applyTime = registry.register(new Histogram('tabby_route_apply_duration_seconds', 'Time of one reconciliation pass that reached the kernel, by kind (full or incremental).'));
  resyncs.inc({}, 0);
  repaired.inc({}, 0);
  failures.inc({}, 0);
  let mtu: number | undefined;
  let resynced!: () => void;
  const firstResync = new Promise<void>((r) => (resynced = r));
  const refreshGauges = () => {
    const s = reconciler.status();
    programmed.set({ kind: 'route' }, s.routes - s.blackholes);
    programmed.set({ kind: 'blackhole' }, s.blackholes);
    programmed.set({ kind: 'neighbour' }, s.neighbours);
    programmed.set({ kind: 'fdb' }, s.fdb);
  };
  const reconciler: RouteReconciler = new RouteReconciler({
    nodename: deps.nodename,
    driver: new KernelDriver(deps.run),
    log: log.child({ component: 'routes' }),
    hooks: {
      onPass(p) {
        if (p.full) {
          resyncs.inc();
          resynced();
        }
        if (p.repaired > 0) repaired.inc({}, p.repaired);
        if (p.failed > 0) failures.inc({}, p.failed);
        applyTime.observe({ kind: p.full ? 'full' : 'incremental' }, p.seconds);
        refreshGauges();
      },
      onWorkloadMtu(m) {
        mtu = m;
        log.info('workload MTU', { mtu: m });
      },
    },
  });
  const tunnels = new TunnelAddresses({ ds: deps.ds, ipam: deps.ipam, nodename: deps.nodename, log: log.child({ component: 'tunnel' }) });
  // Tunnel addresses are decided on a complete view only (a partial one could lack the pools).
  let synced = false;
  const syncer = new Syncer(deps.ds, WATCH_PREFIXES, {
    onStatusUpdated(status) {
      reconciler.setInSync(status === 'InSync');
      if (status === 'InSync') synced = true;
      if (synced) tunnels.poke(reconciler.view);
    },
    onUpdates(updates) {
      reconciler.onUpdates(updates.map((u) => ({ key: u.key, value: u.type === 'deleted' ? undefined : u.kv.value })));
      if (synced) tunnels.poke(reconciler.view);
    },
    onError(err) {
      log.warn('route syncer: datastore trouble, retrying', { error: err.message });
    },
  });
  // With the BGP daemon on this node, a restart keeps the routes it learned until it converged
  // again (bounded by BIRD's default graceful-restart time).
  if (deps.expectLearned) reconciler.expectLearned(120_000);
  reconciler.start();
  syncer.start();
  return {
    status: () => reconciler.status(),
    workloadMtu: () => mtu,
    setLearned(routes, converged) {
      const parsed: LearnedRoute[] = [];
      for (const r of routes) {
        const dst = tryParseCIDR(r.dst, { lenient: true });
        const gateway = tryParseIP(r.gateway);
        if (dst && gateway && gateway.family === dst.family) parsed.push({ dst, gateway });
        else log.warn('ignoring a learned route that does not parse', { route: r });
      }
      reconciler.setLearned(parsed, converged);
    },
    firstResync: () => firstResync,
    async stop() {
      reconciler.stop();
      await syncer.stop();
    },
  };
}
