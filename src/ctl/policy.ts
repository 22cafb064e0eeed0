// tabbyctl policy matrix|explain|stats: parse the flags, build the policy engine's graph from `-f`
// manifests or the live datastore, call the engine (src/policy), print. No policy logic here.
// stats asks each node's agent for its per-rule nft counters (GET /policy/stats on the node's
// health endpoint, at the Node resource's address; counters never go through the datastore).
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
  resolveDnatWord,
  resolveHostEndpointWord,
  resolvePeerWord,
} from '../policy/index.js';
import type { CtlContext } from './context.js';
import { ExitCode } from './exit-codes.js';
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
  via?: string;
  leaves?: string;
  dnat?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

interface StatsFlags extends DatastoreFlags {
  node?: string[];
  healthUrl?: string;
  healthPort?: string;
  output?: string;
}

/** One rule's counters as a node's agent serves them (src/agent/policy.ts RuleStat). */
interface RuleStat {
  tier: string;
  policy: string;
  kind: string;
  direction: string;
  rule?: number;
  action: string;
  endpoint?: string;
  note?: string;
  packets: number;
  bytes: number;
}
interface NodeStats {
  node: string;
  at?: string;
  url: string;
  rules?: RuleStat[];
  /** The datastore revision the node's policy dataplane has applied, and when (agents that report it). */
  appliedRevision?: number;
  appliedAt?: string;
  error?: string;
}

async function fetchStats(node: string, url: string, timeoutMs = 5000): Promise<NodeStats> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { node?: string; at?: string; rules?: RuleStat[]; appliedRevision?: number; appliedAt?: string; error?: string };
    if (!res.ok || body.rules === undefined) return { node, url, error: body.error ?? `HTTP ${res.status}` };
    return {
      node: body.node ?? node,
      url,
      ...(body.at === undefined ? {} : { at: body.at }),
      rules: body.rules,
      ...(typeof body.appliedRevision === 'number' ? { appliedRevision: body.appliedRevision } : {}),
      ...(body.appliedAt === undefined ? {} : { appliedAt: body.appliedAt }),
    };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { node, url, error: `nothing answers at ${url} (${cause ?? (e as Error).message}): is tabby node running there, with its health endpoint on an address this host reaches (TABBY_HEALTH_HOST)?` };
  }
}

