// tabbyctl convert -f FILE: manifests into the Calico v3 resources Tabby stores, printed (calicoctl
// convert). A Kubernetes NetworkPolicy becomes the Calico NetworkPolicy Calico would enforce for
// it (tier default, order 1000, Calico's selector text), named as the Kubernetes policy so the
// output can be applied as a policy of its own; Calico v3 resources pass through validated and
// defaulted. Nothing is read from or written to the datastore.

import type { Command } from 'commander';
import { type K8sNetworkPolicy, K8S_NETWORK_POLICY_PREFIX, type ResourceObject, ValidationError, k8sNetworkPolicyToCalico } from '../model/index.js';
import type { CtlContext } from './context.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { loadInputs } from './manifests.js';
import { UsageError, toJson, toYaml } from './output.js';

interface ConvertFlags {
  filename?: string[];
  output?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** One input resource as Calico v3, or why it cannot be converted. */
export function convertResource(r: ResourceObject): ResourceObject | string {
  if (r.apiVersion === 'networking.k8s.io/v1' && r.kind === 'NetworkPolicy') {
    const np = k8sNetworkPolicyToCalico(r as unknown as K8sNetworkPolicy) as unknown as ResourceObject;
    const { uid: _uid, creationTimestamp: _created, ...metadata } = np.metadata as ResourceObject['metadata'] & { uid?: string; creationTimestamp?: string };
    return { ...np, metadata: { ...metadata, name: (metadata.name ?? '').slice(K8S_NETWORK_POLICY_PREFIX.length) } } as ResourceObject;
  }
  if (r.apiVersion === 'projectcalico.org/v3') return r;
  return `${r.apiVersion} ${r.kind} has no Calico v3 form to convert to (convert reads Kubernetes NetworkPolicies and Calico v3 resources)`;
}

export function registerConvertCommand(program: Command, ctx: CtlContext): void {
  program
    .command('convert')
    .description('print manifests as Calico v3 resources (Kubernetes NetworkPolicy → Calico NetworkPolicy)')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeatable', collect)
    .option('-o, --output <format>', 'yaml (default) or json')
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl convert -f k8s-netpol.yaml
  tabbyctl convert -f k8s-netpol.yaml | tabbyctl apply -f -
  kubectl get netpol -n shop -o yaml | tabbyctl convert -f - -o json

${EXIT_CODES_HELP}
`,
    )
    .action(
      ctx.action(async (opts: ConvertFlags) => {
        const format = (opts.output ?? 'yaml').toLowerCase();
        if (format !== 'yaml' && format !== 'json') throw new UsageError(`convert prints yaml or json, not "${opts.output}"`);
        const loaded = loadInputs(opts.filename ?? [], ctx.io.readStdin);
        if (loaded.issues.length > 0) return ctx.report(new ValidationError(loaded.issues));
        const converted: ResourceObject[] = [];
        for (const d of loaded.documents) {
          const c = convertResource(d.resource);
          if (typeof c === 'string') throw new UsageError(`${d.where.source}: document ${d.where.document}: ${c}`);
          converted.push(c);
        }
        if (format === 'json') ctx.out(toJson(converted.length === 1 ? converted[0] : { apiVersion: 'v1', kind: 'List', items: converted }));
        else ctx.out(converted.map(toYaml).join('---\n'));
        return ExitCode.Ok;
      }),
    );
}
