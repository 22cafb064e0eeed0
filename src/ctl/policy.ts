// tabbyctl policy matrix|explain: parse the flags, build the policy engine's graph from `-f`
// manifests or the live datastore, call the engine (src/policy), print. No policy logic here.
//
// matrix prints DESIGN.md §9's JSON {"pods":[...],"matrix":[[...]]} (-o json), YAML, or a grid
// (the default, and -o wide). explain prints text a person reads at a glance, or the engine's
// verdict as JSON (-o json). Both exit 0 when they could answer; a denied flow is an answer.

import type { Command } from 'commander';
import { protocolNumber, type ResourceObject, ValidationError, kindInfo } from '../model/index.js';
import {
  POLICY_INPUT_KINDS,
  type LoadedGraph,
  computeMatrix,
  evaluateFlow,
  graphFromResources,
  matrixPods,
  renderExplainText,
  renderMatrixWide,
  resolvePeerWord,
} from '../policy/index.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { loadInputs } from './manifests.js';
import { UsageError, toJson, toYaml } from './output.js';

interface PolicyFlags extends DatastoreFlags {
  filename?: string[];
  port?: string;
  protocol?: string;
  output?: string;
}

interface ExplainFlags extends PolicyFlags {
  from?: string;
  to?: string;
  icmpType?: string;
  icmpCode?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerPolicyCommands(program: Command, ctx: CtlContext): void {
  const policy = program
    .command('policy')
    .description('ask the policy engine which flows Calico and Kubernetes network policy allow, and why')
    .addHelpText('after', '\nExamples:\n  tabbyctl policy matrix -f manifests/ --port 80 -o json\n  tabbyctl policy explain -f manifests/ --from y/a --to x/a --port 80 --protocol TCP\n');

  ctx
    .addDatastoreOptions(policy.command('matrix'))
    .description('print pod-to-pod reachability on one port and protocol (rows: from, columns: to)')
    .option('-f, --filename <path>', 'manifests (file, directory or - for stdin) instead of the live datastore; repeatable', collect)
    .option('--port <port>', 'destination port', '80')
    .option('--protocol <protocol>', 'TCP, UDP or SCTP', 'TCP')
    .option('-o, --output <format>', 'json, yaml or wide (default: the wide grid)')
    .addHelpText(
      'after',
      `
Pods come from the Pod resources (labels, status.podIP(s), container ports for named ports), or
from Kubernetes WorkloadEndpoints when there are no Pods.

Examples:
  tabbyctl policy matrix -f namespaces.yaml -f pods.yaml -f policies.yaml --port 80 -o json
  tabbyctl policy matrix -f manifests/ --port 53 --protocol UDP
  tabbyctl policy matrix -o wide           # from the live datastore

${EXIT_CODES_HELP}
`,
    )
    .action(
      ctx.action(async (opts: PolicyFlags) => {
        const protocol = parseProtocol(opts.protocol, ['TCP', 'UDP', 'SCTP']);
        const port = parsePort(opts.port);
        const format = parseFormat(opts.output, ['json', 'yaml', 'wide']);
        const loaded = await load(ctx, opts);
        const m = computeMatrix(loaded.graph, { protocol, port }, matrixPods(loaded.graph));
        const value = { pods: m.pods, matrix: m.matrix };
        ctx.out(format === 'json' ? JSON.stringify(value) + '\n' : format === 'yaml' ? toYaml(value) : renderMatrixWide(m));
      }),
    );

  ctx
    .addDatastoreOptions(policy.command('explain'))
    .description('say whether one flow is allowed and which tier, policy and rule decide, with every policy consulted on the way')
    .requiredOption('--from <peer>', 'source: NAMESPACE/POD or an IP address')
    .requiredOption('--to <peer>', 'destination: NAMESPACE/POD or an IP address')
    .option('--port <port>', 'destination port (TCP, UDP, SCTP)')
    .option('--protocol <protocol>', 'TCP, UDP, SCTP, ICMP, ICMPv6 or a number', 'TCP')
    .option('--icmp-type <n>', 'ICMP type (with --protocol ICMP/ICMPv6)')
    .option('--icmp-code <n>', 'ICMP code')
    .option('-f, --filename <path>', 'manifests (file, directory or - for stdin) instead of the live datastore; repeatable', collect)
    .option('-o, --output <format>', 'json or yaml (default: text)')
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl policy explain -f manifests/ --from y/a --to x/a --port 80 --protocol TCP
  tabbyctl policy explain -f manifests/ --from x/a --to 10.0.2.2 --port 53 --protocol UDP -o json

${EXIT_CODES_HELP}
`,
    )
    .action(
      ctx.action(async (opts: ExplainFlags) => {
        const protocol = parseProtocol(opts.protocol, undefined);
        const format = parseFormat(opts.output, ['json', 'yaml', 'text']);
        const port = opts.port === undefined ? undefined : parsePort(opts.port);
        const loaded = await load(ctx, opts);
        const src = resolvePeerWord(loaded.graph, opts.from!, '--from');
        const dst = resolvePeerWord(loaded.graph, opts.to!, '--to');
        const verdict = evaluateFlow(loaded.graph, {
          src,
          dst: { ...dst, ...(port === undefined ? {} : { port }) },
          protocol,
          ...(opts.icmpType === undefined ? {} : { icmpType: parseSmall(opts.icmpType, '--icmp-type') }),
          ...(opts.icmpCode === undefined ? {} : { icmpCode: parseSmall(opts.icmpCode, '--icmp-code') }),
        });
        ctx.out(format === 'json' ? toJson(verdict) : format === 'yaml' ? toYaml(verdict) : renderExplainText(verdict));
      }),
    );
}

async function load(ctx: CtlContext, opts: PolicyFlags): Promise<LoadedGraph> {
  let resources: ResourceObject[];
  if ((opts.filename ?? []).length > 0) {
    const loaded = loadInputs(opts.filename!, ctx.io.readStdin);
    if (loaded.issues.length > 0) throw new ValidationError(loaded.issues);
    resources = loaded.documents.map((d) => d.resource);
  } else {
    resources = await ctx.withClient(opts, async (client) => {
      const out: ResourceObject[] = [];
      for (const name of POLICY_INPUT_KINDS) {
        const kind = name === 'KubernetesNetworkPolicy' ? kindInfo('networkpolicies.networking.k8s.io') : kindInfo(name);
        out.push(...(await client.list(kind, { allNamespaces: true })).items);
      }
      return out;
    });
  }
  const g = graphFromResources(resources);
  for (const p of g.problems) ctx.err(`warning: ${p}\n`);
  if (g.suppliedNamespaces.length > 0) ctx.err(`note: namespace${g.suppliedNamespaces.length > 1 ? 's' : ''} ${g.suppliedNamespaces.join(', ')} not among the resources; assumed to exist with no labels but kubernetes.io/metadata.name\n`);
  return g;
}

function parsePort(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`--port ${JSON.stringify(text)} is not a port number (1–65535)`);
  return n;
}

function parseSmall(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 255) throw new UsageError(`${flag} ${JSON.stringify(text)} must be a number 0–255`);
  return Number(text);
}

function parseProtocol(text: string | undefined, allowed: readonly string[] | undefined): number {
  const t = text ?? 'TCP';
  const canonical = ['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPv6', 'UDPLite'].find((p) => p.toLowerCase() === t.toLowerCase()) ?? t;
  const n = protocolNumber(canonical);
  if (n === undefined || n < 1 || n > 255 || (allowed !== undefined && !allowed.includes(canonical))) {
    throw new UsageError(`--protocol ${JSON.stringify(t)} is not one of ${(allowed ?? ['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPv6', 'a number 1–255']).join(', ')}`);
  }
  return n;
}

function parseFormat<T extends string>(text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined || text === '') return undefined;
  const f = text.toLowerCase() as T;
  if (!allowed.includes(f)) throw new UsageError(`unknown output format "${text}"; use one of ${allowed.join(', ')}`);
  return f;
}
