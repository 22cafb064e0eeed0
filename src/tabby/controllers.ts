// `tabby controllers`: parses flags, opens the datastore and runs the cluster controllers
// (controllers/run.ts) until SIGINT/SIGTERM.

import type { Command } from 'commander';
import { runControllers } from '../controllers/index.js';
import { addDatastoreOptions, type DatastoreFlags, openDatastoreFromFlags } from '../ctl/index.js';
import { parseDuration } from '../util/index.js';
import { createLogger, parseLogLevel } from '../util/log.js';

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
