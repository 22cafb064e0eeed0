// tabbyctl get KIND [NAME...] | KIND/NAME... | KIND,KIND: read resources and print them
// (-o yaml|json|wide|name|custom-columns=…|jsonpath=…, default table).
//
// Without names it lists the kind (namespaced kinds: the -n namespace, "default" by default, or
// every namespace with -A/-a), optionally filtered by -l (a Calico selector, or kubectl's
// `key=value,…`). With names it prints those found and reports each missing one on stderr (exit
// code 2), so a script sees both the data it could get and that something was missing. With
// -w/--watch it then prints every change until interrupted.

import { type Command, Option } from 'commander';
import { DEFAULT_NAMESPACE, type ResourceClient, toResource } from '../client/index.js';
import type { WatchEvent } from '../datastore/datastore.js';
import { type ResourceObject, resourceKey } from '../model/index.js';
import { parseSelector, selectorFromLabelFlag } from '../selector/index.js';
import { type TableResource, columnsFor, columnsKey } from './columns.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode, combineExitCodes } from './exit-codes.js';
import { type Output, type RenderOptions, UsageError, customColumns, parseOutput, renderResources, toJson, toYaml } from './output.js';
import { type Target, parseTargets } from './targets.js';

interface GetFlags extends DatastoreFlags {
  output?: string;
  namespace?: string;
  allNamespaces?: boolean;
  a?: boolean;
  selector?: string;
  /** commander's name for --no-headers: false when it is given. */
  headers?: boolean;
  showLabels?: boolean;
  watch?: boolean;
}

