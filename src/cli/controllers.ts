// `tabby controllers`: the cluster-wide controllers (Calico's kube-controllers). Today that is
// IPAM garbage collection (controllers/ipam-gc.ts) on a timer until SIGINT/SIGTERM.
//
// Grace period precedence: --leak-grace-period, else KubeControllersConfiguration "default"
// spec.controllers.node.leakGracePeriod (as in Calico), else 15m. The `cni` helper's
// src/cli/main.ts calls registerControllersCommand(program).

import type { Command } from 'commander';
import { type GcPassResult, runIpamGcLoop } from '../controllers/ipam-gc.js';
import type { Datastore } from '../datastore/index.js';
import { addDatastoreOptions, type DatastoreFlags, openDatastoreFromFlags } from '../ctl/datastore-options.js';
import { DEFAULT_LEAK_GRACE_PERIOD_MS } from '../ipam/core/gc-plan.js';
import { KUBE_CONTROLLERS_CONFIGURATION_KEY, STORED, decodeStored } from '../model/index.js';
import { parseDuration } from '../util/duration.js';
import { type Logger, createLogger, parseLogLevel } from '../util/log.js';

export const KUBE_CONTROLLERS_CONFIG_KEY = KUBE_CONTROLLERS_CONFIGURATION_KEY;

export interface ControllersOptions {
  /** Explicit grace period (ms); otherwise read from KubeControllersConfiguration. */
  readonly leakGracePeriodMs?: number;
  readonly intervalMs?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly onPass?: (r: GcPassResult) => void;
}

/** The grace period configured in KubeControllersConfiguration "default", if any. */
export async function configuredLeakGracePeriod(ds: Datastore): Promise<number | undefined> {
  const kv = await ds.get(KUBE_CONTROLLERS_CONFIG_KEY);
  if (!kv) return undefined;
  const text = decodeStored(STORED.KubeControllersConfiguration, kv.key, kv.value).spec?.controllers?.node?.leakGracePeriod;
  return text === undefined ? undefined : parseDuration(text, `${KUBE_CONTROLLERS_CONFIG_KEY} spec.controllers.node.leakGracePeriod`);
}

export async function runControllers(ds: Datastore, opts: ControllersOptions = {}): Promise<void> {
  const log = opts.logger ?? createLogger({ component: 'controllers' });
  const grace = opts.leakGracePeriodMs ?? (await configuredLeakGracePeriod(ds)) ?? DEFAULT_LEAK_GRACE_PERIOD_MS;
  log.info('starting IPAM garbage collection', { datastore: ds.description, leakGracePeriodMs: grace });
  await runIpamGcLoop(ds, {
    leakGracePeriodMs: grace,
    logger: log.child({ controller: 'ipam-gc' }),
    ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onPass ? { onPass: opts.onPass } : {}),
  });
}

export function registerControllersCommand(program: Command): Command {
  return addDatastoreOptions(program.command('controllers'))
    .description('run the cluster controllers (IPAM garbage collection) until interrupted')
    .option('--leak-grace-period <duration>', 'how long an address must look leaked before it is freed (default: KubeControllersConfiguration, else 15m)')
    .option('--gc-interval <duration>', 'time between GC passes (default: half the grace period, 1s..5m)')
    .option('--log-level <level>', 'debug, info, warn or error [env TABBY_LOG_LEVEL]')
    .action(async (opts: DatastoreFlags & { leakGracePeriod?: string; gcInterval?: string; logLevel?: string }) => {
      const log = createLogger({ component: 'controllers' }, { level: parseLogLevel(opts.logLevel ?? process.env['TABBY_LOG_LEVEL']) });
      const ds = await openDatastoreFromFlags(opts, process.env);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await runControllers(ds, {
          logger: log,
          signal: stop.signal,
          ...(opts.leakGracePeriod === undefined ? {} : { leakGracePeriodMs: parseDuration(opts.leakGracePeriod, '--leak-grace-period') }),
          ...(opts.gcInterval === undefined ? {} : { intervalMs: parseDuration(opts.gcInterval, '--gc-interval') }),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await ds.close();
      }
    });
}
