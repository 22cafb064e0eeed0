// tabbyctl validate | create | apply | replace | delete: resources from -f FILE|DIR|- (delete
// also by KIND NAME...).
//
// By default a command is all-or-nothing: every document of every file is parsed and validated
// first, and only if all are valid are they written, in one datastore transaction (several only
// beyond 128 operations, which is said on stderr). With --continue-on-error each document is
// written on its own; the invalid and failing ones are reported and the exit code is that of
// the first failure.

import type { Command } from 'commander';
import { type BatchItem, type BatchResult, PartialBatchError, type ResourceClient, type ResourceRef, notFoundError } from '../client/index.js';
import { type KindInfo, type ResourceObject, ValidationError } from '../model/index.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode, combineExitCodes } from './exit-codes.js';
import { type ManifestDocument, loadInputs, summary } from './manifests.js';
import { UsageError } from './output.js';
import { parseTargets } from './targets.js';

interface FileFlags extends DatastoreFlags {
  filename?: string[];
  namespace?: string;
  continueOnError?: boolean;
  skipExists?: boolean;
  skipNotFound?: boolean;
}

type Verb = 'create' | 'apply' | 'replace' | 'delete';
const PAST: Record<Verb, string> = { create: 'created', apply: 'applied', replace: 'replaced', delete: 'deleted' };

const collect = (value: string, previous: string[] = []) => [...previous, value];

function fileOptions(cmd: Command): Command {
  return cmd
    .option('-f, --filename <path>', 'file, directory (every .yaml/.yml/.json in it) or - for stdin; repeatable', collect)
    .option('-n, --namespace <ns>', 'namespace for namespaced resources that give none (default "default")');
}

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n\n${EXIT_CODES_HELP}\n`;

export function registerResourceCommands(program: Command, ctx: CtlContext): void {
  fileOptions(program.command('validate'))
    .description('check manifests against the resource model without touching the datastore')
    .addHelpText('after', examples(['tabbyctl validate -f pools.yaml', 'tabbyctl validate -f manifests/', 'cat policy.json | tabbyctl validate -f -']))
    .action(ctx.action(async (opts: FileFlags) => validate(ctx, opts)));

  const writer = (verb: Exclude<Verb, 'delete'>, what: string, extra: (c: Command) => Command, ex: string[]) =>
    extra(ctx.addDatastoreOptions(fileOptions(program.command(verb))))
      .description(what)
      .option('--continue-on-error', 'write each document on its own; report and skip the ones that fail')
      .addHelpText('after', examples(ex))
      .action(ctx.action(async (opts: FileFlags) => writeFromFiles(ctx, verb, opts)));

  writer('create', 'create resources; fails if any already exists', (c) => c.option('--skip-exists', 'skip resources that already exist instead of failing'), [
    'tabbyctl create -f pools.yaml',
    'tabbyctl create -f policies/ --skip-exists',
  ]);
  writer('apply', 'create resources, or update the ones that exist', (c) => c, [
    'tabbyctl apply -f pools.yaml',
    'tabbyctl apply -f manifests/ -n staging',
    'cat namespace.yaml | tabbyctl apply -f -',
  ]);
  writer('replace', 'update existing resources (compares metadata.resourceVersion when given)', (c) => c, [
    'tabbyctl get ippool pool-a -o yaml > pool.yaml && vi pool.yaml && tabbyctl replace -f pool.yaml',
  ]);

  ctx
    .addDatastoreOptions(fileOptions(program.command('delete')))
    .description('delete resources named in files, or KIND NAME...')
    .argument('[kind]', 'resource kind or alias (ippool, networkpolicy, gnp, ...), or KIND/NAME, when not using -f')
    .argument('[names...]', 'names of the resources to delete, or more KIND/NAME')
    .option('--skip-not-found', 'do not fail for resources that do not exist')
    .option('--continue-on-error', 'delete each resource on its own; report and skip the ones that fail')
    .addHelpText('after', examples(['tabbyctl delete -f pools.yaml', 'tabbyctl delete ippool pool-a pool-b', 'tabbyctl delete ippool/pool-a gnp/deny-all', 'tabbyctl delete networkpolicy allow-dns -n prod']))
    .action(
      ctx.action(async (kind: string | undefined, names: string[], opts: FileFlags) => {
        if (kind !== undefined) {
          if (opts.filename?.length) throw new UsageError('give either -f FILE or KIND NAME..., not both');
          const targets = parseTargets([kind, ...names], 'delete');
          const unnamed = targets.find((t) => t.names.length === 0);
          if (unnamed !== undefined) throw new UsageError(`name the ${unnamed.kind.kind} resource(s) to delete: tabbyctl delete ${kind} NAME... or KIND/NAME`);
          return deleteByName(ctx, targets.flatMap((t) => t.names.map((name) => ({ kind: t.kind, name }))), opts);
        }
        return writeFromFiles(ctx, 'delete', opts);
      }),
    );
}

function validate(ctx: CtlContext, opts: FileFlags): ExitCode {
  const loaded = loadInputs(opts.filename ?? [], ctx.io.readStdin, opts.namespace === undefined ? {} : { namespace: opts.namespace });
  // validate never writes, so its report does not say "nothing was stored".
  if (loaded.issues.length > 0) return ctx.report(new ValidationError(loaded.issues));
  ctx.out(`Valid: ${loaded.documents.length} resource(s) in ${loaded.sources} file(s)\n`);
  return ExitCode.Ok;
}

async function writeFromFiles(ctx: CtlContext, verb: Verb, opts: FileFlags): Promise<ExitCode> {
  const loaded = loadInputs(opts.filename ?? [], ctx.io.readStdin, opts.namespace === undefined ? {} : { namespace: opts.namespace });
  if (loaded.issues.length > 0 && !opts.continueOnError) throw new ValidationError(loaded.issues);
  const invalid = loaded.issues.length > 0 ? [ctx.report(new ValidationError(loaded.issues))] : [];
  if (loaded.documents.length === 0) {
    if (invalid.length > 0) return invalid[0]!;
    throw new UsageError('the input holds no resources');
  }
  return ctx.withClient(opts, async (client) => {
    if (!opts.continueOnError) {
      let result: BatchResult;
      try {
        result = await batch(client, verb, loaded.documents, opts);
      } catch (err) {
        const code = ctx.report(err);
        if (!(err instanceof PartialBatchError) && loaded.documents.length > 1) {
          ctx.err(`nothing was stored: the ${loaded.documents.length} resources are written together or not at all\n`);
        }
        return code;
      }
      report(ctx, verb, loaded.documents, result);
      return ExitCode.Ok;
    }
    const codes: ExitCode[] = [...invalid];
    const done: ManifestDocument[] = [];
    for (const doc of loaded.documents) {
      try {
        const result = await batch(client, verb, [doc], opts);
        if (result.skipped.length === 0) done.push(doc);
        codes.push(ExitCode.Ok);
      } catch (err) {
        codes.push(ctx.report(err));
      }
    }
    const total = loaded.documents.length + (loaded.issues.length > 0 ? new Set(loaded.issues.map((i) => `${i.source}#${i.document}#${i.item}`)).size : 0);
    const code = combineExitCodes(codes);
    ctx.out(code === ExitCode.Ok ? `${summary(PAST[verb], done.map((d) => d.resource))}\n` : `Partial success: ${PAST[verb]} ${done.length} out of ${total} resource(s)\n`);
    return code;
  });
}

