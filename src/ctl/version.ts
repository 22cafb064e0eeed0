// tabbyctl version: the client's version and, when the datastore answers, the cluster's
// (ClusterInformation `default`, written by the first client that bootstrapped the datastore).
//
// An unreachable datastore still prints the client version, then the error, and exits 4, so a
// script can use `tabbyctl version` as a reachability check; `--client` skips the datastore.

import type { Command } from 'commander';
import { isResourceError } from '../client/index.js';
import { TABBY_VERSION } from '../version.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';

export function registerVersionCommand(program: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(program.command('version'))
    .description('print the client version and the cluster version from the datastore')
    .option('--client', 'print only the client version; do not contact the datastore')
    .addHelpText('after', `\nExamples:\n  tabbyctl version\n  tabbyctl version --client\n\n${EXIT_CODES_HELP}\n`)
    .action(
      ctx.action(async (opts: DatastoreFlags & { client?: boolean }) => {
        ctx.out(`Client Version:    v${TABBY_VERSION}\n`);
        if (opts.client) return ExitCode.Ok;
        const info = await ctx.withClient(opts, async (client) => {
          try {
            return await client.get('ClusterInformation', undefined, 'default');
          } catch (err) {
            if (isResourceError(err, 'NotFound')) return undefined;
            throw err;
          }
        });
        const spec = (info?.spec ?? {}) as { calicoVersion?: string; clusterType?: string; clusterGUID?: string };
        ctx.out(`Cluster Version:   ${spec.calicoVersion ?? 'unknown (no ClusterInformation "default": nothing has been written to this datastore yet)'}\n`);
        if (spec.clusterType) ctx.out(`Cluster Type:      ${spec.clusterType}\n`);
        if (spec.clusterGUID) ctx.out(`Cluster GUID:      ${spec.clusterGUID}\n`);
        return ExitCode.Ok;
      }),
    );
}
