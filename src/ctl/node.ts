// tabbyctl node status: this host's Tabby node as calicoctl node status shows Calico's — whether
// it runs, its processes, the routes its reconciler programmed and when it last resynced, and the
// BGP peers when the BGP daemon runs (peer address, type, state, since, info, prefixes).

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { type NodeStatus, fetchNodeStatus } from '../agent/index.js';
import { DEFAULT_STATUS_SOCKET, type SpeakerStatus, queryDaemon } from '../bgp/index.js';
import type { CtlContext } from './context.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { UsageError, toJson } from './output.js';

interface NodeStatusFlags {
  output?: string;
  healthUrl?: string;
  bgpSocket?: string;
}

const table = (rows: readonly (readonly string[])[]): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  return [rule, line(rows[0]!), rule, ...rows.slice(1).map(line), rule].join('\n');
};

export function formatNodeStatus(node: NodeStatus, bgp: NodeBgpStatus | undefined, now: Date = new Date(), bgpError?: string): string {
  const out: string[] = [`Tabby node is running${node.ready ? '' : ' but not ready'}.`, ''];
  out.push(table([['PROCESS', 'PID', 'STATE', 'READY', 'RESTARTS', 'REASON'], ...node.children.map((c) => [c.name, String(c.pid ?? ''), c.state, c.ready ? 'yes' : 'no', String(c.restarts), c.reason ?? ''])]));
  const routes = node.children.find((c) => c.detail?.routes !== undefined)?.detail?.routes;
  if (routes !== undefined) {
    out.push('', 'Routes programmed by this node (route protocol 80):');
    out.push(`  ${routes.routes} routes (${routes.blackholes} blackholes), ${routes.neighbours} neighbours, ${routes.fdb} FDB entries; ${routes.inSync ? 'in sync with the datastore' : 'NOT in sync with the datastore'}`);
    for (const d of routes.devices) out.push(`  ${d.name}: VNI ${d.vni}, MTU ${d.mtu}, address ${d.address}`);
    out.push(`  last resync ${routes.lastResync ?? 'never'} (${routes.resyncs} resyncs, ${routes.repaired} drifted entries repaired)${routes.lastApply === undefined ? '' : `, last change ${routes.lastApply}`}`);
    if (routes.lastError !== undefined) out.push(`  last error: ${routes.lastError}`);
    for (const p of routes.problems) out.push(`  problem: ${p}`);
  }
  const policy = node.children.find((c) => c.detail?.policy !== undefined)?.detail?.policy;
  if (policy !== undefined) {
    out.push('', 'Network policy programmed by this node (nftables table inet tabby):');
    out.push(`  ${policy.endpoints} local endpoints, ${policy.policies} enforced policies; ${policy.inSync ? 'in sync with the datastore' : 'NOT in sync with the datastore'}`);
    out.push(`  last sync ${policy.lastSync ?? 'never'} (${policy.syncs} syncs, ${policy.repaired} drift repairs, every ${policy.refreshMs / 1000} s), ${policy.deltas} changes${policy.lastApply === undefined ? '' : `, last ${policy.lastApply}`}${policy.failures > 0 ? `, ${policy.failures} failed` : ''}`);
    if (policy.lastError !== undefined) out.push(`  last error: ${policy.lastError}`);
  }
  out.push('');
  if (bgp === undefined) out.push(bgpError ? `BGP daemon: ${bgpError}` : 'No BGP daemon runs on this node.');
  else {
    out.push(`BGP: AS ${bgp.asNumber}, router ID ${bgp.routerID}${bgp.restarting ? ' (restarting gracefully: waiting for the peers\' End-of-RIB)' : ''}`);
    for (const family of [4, 6] as const) {
      out.push('', `IPv${family} BGP status`);
      const peers = bgp.peers.filter((p) => p.address.includes(':') === (family === 6));
      const refused = (bgp.refused ?? []).filter((r) => r.address.includes(':') === (family === 6));
      if (peers.length + refused.length === 0) {
        out.push(`No IPv${family} peers found.`);
        continue;
      }
      out.push(table([
        ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO', 'PREFIXES IN/OUT'],
        ...peers.map((p) => [p.address, bgp.peerTypes?.[p.name] ?? p.type, p.state === 'Established' ? 'up' : 'start', sinceText(p.since, now), `${p.state === 'Established' ? 'Established' : `${p.state}${p.lastError ? ` ${p.lastError}` : ''}`}${p.bfd ? ` (BFD ${p.bfd.state})` : ''}`, `${p.prefixes.accepted}/${p.prefixes.advertised}`]),
        ...refused.map((r) => [r.address, r.peerType, 'refused', '', r.reason.length > 60 ? `${r.reason.slice(0, 57)}...` : r.reason, '-']),
      ]));
    }
    for (const p of bgp.problems ?? []) out.push(`problem: ${p}`);
  }
  return `${out.join('\n')}\n`;
}

/** calicoctl's SINCE: the time of day when it is today, else the date. */
export function sinceText(iso: string, now: Date): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const sameDay = t.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  return sameDay ? t.toISOString().slice(11, 19) : t.toISOString().slice(0, 10);
}

/** What the node's BGP daemon adds to the speaker's status (absent from a standalone `tabby bgp run`). */
export type NodeBgpStatus = SpeakerStatus & {
  peerTypes?: Record<string, string>;
  refused?: { name: string; peerType: string; address: string; reason: string }[];
  problems?: string[];
};

export function registerNodeCommands(program: Command, ctx: CtlContext): void {
  const node = program.command('node').description("this host's Tabby node: status");
  node
    .command('status')
    .description("print this host's Tabby node status: processes, programmed routes and last resync, BGP peers")
    .option('-o, --output <format>', 'text (default) or json')
    .option('--health-url <url>', "the node's health endpoint (default http://127.0.0.1:$TABBY_HEALTH_PORT, port 9099)")
    .option('--bgp-socket <path>', `the BGP daemon's status socket (default ${DEFAULT_STATUS_SOCKET})`)
    .addHelpText('after', `\nExamples:\n  tabbyctl node status\n  tabbyctl node status -o json | jq '.node.children[0].detail.routes'\n\n${EXIT_CODES_HELP}\n`)
    .action(
      ctx.action(async (opts: NodeStatusFlags) => {
        const format = (opts.output ?? 'text').toLowerCase();
        if (format !== 'text' && format !== 'json') throw new UsageError(`node status prints text or json, not "${opts.output}"`);
        const port = ctx.io.env.TABBY_HEALTH_PORT ?? ctx.io.env.FELIX_HEALTHPORT ?? '9099';
        const status = await fetchNodeStatus(opts.healthUrl ?? `http://127.0.0.1:${port}`);
        const socket = opts.bgpSocket ?? DEFAULT_STATUS_SOCKET;
        const answer = existsSync(socket) ? ((await queryDaemon(socket, { command: 'status' })) as NodeBgpStatus | { error: string }) : undefined;
        const bgp = answer === undefined || 'error' in answer ? undefined : answer;
        ctx.out(format === 'json' ? toJson({ node: status, bgp: answer ?? null }) : formatNodeStatus(status, bgp, new Date(), answer && 'error' in answer ? answer.error : undefined));
        return ExitCode.Ok;
      }),
    );
}