function batch(client: ResourceClient, verb: Verb, docs: readonly ManifestDocument[], opts: FileFlags): Promise<BatchResult> {
  const items: BatchItem[] = docs.map((d) => ({ resource: d.resource, where: d.where }));
  switch (verb) {
    case 'create':
      return client.createAll(items, opts.skipExists ? { skipExisting: true } : {});
    case 'apply':
      return client.applyAll(items);
    case 'replace':
      return client.replaceAll(items);
    case 'delete':
      return client.deleteAll(
        docs.map((d) => d.resource),
        opts.skipNotFound ? { ignoreNotFound: true } : {},
      );
  }
}

function report(ctx: CtlContext, verb: Verb, docs: readonly ManifestDocument[], result: BatchResult): void {
  if (result.transactions > 1) {
    ctx.err(`note: ${docs.length} resources needed ${result.transactions} transactions (at most 128 operations each); they were written one transaction after another, not atomically together\n`);
  }
  const skipped = new Set(result.skipped);
  const written = docs.filter((_, i) => !skipped.has(i)).map((d) => d.resource);
  const why = verb === 'create' ? 'already existed' : 'did not exist';
  ctx.out(`${summary(PAST[verb], written)}${skipped.size > 0 ? `; skipped ${skipped.size} that ${why}` : ''}\n`);
}

const refOf = (t: { kind: KindInfo; name: string; namespace?: string }): ResourceRef =>
  t.kind.namespaced ? { kind: t.kind.kind, namespace: t.namespace ?? 'default', name: t.name } : { kind: t.kind.kind, name: t.name };

async function deleteByName(ctx: CtlContext, named: readonly { kind: KindInfo; name: string }[], opts: FileFlags): Promise<ExitCode> {
  const targets = named.map((t) => ({ ...t, ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }) }));
  return ctx.withClient(opts, async (client) => {
    const ignore = opts.skipNotFound ? { ignoreNotFound: true } : {};
    if (!opts.continueOnError) {
      // kubectl's way: the ones that exist are deleted (together), each missing one is reported,
      // and the exit code says something was not found unless --skip-not-found was given.
      const result = await client.deleteAll(targets, { ignoreNotFound: true });
      const skipped = new Set(result.skipped);
      const deleted = targets.filter((_, i) => !skipped.has(i)).map((t) => ({ kind: t.kind.kind }) as ResourceObject);
      if (opts.skipNotFound || skipped.size === 0) {
        ctx.out(`${summary('deleted', deleted)}${skipped.size > 0 ? `; skipped ${skipped.size} that did not exist` : ''}\n`);
        return ExitCode.Ok;
      }
      if (deleted.length > 0) ctx.out(`${summary('deleted', deleted)}\n`);
      for (const i of result.skipped) ctx.report(notFoundError(refOf(targets[i]!)));
      return ExitCode.NotFound;
    }
    const codes: ExitCode[] = [];
    const deletedKinds: { kind: string }[] = [];
    for (const t of targets) {
      try {
        const r = await client.deleteAll([t], ignore);
        deletedKinds.push(...r.items);
        codes.push(ExitCode.Ok);
      } catch (err) {
        codes.push(ctx.report(err));
      }
    }
    const code = combineExitCodes(codes);
    ctx.out(code === ExitCode.Ok ? `${summary('deleted', deletedKinds)}\n` : `Partial success: deleted ${deletedKinds.length} out of ${targets.length} resource(s)\n`);
    return code;
  });
}