/** Wide output's head: each node's applied datastore revision and when it was applied. */
function renderAppliedTable(nodes: readonly NodeStats[]): string {
  const rows = [['NODE', 'APPLIED-REVISION', 'APPLIED-AT'], ...nodes.map((n) => [n.node, n.appliedRevision === undefined ? '-' : String(n.appliedRevision), n.appliedAt ?? '-'])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** The stats table: one row per rule, busiest first within a node; wide starts with each node's applied revision. */
export function renderStatsTable(nodes: readonly NodeStats[], wide: boolean): string {
  if (wide) return `${renderAppliedTable(nodes)}\n${renderRules(nodes, true)}`;
  return renderRules(nodes, false);
}

function renderRules(nodes: readonly NodeStats[], wide: boolean): string {
  const head = ['NODE', 'TIER', 'POLICY', 'DIRECTION', 'RULE', 'ACTION', 'PACKETS', 'BYTES', ...(wide ? ['ENDPOINT'] : [])];
  const rows: string[][] = [head];
  const rank = (r: RuleStat): number => (r.kind === 'policy' ? 0 : r.kind === 'endpoint' ? 1 : 2);
  for (const n of nodes) {
    const sorted = [...(n.rules ?? [])].sort((a, b) => rank(a) - rank(b) || (a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : 0) || (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0) || (a.direction < b.direction ? -1 : a.direction > b.direction ? 1 : 0) || (a.rule ?? 0) - (b.rule ?? 0));
    for (const r of sorted) {
      if (!wide && r.kind === 'endpoint' && r.packets === 0) continue;
      // An endpoint's own drop names its pod (the interface is in the wide ENDPOINT column).
      const pod = /\((.*)\)$/.exec(r.endpoint ?? '')?.[1];
      const policy = r.kind === 'endpoint' ? `(${r.note ?? 'endpoint'}${pod === undefined ? '' : `: ${pod}`})` : r.kind === 'profile' ? `profile ${r.policy}` : r.policy;
      rows.push([n.node, r.tier === '' ? '-' : r.tier, policy, r.direction, r.rule === undefined ? '-' : String(r.rule), r.action, String(r.packets), String(r.bytes), ...(wide ? [r.endpoint ?? '-'] : [])]);
    }
  }
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c >= 6 && c <= 7 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function registerPolicyCommands(program: Command, ctx: CtlContext): void {
  const policy = program
    .command('policy')
    .description('ask the policy engine which flows Calico and Kubernetes network policy allow, and why')
    .addHelpText('after', '\nExamples:\n  tabbyctl policy matrix -f manifests/ --port 80 -o json\n  tabbyctl policy explain -f manifests/ --from y/a --to x/a --port 80 --protocol TCP\n  tabbyctl policy stats --node node-1\n');

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

  registerStats(policy, ctx);

  ctx
    .addDatastoreOptions(policy.command('explain'))
    .description('say whether one flow is allowed and which tier, policy and rule decide, with every policy consulted on the way')
    .requiredOption('--from <peer>', 'source: NAMESPACE/POD or an IP address')
    .requiredOption('--to <peer>', 'destination: NAMESPACE/POD or an IP address')
    .option('--port <port>', 'destination port (TCP, UDP, SCTP)')
    .option('--protocol <protocol>', 'TCP, UDP, SCTP, ICMP, ICMPv6 or a number', 'TCP')
    .option('--icmp-type <n>', 'ICMP type (with --protocol ICMP/ICMPv6)')
    .option('--icmp-code <n>', 'ICMP code')
    .option('--via <hostendpoint>', 'HostEndpoint (NAME or hep/NAME) the flow arrives through and is forwarded on: its untracked, preDNAT and applyOnForward ingress policy apply')
    .option('--leaves <hostendpoint>', 'HostEndpoint (NAME or hep/NAME) a forwarded flow leaves the host by: its applyOnForward egress policy applies')
    .option('--dnat <target>', 'where DNAT sends the flow (a node port to a pod): IP, IP:PORT, [IPv6]:PORT, NAMESPACE/POD or NAMESPACE/POD:PORT; --to and --port are what the client addressed')
    .option('-f, --filename <path>', 'manifests (file, directory or - for stdin) instead of the live datastore; repeatable', collect)
    .option('-o, --output <format>', 'json or yaml (default: text)')
    .addHelpText(
      'after',
      `
Host endpoints: a flow to or from an address in a HostEndpoint's expectedIPs meets that host
endpoint's policy (failsafe ports, doNotTrack, preDNAT, then normal). With --dnat, untracked and
preDNAT policy see the original destination (--to, --port) and every later stage the DNAT
target; the host endpoint holding --to becomes the one the flow arrives through unless --via
says otherwise. A forwarded flow meets applyOnForward policy only: name the host endpoints it
crosses with --via and --leaves. A pod's side of a forwarded flow meets its node's
all-interfaces HostEndpoint (interfaceName "*") when there is one; between a pod and its own
node no host endpoint policy applies.

Examples:
  tabbyctl policy explain -f manifests/ --from y/a --to x/a --port 80 --protocol TCP
  tabbyctl policy explain -f manifests/ --from x/a --to 10.0.2.2 --port 53 --protocol UDP -o json
  tabbyctl policy explain -f manifests/ --from 198.51.100.7 --to 10.0.0.11 --port 30080 --dnat x/a:80
  tabbyctl policy explain -f manifests/ --from 198.51.100.7 --to x/a --port 80 --via node-1-eth0
  tabbyctl policy explain -f manifests/ --from x/a --to 198.51.100.7 --port 443 --leaves node-1-eth0

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
        const via = opts.via === undefined ? undefined : resolveHostEndpointWord(loaded.graph, opts.via, '--via');
        const leaves = opts.leaves === undefined ? undefined : resolveHostEndpointWord(loaded.graph, opts.leaves, '--leaves');
        const dnat = opts.dnat === undefined ? undefined : resolveDnatWord(loaded.graph, opts.dnat, '--dnat');
        const verdict = evaluateFlow(loaded.graph, {
          src,
          dst: { ...dst, ...(port === undefined ? {} : { port }) },
          protocol,
          ...(via === undefined ? {} : { viaHostEndpoint: via }),
          ...(leaves === undefined ? {} : { leavesHostEndpoint: leaves }),
          ...(dnat === undefined ? {} : { dnat }),
          ...(opts.icmpType === undefined ? {} : { icmpType: parseSmall(opts.icmpType, '--icmp-type') }),
          ...(opts.icmpCode === undefined ? {} : { icmpCode: parseSmall(opts.icmpCode, '--icmp-code') }),
        });
        ctx.out(format === 'json' ? toJson(verdict) : format === 'yaml' ? toYaml(verdict) : renderExplainText(verdict));
      }),
    );
}

function registerStats(policy: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(policy.command('stats'))
    .description("print per-rule packet and byte counters from each node's nftables policy dataplane")
    .option('--node <name>', 'only this node; repeatable (default: every Node in the datastore)', collect)
    .option('--health-url <url>', "ask one node's health endpoint directly (e.g. http://127.0.0.1:9099), without the datastore")
    .option('--health-port <port>', "the nodes' health port (default $TABBY_HEALTH_PORT, else 9099)")
    .option('-o, --output <format>', 'json, yaml or wide (default: a table of the rules with their counters)')
    .addHelpText(
      'after',
      `
Each node's agent reads its counters from nft when asked (GET /policy/stats on its health
endpoint); tabbyctl finds a node at its Node resource's address (spec.bgp.ipv4Address, else
ipv6Address) and the health port. The health endpoint listens on 127.0.0.1 unless the node runs
with TABBY_HEALTH_HOST (FELIX_HEALTHHOST) set to an address other hosts reach; on the node
itself, --health-url http://127.0.0.1:9099 always works. Counters start at 0 when a policy's
rules are rewritten; the agent's /metrics (tabby_policy_packets_total) keeps them growing.

Rows: policy rules (TIER, POLICY, DIRECTION, RULE index, ACTION), profile rules, and each
endpoint's own drops ("end of tier T": no policy of the tier decided; "no policy or profile
allowed": Calico's default isolation). The table hides endpoint drops that saw no packet; -o wide
shows them all with their endpoint, after a table of each node's APPLIED-REVISION: the datastore
(etcd) revision of the newest policy change that node's kernel enforces (appliedRevision in JSON).

Examples:
  tabbyctl policy stats
  tabbyctl policy stats --node node-2 -o json
  tabbyctl policy stats --health-url http://127.0.0.1:9099 -o wide

${EXIT_CODES_HELP}
`,
    )
    .action(
      ctx.action(async (opts: StatsFlags) => {
        const format = parseFormat(opts.output, ['json', 'yaml', 'wide']);
        const portText = opts.healthPort ?? ctx.io.env.TABBY_HEALTH_PORT ?? ctx.io.env.FELIX_HEALTHPORT ?? '9099';
        const port = parsePort(portText);
        let targets: { node: string; url: string }[];
        if (opts.healthUrl !== undefined) {
          let url: URL;
          try {
            url = new URL('/policy/stats', opts.healthUrl);
          } catch {
            throw new UsageError(`--health-url ${JSON.stringify(opts.healthUrl)} is not a URL like http://127.0.0.1:9099`);
          }
          targets = [{ node: opts.node?.[0] ?? url.host, url: url.toString() }];
        } else {
          const nodes = await ctx.withClient(opts, async (client) => (await client.list(kindInfo('Node'))).items);
          const wanted = new Set(opts.node ?? []);
          for (const w of wanted) if (!nodes.some((n) => n.metadata.name === w)) throw Object.assign(new Error(`node ${JSON.stringify(w)} does not exist (tabbyctl get nodes lists them)`), { code: 'NotFound' });
          targets = nodes
            .filter((n) => wanted.size === 0 || wanted.has(n.metadata.name ?? ''))
            .map((n) => {
              const bgp = (n.spec as { bgp?: { ipv4Address?: string; ipv6Address?: string } }).bgp;
              const v4 = bgp?.ipv4Address?.split('/')[0];
              const v6 = bgp?.ipv6Address?.split('/')[0];
              const host = v4 ?? (v6 === undefined ? undefined : `[${v6}]`);
              return { node: n.metadata.name ?? '', url: host === undefined ? '' : `http://${host}:${port}/policy/stats` };
            });
        }
        const results = await Promise.all(targets.map((t) => (t.url === '' ? Promise.resolve<NodeStats>({ node: t.node, url: '', error: 'the Node resource has no address (spec.bgp.ipv4Address/ipv6Address)' }) : fetchStats(t.node, t.url))));
        for (const r of results) if (r.error !== undefined) ctx.err(`error: node ${r.node}: ${r.error}\n`);
        const ok = results.filter((r) => r.error === undefined);
        if (format === 'json' || format === 'yaml') {
          const value = {
            nodes: ok.map((r) => ({ node: r.node, at: r.at, rules: r.rules, ...(r.appliedRevision === undefined ? {} : { appliedRevision: r.appliedRevision }), ...(r.appliedAt === undefined ? {} : { appliedAt: r.appliedAt }) })), ...(results.length > ok.length ? { errors: results.filter((r) => r.error !== undefined).map((r) => ({ node: r.node, error: r.error })) } : {}) };
          ctx.out(format === 'json' ? toJson(value) : toYaml(value));
        } else if (ok.length > 0) {
          ctx.out(renderStatsTable(ok, format === 'wide'));
        }
        return results.length > ok.length ? ExitCode.Unavailable : ExitCode.Ok;
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
