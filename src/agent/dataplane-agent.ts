// The dataplane agent: the child process `tabby node` supervises (DESIGN.md §1). It serves the
// CNI socket — every CNI request is handled here, in-process, against the datastore and IPAM —,
// runs the route reconciler and the policy dataplane, and reports its health and metrics to the
// supervisor over IPC.
//
// Readiness: the socket is listening and the datastore answered the last probe (every 10 s).
// STATUS answers code 50 while the datastore is unreachable and 51 while this node has no Node
// resource (other nodes cannot route to its pods). The agent exits when its supervisor goes away.
// The route reconciler (routes.ts → src/dataplane) programs blackholes, cross-node routes, VXLAN
// devices and natOutgoing; its status travels with the health report, and it chooses the MTU
// workloads get when the CNI config leaves it at 0.
// The policy wiring (policy.ts → src/policy, src/dataplane/nft-policy) programs table inet tabby
// for this node's endpoints; CNI ADD waits for the new pod's chains (isolation before its first
// packet); readiness waits for the first policy sync too; `policy-stats?` over IPC answers the
// per-rule counters the supervisor serves at /policy/stats.

import { loadDatastoreConfig } from '../datastore/index.js';
import type { Datastore } from '../datastore/index.js';
import { openDatastore } from '../datastore/index.js';
import { BlockAllocator } from '../ipam/index.js';
import { AttachmentStore } from '../cni/index.js';
import type { CniServices, Readiness } from '../cni/index.js';
import { CniHandler } from '../cni/index.js';
import { serveCniSocket } from '../cni/index.js';
import { runCommand, useCommandRunner } from '../cni/index.js';
import { Spawner } from '../cni/index.js';
import { findExecutable } from './cni-install.js';
import { type Logger, createLogger, parseLogLevel } from '../util/log.js';
import { Counter, Histogram, Registry } from './metrics.js';
import { nodeKey } from './node-resource.js';
import type { NodeOptions } from './options.js';
import { type RouteWiring, startRoutes } from './routes.js';
import { NftError, type NftRunner, nftRunner } from '../dataplane/index.js';
import { type PolicyWiring, startPolicy } from './policy.js';

export const AGENT_OPTIONS_ENV = 'TABBY_AGENT_OPTIONS';
/** How long CNI ADD waits for the new pod's policy to reach the kernel before failing. */
export const POLICY_PROGRAM_TIMEOUT_MS = 10_000;

export interface AgentMetrics {
  readonly registry: Registry;
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly ipamErrors: Counter;
}

export function agentMetrics(): AgentMetrics {
  const registry = new Registry();
  return {
    registry,
    requests: registry.register(new Counter('tabby_cni_requests_total', 'CNI requests handled, by plugin, command and result code (0 = success).')),
    latency: registry.register(new Histogram('tabby_cni_request_duration_seconds', 'Time to handle a CNI request in the agent, by plugin and command.')),
    ipamErrors: registry.register(new Counter('tabby_ipam_errors_total', 'CNI requests that failed in address management, by CNI error code.')),
  };
}

/** STATUS readiness: 50 while the datastore does not answer, 51 while this node has no Node resource. */
export async function datastoreReadiness(ds: Datastore, node: string, timeoutMs = 2000): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, code: 50, details: `datastore ${ds.description} did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const check = ds.get(nodeKey(node)).then(
    (kv): Readiness => (kv ? { ready: true } : { ready: false, code: 51, details: `Node resource "${node}" does not exist: other nodes cannot route to this node's pods; is \`tabby node\` registering it?` }),
    (err: Error): Readiness => ({ ready: false, code: 50, details: `datastore ${ds.description} is unreachable: ${err.message}` }),
  );
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RunningAgent {
  readonly metrics: AgentMetrics;
  readonly routes: RouteWiring;
  readonly policy: PolicyWiring;
  readiness(): Readiness;
  stop(): Promise<void>;
}

