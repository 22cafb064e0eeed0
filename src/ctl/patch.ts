// tabbyctl patch KIND NAME -p JSON: a JSON merge patch (RFC 7386) of one stored resource.
//
// The patched object is validated like any write and stored with a compare on the revision it
// was read at; if another writer changed it in between, the client reads and patches again,
// unless the patch itself pins metadata.resourceVersion (then it is a Conflict, exit code 3).

import type { Command } from 'commander';
import { DEFAULT_NAMESPACE } from '../client/index.js';
import type { JsonValue } from '../datastore/index.js';
import { kindInfo } from '../model/index.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { UsageError } from './output.js';

interface PatchFlags extends DatastoreFlags {
  patch: string;
  namespace?: string;
}

export function registerPatchCommand(program: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(program.command('patch'))
    .description('change fields of one resource with a JSON merge patch')
    .argument('<kind>', 'resource kind or alias (ippool, networkpolicy, gnp, ...)')
    .argument('<name>', 'resource name')
    .requiredOption('-p, --patch <json>', 'JSON merge patch: objects merge, null removes a field, anything else replaces it')
    .option('-n, --namespace <ns>', 'namespace of a namespaced resource', DEFAULT_NAMESPACE)
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl patch ippool pool-a -p '{"spec":{"natOutgoing":true}}'
  tabbyctl patch gnp deny-all -p '{"spec":{"order":50}}'
  tabbyctl patch networkpolicy allow-dns -n prod -p '{"metadata":{"labels":{"team":null}}}'

${EXIT_CODES_HELP}
`,
    )
    .action(
      ctx.action(async (kindName: string, name: string, opts: PatchFlags) => {
        const kind = kindInfo(kindName);
        const patch = parsePatch(opts.patch);
        await ctx.withClient(opts, (client) => client.patch(kind, kind.namespaced ? opts.namespace : undefined, name, patch));
        ctx.out(`Successfully patched 1 '${kind.kind}' resource\n`);
        return ExitCode.Ok;
      }),
    );
}

export function parsePatch(text: string): JsonValue {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new UsageError(`-p is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('-p must be a JSON object, e.g. \'{"spec":{"natOutgoing":true}}\'');
  }
  return value;
}
