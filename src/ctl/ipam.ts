// tabbyctl ipam show|check|release|configure|split|gc — calicoctl's IPAM commands
// (calico-internals.md §4.6). Wiring only: parse the arguments, call the IPAM library (its
// operations, report release and pool split) or the GC controller, print the result.
//
// `ipam check -o` takes calicoctl's report FILE as well as our formats: `-o text` / `-o json`
// print to stdout, any other value is a path the JSON report is written to (whole, or not at all).
//
// `ipam check` exits 0 after printing its report, as calicoctl does, so that a report with
// problems is still a successful check; add --exit-code to make it exit 5 when it found problems
// (scripts: `tabbyctl ipam check --exit-code || page-someone`).

import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { IpamGarbageCollector, renderGcResult } from '../controllers/index.js';
import {
  DEFAULT_LEAK_GRACE_PERIOD_MS,
  LOCK_HINT,
  type ParsedReport,
  ReportError,
  UNLOCK_HINT,
  ipamCheck,
  ipamConfigure,
  ipamRelease,
  ipamShow,
  ipamSplit,
  parseReport,
  releaseFromReports,
} from '../ipam/index.js';
import { MAX_IP_COOLDOWN_SECONDS } from '../model/index.js';
import { parseDuration } from '../util/index.js';
import type { CtlContext } from './context.js';
import { configureText, releaseText, renderCheck, reportReleaseText, showJson, showText, splitText } from './ipam-text.js';
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

/** Write a file whole or not at all: a temporary file beside it, renamed over it. */
function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UsageError(`cannot write the report to ${file}: ${(e as Error).message}`);
  }
}

function bool(flag: string, text: string): boolean {
  if (/^(true|t|1|yes)$/i.test(text)) return true;
  if (/^(false|f|0|no)$/i.test(text)) return false;
  throw new UsageError(`${flag}=${text}: expected true or false`);
}

/** Read the report files; errors name the file. */
function readReports(files: readonly string[]): ParsedReport[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ReportError(`cannot read report ${file}: ${(e as Error).message}`);
    }
    return parseReport(text, file);
  });
}

