// tabbyctl get KIND [NAME...]: read resources and print them (-o yaml|json|wide|name, default table).
//
// Without names it lists the kind (namespaced kinds: the -n namespace, "default" by default, or
// every namespace with -A), optionally filtered by -l with a Calico selector over the labels.
// With names it prints those found and reports each missing one on stderr (exit code 2), so a
// script sees both the data it could get and that something was missing.

import type { Command } from 'commander';
import { DEFAULT_NAMESPACE } from '../client/index.js';
import { type ResourceObject, kindInfo } from '../model/index.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode, combineExitCodes } from './exit-codes.js';
import { UsageError, parseOutputFormat } from './output.js';

interface GetFlags extends DatastoreFlags {
  output?: string;
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
}

export function registerGetCommand(program: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(program.command('get'))
    .description('print resources of one kind, all of them or by name')
    .argument('<kind>', 'resource kind or alias: ippool (ipp), networkpolicy (np), globalnetworkpolicy (gnp), tier, profile, node, namespace (ns), pod, ...')
    .argument('[names...]', 'names of the resources to print (default: all)')
    .option('-o, --output <format>', 'yaml, json, wide or name (default: a table)')
    .option('-n, --namespace <ns>', 'namespace of namespaced kinds', DEFAULT_NAMESPACE)
    .option('-A, --all-namespaces', 'list namespaced kinds across every namespace')
    .option('-l, --selector <selector>', "only resources whose labels match this Calico selector, e.g. 'color == \"red\" && has(zone)'")
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl get ippools
  tabbyctl get ippool default-ipv4-ippool -o yaml
  tabbyctl get networkpolicy -A -o wide
  tabbyctl get gnp -l 'tier == "security"' -o name
  tabbyctl get ns -o json

${EXIT_CODES_HELP}
`,
    )
    .action(ctx.action(async (kindName: string, names: string[], opts: GetFlags) => get(ctx, kindName, names, opts)));
}

async function get(ctx: CtlContext, kindName: string, names: string[], opts: GetFlags): Promise<ExitCode> {
  const kind = kindInfo(kindName);
  const format = parseOutputFormat(opts.output);
  if (names.length > 0 && opts.selector !== undefined) throw new UsageError('give either resource names or -l SELECTOR, not both');
  if (names.length > 0 && opts.allNamespaces) throw new UsageError('-A lists every namespace; to get resources by name, give their namespace with -n');
  const withNamespace = kind.namespaced && opts.allNamespaces === true;
  return ctx.withClient(opts, async (client) => {
    if (names.length === 0) {
      const list = await client.list(kind, {
        ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
        ...(opts.allNamespaces ? { allNamespaces: true } : {}),
        ...(opts.selector === undefined ? {} : { labelSelector: opts.selector }),
      });
      ctx.render(list.items, { format, kind, single: false, resourceVersion: list.resourceVersion, withNamespace });
      return ExitCode.Ok;
    }
    const found: ResourceObject[] = [];
    const codes: ExitCode[] = [];
    for (const name of names) {
      try {
        found.push(await client.get(kind, opts.namespace, name));
        codes.push(ExitCode.Ok);
      } catch (err) {
        codes.push(ctx.report(err));
      }
    }
    const version = found.reduce((max, r) => Math.max(max, Number(r.metadata.resourceVersion ?? 0)), 0);
    if (found.length > 0) {
      ctx.render(found, { format, kind, single: names.length === 1, resourceVersion: String(version), withNamespace });
    }
    return combineExitCodes(codes);
  });
}