export function registerGetCommand(program: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(program.command('get'))
    .description('print resources of one or more kinds, all of them or by name')
    .argument('<kind>', 'resource kind or alias (ippool/ipp, networkpolicy/np, globalnetworkpolicy/gnp, tier, profile, node, namespace/ns, pod, ...), KIND/NAME, or KIND,KIND')
    .argument('[names...]', 'names of the resources to print (default: all), or more KIND/NAME')
    .option('-o, --output <format>', 'yaml, json, wide, name, custom-columns=HEADER:.path,... or jsonpath=TEMPLATE (default: a table)')
    .option('-n, --namespace <ns>', 'namespace of namespaced kinds', DEFAULT_NAMESPACE)
    .option('-A, --all-namespaces', 'list namespaced kinds across every namespace')
    .addOption(new Option('-a', "calicoctl's spelling of -A").hideHelp())
    .option('-l, --selector <selector>', "only resources whose labels match: a Calico selector ('color == \"red\" && has(zone)') or kubectl's form (color=red,zone)")
    .option('--no-headers', 'print tables without the header line')
    .option('--show-labels', 'add a LABELS column to tables')
    .option('-w, --watch', 'after printing, keep printing each change (EVENT column: ADDED, MODIFIED, DELETED) until interrupted')
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl get ippools
  tabbyctl get ippool default-ipv4-ippool -o yaml
  tabbyctl get ippool/default-ipv4-ippool gnp/deny-all -o name
  tabbyctl get ippool,gnp
  tabbyctl get networkpolicy -A -o wide --show-labels
  tabbyctl get gnp -l "projectcalico.org/tier == 'security'" -o name
  tabbyctl get pods -A -l app=web,tier!=db
  tabbyctl get ippools -o custom-columns=NAME:.metadata.name,CIDR:.spec.cidr --no-headers
  tabbyctl get ippools -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{.spec.cidr}{"\\n"}{end}'
  tabbyctl get gnp -w

${EXIT_CODES_HELP}
`,
    )
    .action(ctx.action(async (kindArg: string, names: string[], opts: GetFlags) => get(ctx, parseTargets([kindArg, ...names], 'get'), opts)));
}

async function get(ctx: CtlContext, targets: Target[], opts: GetFlags): Promise<ExitCode> {
  const output = parseOutput(opts.output);
  const allNamespaces = opts.allNamespaces === true || opts.a === true;
  const named = targets.some((t) => t.names.length > 0);
  if (named && opts.selector !== undefined) throw new UsageError('give either resource names or -l SELECTOR, not both');
  if (named && allNamespaces) throw new UsageError('-A lists every namespace; to get resources by name, give their namespace with -n');
  if (opts.watch && targets.length > 1) throw new UsageError('--watch follows one kind at a time');
  const selector = opts.selector === undefined ? undefined : selectorFromLabelFlag(opts.selector);
  const base = { ...(output.template === undefined ? {} : { template: output.template }), noHeaders: opts.headers === false, showLabels: opts.showLabels === true };
  return ctx.withClient(opts, async (client) => {
    const codes: ExitCode[] = [];
    const results: { target: Target; items: ResourceObject[]; resourceVersion: string; single: boolean }[] = [];
    for (const target of targets) {
      if (target.names.length === 0) {
        const list = await client.list(target.kind, {
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          ...(allNamespaces ? { allNamespaces: true } : {}),
          ...(selector === undefined ? {} : { labelSelector: selector }),
        });
        results.push({ target, items: list.items, resourceVersion: list.resourceVersion, single: false });
        continue;
      }
      const found: ResourceObject[] = [];
      for (const name of target.names) {
        try {
          found.push(await client.get(target.kind, opts.namespace, name));
          codes.push(ExitCode.Ok);
        } catch (err) {
          codes.push(ctx.report(err));
        }
      }
      const version = found.reduce((max, r) => Math.max(max, Number(r.metadata.resourceVersion ?? 0)), 0);
      results.push({ target, items: found, resourceVersion: String(version), single: targets.length === 1 && target.names.length === 1 });
    }
    const render = (r: (typeof results)[number]): RenderOptions => ({
      ...base,
      format: output.format,
      kind: r.target.kind,
      single: r.single,
      resourceVersion: r.resourceVersion,
      withNamespace: r.target.kind.namespaced && allNamespaces,
    });
    if (opts.watch) {
      // The listing comes first as ADDED events, in the same shape as the changes after it.
      await watch(ctx, client, results[0]!, output, { ...opts, allNamespaces, ...(selector === undefined ? {} : { selector }) });
      return combineExitCodes(codes);
    }
    if (results.length === 1 || ['table', 'wide', 'name', 'custom-columns'].includes(output.format)) {
      // Tables one after another (a blank line between kinds), as kubectl prints several kinds.
      const shown = results.filter((r) => r.items.length > 0 || (results.length === 1 && !named));
      ctx.out(shown.map((r) => renderResources(r.items, render(r))).join(shown.length > 1 && output.format !== 'name' ? '\n' : ''));
    } else {
      // Several kinds as data: one v1 List holding every item.
      const all = results.flatMap((r) => r.items);
      const revision = String(Math.max(...results.map((r) => Number(r.resourceVersion))));
      // The kind given makes renderResources title the list `v1 List` (its kind + "List").
      const list = { ...results[0]!.target.kind, apiVersion: 'v1', kind: '' };
      if (all.length > 0 || !named) ctx.out(renderResources(all, { ...render(results[0]!), single: false, resourceVersion: revision, kind: list }));
    }
    return combineExitCodes(codes);
  });
}

/** Print each change after the listing until SIGINT/SIGTERM. */
async function watch(
  ctx: CtlContext,
  client: ResourceClient,
  from: { target: Target; items: ResourceObject[]; resourceVersion: string },
  output: Output,
  opts: GetFlags & { allNamespaces: boolean },
): Promise<void> {
  const { kind, names } = from.target;
  const selector = opts.selector === undefined ? undefined : parseSelector(opts.selector);
  const ns = opts.namespace ?? DEFAULT_NAMESPACE;
  const wanted = (r: ResourceObject): boolean =>
    (!kind.namespaced || opts.allNamespaces || r.metadata.namespace === ns) &&
    (names.length === 0 || names.includes(r.metadata.name ?? '')) &&
    (selector === undefined || selector.matches(r.metadata.labels ?? {}));
  const columns =
    output.format === 'custom-columns'
      ? customColumns(output.template ?? '')
      : columnsFor(columnsKey(kind), { wide: output.format === 'wide', withNamespace: kind.namespaced && opts.allNamespaces, showLabels: opts.showLabels === true });
  const print = (event: 'ADDED' | 'MODIFIED' | 'DELETED', r: ResourceObject): void => {
    if (output.format === 'json') ctx.out(toJson({ type: event, object: r }));
    else if (output.format === 'yaml') ctx.out(`---\n${toYaml({ type: event, object: r })}`);
    else if (output.format === 'name') ctx.out(`${event} ${renderResources([r], { format: 'name', kind, single: true, resourceVersion: '', withNamespace: false })}`);
    else ctx.out(`${[event, ...columns.map((c) => c.value(r as unknown as TableResource))].join('   ').trimEnd()}\n`);
  };
  const keyOf = (r: ResourceObject) => resourceKey(kind, kind.namespaced ? r.metadata.namespace : undefined, r.metadata.name ?? '');
  const known = new Map<string, ResourceObject>(from.items.map((r) => [keyOf(r), r]));
  const ofKind = (key: string) => key.slice(kind.keyPrefix.length).split('/').length === (kind.namespaced ? 2 : 1);
  if (!['json', 'yaml', 'name'].includes(output.format) && opts.headers !== false) ctx.out(`${['EVENT', ...columns.map((c) => c.header)].join('   ')}\n`);
  for (const r of from.items) print('ADDED', r);
  // The listing was read at from.resourceVersion; the watch reports the changes after it.
  const handle = client.datastore.watch(kind.keyPrefix, Number(from.resourceVersion), {
    onEvents: (events: WatchEvent[]) => {
      for (const e of events) {
        const key = e.type === 'put' ? e.kv.key : e.key;
        if (!ofKind(key)) continue;
        const before = known.get(key);
        const now = e.type === 'put' ? toResource(e.kv) : undefined;
        // A change that takes a resource out of the selection is its deletion from this view.
        if (now !== undefined && wanted(now)) {
          known.set(key, now);
          print(before === undefined ? 'ADDED' : 'MODIFIED', now);
        } else if (before !== undefined) {
          known.delete(key);
          print('DELETED', now ?? before);
        }
      }
    },
    onResync: (snapshot) => {
      // The watch fell behind a compaction: report what changed in between from the new listing.
      const now = new Map(snapshot.items.filter((kv) => ofKind(kv.key)).map((kv) => [kv.key, toResource(kv)] as const).filter(([, r]) => wanted(r)));
      for (const [key, r] of known) if (!now.has(key)) print('DELETED', r);
      for (const [key, r] of now) if (known.get(key)?.metadata.resourceVersion !== r.metadata.resourceVersion) print(known.has(key) ? 'MODIFIED' : 'ADDED', r);
      known.clear();
      for (const [key, r] of now) known.set(key, r);
    },
  });
  await new Promise<void>((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await handle.close();
}