export function registerIpamCommands(program: Command, ctx: CtlContext): void {
  const ipam = program.command('ipam').description('IP address management: utilisation, consistency, release, configuration, garbage collection');

  ctx
    .addDatastoreOptions(ipam.command('show'))
    .description('show address utilisation per IP pool (and per block), who owns one address, borrowed addresses, or the IPAM configuration')
    .option('--show-blocks', 'add a row per allocation block')
    .option('--ip <addr>', 'report whether this address is assigned, its handle and owner attributes')
    .option('--show-borrowed', 'list addresses a node took from a block affine to another node (IP | BORROWING-NODE | BLOCK | BLOCK OWNER | TYPE | ALLOCATED-TO)')
    .option('--show-configuration', 'print the IPAM configuration (PROPERTY | VALUE)')
    .option('-o, --output <format>', 'text (default) or json')
    .addHelpText(
      'after',
      '\nGive at most one of --ip, --show-blocks, --show-borrowed, --show-configuration.\n\nExamples:\n  tabbyctl ipam show\n  tabbyctl ipam show --show-blocks\n  tabbyctl ipam show --ip 10.244.0.5\n  tabbyctl ipam show --show-borrowed -o json\n  tabbyctl ipam show --show-configuration\n',
    )
    .action(
      ctx.action(async (opts: DatastoreFlags & { showBlocks?: boolean; ip?: string; showBorrowed?: boolean; showConfiguration?: boolean; output?: string }) => {
        const fmt = format(opts.output);
        const r = await ctx.withDatastore(opts, (ds) =>
          ipamShow(ds, {
            ...(opts.showBlocks ? { showBlocks: true } : {}),
            ...(opts.ip === undefined ? {} : { ip: opts.ip }),
            ...(opts.showBorrowed ? { showBorrowed: true } : {}),
            ...(opts.showConfiguration ? { showConfiguration: true } : {}),
          }),
        );
        ctx.out(fmt === 'json' ? json(showJson(r)) : showText(r));
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('check'))
    .description('check IPAM against workload endpoints and nodes: leaks, duplicates, orphaned handles, stale affinities, overlapping pools')
    .option('--show-all-ips', 'list every allocated address with its owner')
    .option('-o, --output <format|file>', 'text (default), json (the full report on stdout), or a FILE to write the JSON report to (calicoctl\'s form)')
    .option('--exit-code', 'exit 5 when problems were found (default: exit 0 after a completed check)')
    .addHelpText(
      'after',
      `\nThe report has calicoctl's fields (version, clusterGUID, datastoreLocked, clusterInformationRevision,\nallocations with inUse/borrowed/coolingDown, leakedHandles) and is what ipam release --from-report reads.\n\nExamples:\n  tabbyctl ipam check\n  tabbyctl ipam check -o report.json\n  tabbyctl ipam check -o json\n  tabbyctl ipam check --exit-code\n\n${EXIT_CODES_HELP}\n  5  ipam check --exit-code found problems\n`,
    )
    .action(
      ctx.action(async (opts: DatastoreFlags & { showAllIps?: boolean; output?: string; exitCode?: boolean }) => {
        const toFile = opts.output !== undefined && !['text', 'table', 'json'].includes(opts.output) ? opts.output : undefined;
        const fmt = toFile === undefined ? format(opts.output) : 'text';
        const r = await ctx.withDatastore(opts, (ds) => ipamCheck(ds));
        if (toFile !== undefined) writeWhole(toFile, json(r));
        ctx.out(fmt === 'json' ? json(r) : renderCheck(r, opts.showAllIps ? { showAllIps: true } : {}) + (toFile === undefined ? '' : `Report written to ${toFile}\n`));
        return opts.exitCode && r.problems.length > 0 ? EXIT_PROBLEMS_FOUND : ExitCode.Ok;
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('release'))
    .description('release addresses by IP, every address of a handle, or the leaks an ipam check report lists')
    .option('--ip <addr>', 'address to release (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--handle <id>', 'release every address recorded under this handle')
    .option('--from-report <file>', 'release the leaked addresses and handles of an ipam check -o FILE report; repeat to release only what every report lists', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--force', 'with --ip: release even if a WorkloadEndpoint still uses the address; with --from-report: even if the datastore is not locked or the report is of another tabbyctl version')
    .option('-o, --output <format>', 'text (default) or json (with --from-report)')
    .addHelpText(
      'after',
      `\n--from-report needs the datastore locked (ClusterInformation default, datastoreReady false) and a\nreport written while it was locked; it frees only the allocations the report saw (by sequence number).\n\nExamples:\n  tabbyctl ipam release --ip 10.244.0.5\n  tabbyctl ipam release --handle k8s-pod-network.0123abcd\n  tabbyctl ipam check -o report.json && tabbyctl ipam release --from-report report.json\n\n${EXIT_CODES_HELP}\n`,
    )
    .action(
      ctx.action(async (opts: DatastoreFlags & { ip: string[]; handle?: string; fromReport: string[]; force?: boolean; output?: string }) => {
        const fmt = format(opts.output);
        if (opts.fromReport.length > 0) {
          if (opts.ip.length > 0 || opts.handle !== undefined) throw new UsageError('--from-report cannot be combined with --ip or --handle');
          const reports = readReports(opts.fromReport);
          const r = await ctx.withDatastore(opts, (ds) => releaseFromReports(ds, reports, opts.force === true));
          ctx.out(fmt === 'json' ? json(r) : reportReleaseText(r));
          return;
        }
        const r = await ctx.withDatastore(opts, (ds) =>
          ipamRelease(ds, { ips: opts.ip, ...(opts.handle === undefined ? {} : { handle: opts.handle }), ...(opts.force ? { force: true } : {}) }),
        );
        ctx.out(releaseText(r.released, opts.handle));
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('configure'))
    .description('change IPAM configuration: strict affinity, the per-node block limit, the cooldown of released addresses')
    .option('--strictaffinity <bool>', 'true: nodes only use their own blocks (no borrowing); false: borrowing allowed')
    .option('--max-blocks-per-host <n>', 'blocks one node may claim per family (0 = default 20; more than 0 needs --strictaffinity=true)')
    .option('--ip-cooldown-seconds <n>', `seconds a released address is held back before it is handed out again (0..${MAX_IP_COOLDOWN_SECONDS}; 0, the default, reuses at once)`)
    .addHelpText(
      'after',
      `\nCalico's rules: strict affinity false with auto-allocation off is refused, and a block limit needs\nstrict affinity; nothing is written when the result would break them.\n\nExamples:\n  tabbyctl ipam configure --strictaffinity=true\n  tabbyctl ipam configure --strictaffinity=true --max-blocks-per-host 4\n  tabbyctl ipam configure --ip-cooldown-seconds 60\n\n${EXIT_CODES_HELP}\n`,
    )
    .action(
      ctx.action(async (opts: DatastoreFlags & { strictaffinity?: string; maxBlocksPerHost?: string; ipCooldownSeconds?: string }) => {
        const max = opts.maxBlocksPerHost;
        if (max !== undefined && !/^\d+$/.test(max)) throw new UsageError(`--max-blocks-per-host ${max}: expected a whole number`);
        const cool = opts.ipCooldownSeconds;
        if (cool !== undefined && !/^\d+$/.test(cool)) throw new UsageError(`--ip-cooldown-seconds ${cool}: expected a whole number of seconds in 0..${MAX_IP_COOLDOWN_SECONDS}`);
        const asked = {
          ...(opts.strictaffinity === undefined ? {} : { strictAffinity: bool('--strictaffinity', opts.strictaffinity) }),
          ...(max === undefined ? {} : { maxBlocksPerHost: Number(max) }),
          ...(cool === undefined ? {} : { ipCooldownSeconds: Number(cool) }),
        };
        ctx.out(configureText(asked, await ctx.withDatastore(opts, (ds) => ipamConfigure(ds, asked))));
      }),
    );

  ctx
    .addDatastoreOptions(ipam.command('split'))
    .description('split an IP pool into N equal pools (N a power of two); the datastore must be locked')
    .argument('<number>', 'how many pools to split into: 2, 4, 8, ...')
    .option('--cidr <cidr>', 'CIDR of the IP pool to split')
    .option('--name <pool>', 'name of the IP pool to split')
    .option('-o, --output <format>', 'text (default) or json')
    .addHelpText(
      'after',
      `\nThe new pools are named split-<pool>-0, split-<pool>-1, ... in address order, are enabled, and keep\nthe pool's other settings. Lock the datastore first and unlock it after:\n  ${LOCK_HINT}\n  ${UNLOCK_HINT}\n\nExamples:\n  tabbyctl ipam split 2 --cidr 172.16.0.0/16\n  tabbyctl ipam split 4 --name default-ipv4-ippool\n\n${EXIT_CODES_HELP}\n`,
    )
    .action(
      ctx.action(async (number: string, opts: DatastoreFlags & { cidr?: string; name?: string; output?: string }) => {
        if (opts.output !== undefined && !['text', 'json'].includes(opts.output)) throw new UsageError(`-o ${opts.output}: ipam split prints text (the default) or json`);
        if (!/^\d+$/.test(number)) throw new UsageError(`${number}: the number of pools must be a whole number (2, 4, 8, ...)`);
        const r = await ctx.withDatastore(opts, (ds) =>
          ipamSplit(ds, Number(number), { ...(opts.cidr === undefined ? {} : { cidr: opts.cidr }), ...(opts.name === undefined ? {} : { name: opts.name }) }),
        );
        ctx.out(opts.output === 'json' ? json(r) : splitText(r));
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