export async function startAgent(opts: NodeOptions, log: Logger): Promise<RunningAgent> {
  const helper = findExecutable('tabby-spawn');
  const spawner = helper ? new Spawner(helper, log.child({ component: 'spawn' })) : undefined;
  if (spawner) useCommandRunner((argv, input) => spawner.run(argv, input));
  else log.warn('tabby-spawn was not built; the agent spawns commands itself (slower under load)');
  const ds = openDatastore(loadDatastoreConfig({ flags: opts.datastore }));
  const ipam = new BlockAllocator(ds, { contextTtlMs: 1000, logger: log.child({ component: 'ipam' }) });
  const metrics = agentMetrics();
  let last: Readiness = { ready: false, code: 50, details: 'starting: the datastore has not been probed yet' };
  const refresh = async (): Promise<Readiness> => (last = await datastoreReadiness(ds, opts.nodename));
  const routes = startRoutes({ ds, ipam, nodename: opts.nodename, run: runCommand, log, registry: metrics.registry, expectLearned: opts.networkingBackend === 'bird' });
  // Changes run nft through the same command runner as the CNI path (tabby-spawn when built), so
  // the agent never forks itself on the ADD path; listings (start, drift checks, counters: not
  // on that path, and possibly larger than tabby-spawn's 16 MB frames) and very large scripts
  // are spawned directly.
  const direct = nftRunner();
  const nft: NftRunner = {
    async run(args, stdin) {
      if (args.includes('list') || (stdin?.length ?? 0) > 4 << 20) return direct.run(args, stdin);
      const r = await runCommand(['nft', ...args], stdin);
      if (r.code !== 0) throw new NftError(`nft ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(0, 2000)}`);
      return r.stdout;
    },
  };
  const policy = startPolicy({ ds, nodename: opts.nodename, log, registry: metrics.registry, nft });
  const services: CniServices = {
    datastore: ds,
    // No host-wide IPAM lock (Calico's flock): the allocator serialises and batches per node itself.
    ipam,
    nodename: opts.nodename,
    attachments: new AttachmentStore(opts.stateDir),
    // Read per request: an explicit CNI_MTU, else what the route reconciler chose (VXLAN or host MTU).
    get defaultMtu() {
      return opts.cni.mtu || routes.workloadMtu() || 1500;
    },
    log,
    readiness: refresh,
    endpointWritten: (key, value) => policy.programWorkload(key, value, POLICY_PROGRAM_TIMEOUT_MS),
  };
  const handler = new CniHandler(services, {
    onRequest(plugin, command, code, seconds) {
      metrics.requests.inc({ plugin, command, code: String(code) });
      metrics.latency.observe({ plugin, command }, seconds);
      if (code === 100) metrics.ipamErrors.inc({ code: String(code) });
    },
  });
  const server = await serveCniSocket(opts.cni.socket, (req) => handler.handle(req), log);
  await refresh();
  const timer = setInterval(() => void refresh(), 10_000);
  timer.unref();
  return {
    metrics,
    routes,
    policy,
    readiness: () => last,
    async stop() {
      clearInterval(timer);
      await routes.stop();
      // The table stays: a restarted agent finds it in place and keeps enforcing meanwhile.
      await policy.stop();
      spawner?.close();
      await server.close();
      await ds.close();
    },
  };
}

/** Entry point of the child process (`tabby agent`, run by `tabby node`). */
export async function runAgentProcess(): Promise<void> {
  const raw = process.env[AGENT_OPTIONS_ENV];
  if (!raw) throw new Error(`the dataplane agent is started by \`tabby node\`, which passes its settings in ${AGENT_OPTIONS_ENV}`);
  const opts = JSON.parse(raw) as NodeOptions;
  const log = createLogger({ component: 'agent', node: opts.nodename, pid: process.pid }, { level: parseLogLevel(opts.logLevel) });
  const agent = await startAgent(opts, log);
  const report = () => {
    const r = agent.readiness();
    const routes = agent.routes.status();
    const policy = agent.policy.status();
    // Felix is ready once its dataplane is in sync: here, once the first route resync and the
    // first policy sync have run.
    const why = !r.ready
      ? r.details
      : routes.resyncs === 0
        ? `routes not yet programmed${routes.lastError ? `: ${routes.lastError}` : ' (waiting for the datastore to be in sync)'}`
        : policy.syncs === 0
          ? `policy not yet programmed${policy.lastError ? `: ${policy.lastError}` : ' (waiting for the datastore to be in sync)'}`
          : undefined;
    process.send?.({ type: 'health', live: true, ready: why === undefined, ...(why === undefined ? {} : { reason: why }), detail: { routes, policy } });
  };
  report();
  const healthTimer = setInterval(report, 2000);
  // Readiness waits for the first route resync: say so as soon as it has run.
  void agent.routes.firstResync().then(report);
  void agent.policy.firstSync().then(report);
  process.on('message', (m: { type?: string; id?: number; what?: string; topic?: string; body?: { routes?: { dst: string; gateway: string }[]; converged?: boolean } }) => {
    // The BGP daemon's learned routes, relayed by the supervisor.
    if (m?.type === 'relay' && m.topic === 'learned' && m.body) {
      agent.routes.setLearned(m.body.routes ?? [], m.body.converged !== false);
      return;
    }
    if (m?.type !== 'metrics?') return;
    if (m.what === 'policy-stats') {
      agent.policy.stats().then(
        (s) => process.send?.({ type: 'metrics', id: m.id, text: JSON.stringify(s) }),
        (err: Error) => process.send?.({ type: 'metrics', id: m.id, text: JSON.stringify({ node: opts.nodename, error: `reading the nft counters failed: ${err.message}` }) }),
      );
      return;
    }
    process.send?.({ type: 'metrics', id: m.id, text: agent.metrics.registry.render() });
  });
  const shutdown = async (why: string) => {
    clearInterval(healthTimer);
    log.info('dataplane agent stopping', { reason: why });
    await agent.stop().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('disconnect', () => void shutdown('supervisor went away'));
  log.info('dataplane agent ready to serve CNI', { socket: opts.cni.socket });
}
