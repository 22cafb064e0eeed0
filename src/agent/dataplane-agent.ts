// The dataplane agent: the child process `tabby node` supervises (DESIGN.md §1). Today it serves
// the CNI socket — every CNI request is handled here, in-process, against the datastore and
// IPAM — and reports its health and metrics to the supervisor over IPC. Policy and route
// reconciliation will join it here.
//
// Readiness: the socket is listening and the datastore answered the last probe (every 10 s).
// STATUS answers code 50 while the datastore is unreachable and 51 while this node has no Node
// resource (other nodes cannot route to its pods). The agent exits when its supervisor goes away.
// The route reconciler (routes.ts → src/dataplane) programs blackholes, cross-node routes, VXLAN
// devices and natOutgoing; its status travels with the health report, and it chooses the MTU
// workloads get when the CNI config leaves it at 0.

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

export const AGENT_OPTIONS_ENV = 'TABBY_AGENT_OPTIONS';

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
    readiness: () => last,
    async stop() {
      clearInterval(timer);
      await routes.stop();
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
    // Felix is ready once its dataplane is in sync: here, once the first route resync has run.
    const why = !r.ready ? r.details : routes.resyncs === 0 ? `routes not yet programmed${routes.lastError ? `: ${routes.lastError}` : ' (waiting for the datastore to be in sync)'}` : undefined;
    process.send?.({ type: 'health', live: true, ready: why === undefined, ...(why === undefined ? {} : { reason: why }), detail: { routes } });
  };
  report();
  const healthTimer = setInterval(report, 2000);
  // Readiness waits for the first route resync: say so as soon as it has run.
  void agent.routes.firstResync().then(report);
  process.on('message', (m: { type?: string; id?: number; topic?: string; body?: { routes?: { dst: string; gateway: string }[]; converged?: boolean } }) => {
    if (m?.type === 'metrics?') process.send?.({ type: 'metrics', id: m.id, text: agent.metrics.registry.render() });
    // The BGP daemon's learned routes, relayed by the supervisor.
    else if (m?.type === 'relay' && m.topic === 'learned' && m.body) agent.routes.setLearned(m.body.routes ?? [], m.body.converged !== false);
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
