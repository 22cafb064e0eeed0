// The cluster controllers (Calico's kube-controllers) as a library: today IPAM garbage collection
// (ipam-gc.ts) on a timer until stopped. `tabby controllers` (src/tabby/controllers.ts) parses
// flags and calls runControllers.
//
// Grace period precedence: an explicit one, else KubeControllersConfiguration "default"
// spec.controllers.node.leakGracePeriod (as in Calico), else 15m.

import { getStored } from '../client/index.js';
import type { Datastore } from '../datastore/index.js';
import { DEFAULT_LEAK_GRACE_PERIOD_MS } from '../ipam/index.js';
import { KUBE_CONTROLLERS_CONFIGURATION_KEY, STORED } from '../model/index.js';
import { parseDuration } from '../util/index.js';
import { type Logger, createLogger } from '../util/log.js';
import { type GcPassResult, runIpamGcLoop } from './ipam-gc.js';

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
  const found = await getStored(ds, STORED.KubeControllersConfiguration, 'default');
  const text = found?.value.spec?.controllers?.node?.leakGracePeriod;
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
