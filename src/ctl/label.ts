// tabbyctl label KIND NAME key=value... [key-]... [--overwrite]: calicoctl's and kubectl's label
// command. Labels are validated like any write; changing a label's value needs --overwrite.

import type { Command } from 'commander';
import { DEFAULT_NAMESPACE } from '../client/index.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { UsageError } from './output.js';
import { parseTargets } from './targets.js';

interface LabelFlags extends DatastoreFlags {
  namespace?: string;
  overwrite?: boolean;
  remove?: boolean;
}

/** `key=value` sets, `key-` removes (kubectl); with --remove, bare keys are removed (calicoctl). */
export function parseLabelArgs(args: readonly string[], removeFlag: boolean): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) set[a.slice(0, eq)] = a.slice(eq + 1);
    else if (a.endsWith('-') && a.length > 1) remove.push(a.slice(0, -1));
    else if (removeFlag && a !== '') remove.push(a);
    else throw new UsageError(`"${a}" is neither key=value (to set a label) nor key- (to remove one)`);
  }
  if (Object.keys(set).length + remove.length === 0) throw new UsageError('give at least one key=value or key- to change');
  return { set, remove };
}

export function registerLabelCommand(program: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(program.command('label'))
    .description('set or remove labels on one resource')
    .argument('<kind>', 'resource kind or alias (ippool, gnp, node, ...), or KIND/NAME')
    .argument('[args...]', 'the name (unless KIND/NAME was given), then key=value to set and key- to remove')
    .option('-n, --namespace <ns>', 'namespace of a namespaced resource', DEFAULT_NAMESPACE)
    .option('--overwrite', 'allow changing the value of a label that is already set')
    .option('--remove', "calicoctl's form: remove the labels given as bare keys")
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl label node node-1 rack=r12
  tabbyctl label ippool/pool-a env=prod --overwrite
  tabbyctl label gnp deny-all team-
  tabbyctl label workloadendpoint node1-k8s-web-eth0 -n shop canary=true

${EXIT_CODES_HELP}
`,
    )
    .action(
      ctx.action(async (kindArg: string, args: string[], opts: LabelFlags) => {
        const slash = kindArg.includes('/');
        const [target] = parseTargets(slash ? [kindArg] : [kindArg, ...args.slice(0, 1)], 'label');
        if (target === undefined || target.names.length !== 1) throw new UsageError('name one resource: tabbyctl label KIND NAME key=value... or KIND/NAME key=value...');
        const change = parseLabelArgs(slash ? args : args.slice(1), opts.remove === true);
        const { kind } = target;
        await ctx.withClient(opts, (client) =>
          client.label(kind, kind.namespaced ? opts.namespace : undefined, target.names[0]!, { ...change, ...(opts.overwrite ? { overwrite: true } : {}) }),
        );
        ctx.out(`Successfully labeled 1 '${kind.kind}' resource\n`);
        return ExitCode.Ok;
      }),
    );
}
