// `tabby node`: what calico/node does at start and then keeps running (DESIGN.md §1):
//   1. determine this node's addresses and create or update its Node resource;
//   2. write the node name to <stateDir>/nodename;
//   3. install the CNI plugins and the conflist (unless told not to);
//   4. supervise the daemons — the dataplane agent and, with CALICO_NETWORKING_BACKEND=bird, the BGP daemon — restarting any
//      that dies, with back-off;
//   5. serve /liveness, /readiness and /metrics.
// Stops cleanly on SIGTERM/SIGINT: children first, then the endpoints.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDatastoreConfig } from '../datastore/index.js';
import { openDatastore } from '../datastore/index.js';
import type { Logger } from '../util/log.js';
import { readHostInterfaces } from './autodetect.js';
import { defaultPluginSearchDirs, findPluginExecutable, installPlugins, renderConflist, writeConflist } from './cni-install.js';
import { AGENT_OPTIONS_ENV } from './dataplane-agent.js';
import { type HealthServer, serveHealth } from './health-server.js';
import { Counter, Gauge, Registry } from './metrics.js';
import { registerNode } from './node-resource.js';
import type { NodeOptions } from './options.js';
import { type ChildSpec, Supervisor } from './supervisor.js';

/** Exits in a row after which /liveness reports the node as not live. */
const CRASH_LOOP = 5;

export interface RunningNode {
  readonly supervisor: Supervisor;
  readonly health?: HealthServer;
  stop(): Promise<void>;
}

/** Steps 1-3: everything before the daemons start. */
export async function prepareNode(opts: NodeOptions, log: Logger): Promise<void> {
  const config = loadDatastoreConfig({ flags: opts.datastore });
  const ds = openDatastore(config);
  try {
    const addrs = await registerNode(ds, { name: opts.nodename, settings: opts.addresses, labels: opts.labels, interfaces: readHostInterfaces() });
    log.info('Node resource registered', { node: opts.nodename, ...addrs });
  } finally {
    await ds.close();
  }
  mkdirSync(opts.stateDir, { recursive: true });
  writeFileSync(join(opts.stateDir, 'nodename'), opts.nodename);
  if (!opts.cni.install) return;

  const source = findPluginExecutable(defaultPluginSearchDirs());
  if (!source) throw new Error(`no CNI plugin executable found next to ${process.argv[1]}: run \`make build\` (it builds dist/bin/tabby-cni and dist/bin/tabby-cni.cjs)`);
  const written = installPlugins(opts.cni.binDir, source);
  if (written.length) log.info('CNI plugins installed', { from: source, to: written });
  const conflist = renderConflist({
    networkName: opts.cni.networkName,
    nodename: opts.nodename,
    mtu: opts.cni.mtu,
    assignIpv4: opts.cni.assignIpv4,
    assignIpv6: opts.cni.assignIpv6,
    datastoreType: config.datastoreType,
    etcdEndpoints: config.etcdEndpoints,
    ...(config.etcdCACertFile ? { etcdCaCertFile: config.etcdCACertFile } : {}),
    ...(config.etcdCertFile ? { etcdCertFile: config.etcdCertFile } : {}),
    ...(config.etcdKeyFile ? { etcdKeyFile: config.etcdKeyFile } : {}),
    logLevel: opts.cni.logLevel,
    logFilePath: opts.cni.logFilePath,
    policyType: opts.cni.policyType,
    portmap: existsSync(join(opts.cni.binDir, 'portmap')),
    socket: opts.cni.socket,
  });
  const path = writeConflist(opts.cni.confDir, opts.cni.confName, conflist);
  log.info('CNI network configuration written', { path });
}

/** Steps 4-5. `entry` is the script to fork for children (this program's own entry point). */
export async function superviseNode(opts: NodeOptions, log: Logger, entry: string): Promise<RunningNode> {
  const registry = new Registry();
  const restarts = registry.register(new Counter('tabby_node_child_restarts_total', 'Times the supervisor restarted a child process after it exited.'));
  const up = registry.register(new Gauge('tabby_node_child_up', 'Whether a supervised child process is running (1) or not (0).'));
  const children: ChildSpec[] = [
    { name: 'dataplane', modulePath: entry, args: ['agent'], env: { ...process.env, [AGENT_OPTIONS_ENV]: JSON.stringify(opts) } },
    // The BGP daemon (CALICO_NETWORKING_BACKEND=bird): a process of its own so that the
    // agent's work never delays a keepalive; its learned routes reach the agent through us.
    ...(opts.networkingBackend === 'bird' ? [{ name: 'bgp', modulePath: entry, args: ['bgp-agent'], env: { ...process.env, [AGENT_OPTIONS_ENV]: JSON.stringify(opts) } }] : []),
  ];
  const supervisor = new Supervisor(children, log.child({ component: 'supervisor' }), {
    onRestart: (name) => restarts.inc({ child: name }),
    onState: (name, isUp) => up.set({ child: name }, isUp ? 1 : 0),
  });
  for (const c of children) {
    restarts.inc({ child: c.name }, 0);
    up.set({ child: c.name }, 0);
  }
  supervisor.start();

  let health: HealthServer | undefined;
  if (opts.health.enabled) {
    health = await serveHealth(opts.health.host, opts.health.port, {
      liveness: () => {
        // Live unless a child is crash-looping: then a restart of the whole node may help.
        const s = supervisor.status();
        return { ok: s.every((c) => c.consecutiveFailures < CRASH_LOOP), detail: { children: s } };
      },
      readiness: () => {
        const s = supervisor.status();
        return { ok: s.every((c) => c.ready), detail: { children: s } };
      },
      metrics: async () => registry.render() + (await supervisor.collectMetrics()),
      policyStats: () => supervisor.query('dataplane', 'policy-stats'),
    });
    log.info('health and metrics endpoints listening', { host: opts.health.host, port: health.port });
  }
  return {
    supervisor,
    ...(health ? { health } : {}),
    async stop() {
      await supervisor.stop();
      await health?.close();
    },
  };
}
