// tabbyctl ipam show|check|release|configure|gc — calicoctl's IPAM commands
// (calico-internals.md §4.6). Wiring only: the work is in ipam/operations.ts and the GC controller.
//
// `ipam check` exits 0 after printing its report, as calicoctl does, so that a report with
// problems is still a successful check; add --exit-code to make it exit 5 when it found problems
// (scripts: `tabbyctl ipam check --exit-code || page-someone`).

import type { Command } from 'commander';
import { IpamGarbageCollector, renderGcResult } from '../controllers/ipam-gc.js';
import { parseDuration } from '../ipam/core/duration.js';
import { DEFAULT_LEAK_GRACE_PERIOD_MS } from '../ipam/core/gc-plan.js';
import { ipamCheck, ipamConfigure, ipamRelease, ipamShow } from '../ipam/operations.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { UsageError } from './output.js';

/** `ipam check --exit-code` found problems. Outside the shared table on purpose: only this command uses it. */
export const EXIT_PROBLEMS_FOUND = ExitCode.ProblemsFound;

type Format = 'text' | 'json';

function format(o: string | undefined): Format {
  if (o === undefined || o === 'text' || o === 'table') return 'text';
  if (o === 'json') return 'json';
  throw new UsageError(`-o ${o}: ipam commands print text (the default) or json`);
}

const json = (data: unknown) => JSON.stringify(data, null, 2) + '\n';

function bool(flag: string, text: string): boolean {
  if (/^(true|t|1|yes)$/i.test(text)) return true;
  if (/^(false|f|0|no)$/i.test(text)) return false;
  throw new UsageError(`${flag}=${text}: expected true or false`);
}

export function registerIpamCommands(program: Command, ctx: CtlContext): void {
  const ipam = program.command('ipam').description('IP address management: utilisation, consistency, release, configuration, garbage collection');

  ctx
    .addDatastoreOptions(ipam.command('show'))
    .description('show address utilisation per IP pool (and per block), or who owns one address')
    .option('--show-blocks', 'add a row per allocation block')
    .option('--ip <addr>', 'report whether this address is assigned, its handle and owner attributes')
    .option('-o, --output <format>', 'text (default) or json')
    .addHelpText('after', '\nExamples:\n  tabbyctl ipam show\n  tabbyctl ipam show --show-blocks\n  tabbyctl ipam show --ip 10.244.0.5\n')
    .action(
      ctx.action(async (opts: DatastoreFlags & { showBlocks?: boolean; ip?: string; output?: string }) => {
        const fmt = format(opts.output);
        const r = await ctx.withDatastore(opts, (ds) => ipamShow(ds, { ...(opts.showBlocks ? { showBlocks: true } : {}), ...(opts.ip === undefined ? {} : { ip: opts.ip }) }));
        ctx.out(fmt === 'json' ? json(r.data) : r.text);
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('check'))
    .description('check IPAM against workload endpoints and nodes: leaks, duplicates, orphaned handles, stale affinities, overlapping pools')
    .option('--show-all-ips', 'list every allocated address with its owner')
    .option('-o, --output <format>', 'text (default) or json (the full report)')
    .option('--exit-code', 'exit 5 when problems were found (default: exit 0 after a completed check)')
    .addHelpText('after', `\nExamples:\n  tabbyctl ipam check\n  tabbyctl ipam check -o json > report.json\n  tabbyctl ipam check --exit-code\n\n${EXIT_CODES_HELP}\n  5  ipam check --exit-code found problems\n`)
    .action(
      ctx.action(async (opts: DatastoreFlags & { showAllIps?: boolean; output?: string; exitCode?: boolean }) => {
        const fmt = format(opts.output);
        const r = await ctx.withDatastore(opts, (ds) => ipamCheck(ds, opts.showAllIps ? { showAllIps: true } : {}));
        ctx.out(fmt === 'json' ? json(r.data) : r.text);
        return opts.exitCode && r.data.problems.length > 0 ? EXIT_PROBLEMS_FOUND : ExitCode.Ok;
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('release'))
    .description('release addresses by IP or every address of a handle')
    .option('--ip <addr>', 'address to release (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--handle <id>', 'release every address recorded under this handle')
    .option('--force', 'release even if a WorkloadEndpoint still uses the address')
    .addHelpText('after', '\nExamples:\n  tabbyctl ipam release --ip 10.244.0.5\n  tabbyctl ipam release --handle k8s-pod-network.0123abcd\n')
    .action(
      ctx.action(async (opts: DatastoreFlags & { ip: string[]; handle?: string; force?: boolean }) => {
        const r = await ctx.withDatastore(opts, (ds) =>
          ipamRelease(ds, { ips: opts.ip, ...(opts.handle === undefined ? {} : { handle: opts.handle }), ...(opts.force ? { force: true } : {}) }),
        );
        ctx.out(r.text);
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('configure'))
    .description('change IPAM configuration: strict affinity and the per-node block limit')
    .option('--strictaffinity <bool>', 'true: nodes only use their own blocks (no borrowing); false: borrowing allowed')
    .option('--max-blocks-per-host <n>', 'blocks one node may claim per family (0 = default 20)')
    .addHelpText('after', '\nExamples:\n  tabbyctl ipam configure --strictaffinity=true\n  tabbyctl ipam configure --max-blocks-per-host 4\n')
    .action(
      ctx.action(async (opts: DatastoreFlags & { strictaffinity?: string; maxBlocksPerHost?: string }) => {
        const max = opts.maxBlocksPerHost;
        if (max !== undefined && !/^\d+$/.test(max)) throw new UsageError(`--max-blocks-per-host ${max}: expected a whole number`);
        const r = await ctx.withDatastore(opts, (ds) =>
          ipamConfigure(ds, {
            ...(opts.strictaffinity === undefined ? {} : { strictAffinity: bool('--strictaffinity', opts.strictaffinity) }),
            ...(max === undefined ? {} : { maxBlocksPerHost: Number(max) }),
          }),
        );
        ctx.out(r.text);
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('gc'))
    .description('run one IPAM garbage-collection pass: free leaked addresses and empty blocks, repair records')
    .option('--grace-period <duration>', `how long an address must have been leaked (by its allocation timestamp) before it is freed (default ${DEFAULT_LEAK_GRACE_PERIOD_MS / 60_000}m; 0 frees every leak now)`)
    .option('-o, --output <format>', 'text (default) or json')
    .addHelpText('after', '\nExamples:\n  tabbyctl ipam gc\n  tabbyctl ipam gc --grace-period 0\n')
    .action(
      ctx.action(async (opts: DatastoreFlags & { gracePeriod?: string; output?: string }) => {
        const fmt = format(opts.output);
        let grace = DEFAULT_LEAK_GRACE_PERIOD_MS;
        if (opts.gracePeriod !== undefined) {
          try {
            grace = parseDuration(opts.gracePeriod, '--grace-period');
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
        }
        const r = await ctx.withDatastore(opts, (ds) => new IpamGarbageCollector(ds, { leakGracePeriodMs: grace }).runOnce());
        ctx.out(fmt === 'json' ? json(r) : renderGcResult(r));
      }),
    );
}
