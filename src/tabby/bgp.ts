// `tabby bgp`: the standalone BGP speaker (`run`) and its client commands (`status`, `routes`,
// `refresh`), which talk to the daemon's status socket. Wiring only; the logic is in src/bgp.

import type { Command } from 'commander';
import { DEFAULT_STATUS_SOCKET, type PeerStatus, type RouteView, type SpeakerStatus, queryDaemon, runDaemon } from '../bgp/index.js';

const EXIT_NOT_RUNNING = 3;

function fmtDuration(s: number): string {
  if (s <= 0) return '-';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatPeers(s: SpeakerStatus, wide: boolean): string {
  const head = ['PEER', 'ADDRESS', 'AS', 'TYPE', 'STATE', 'UPTIME', 'RECEIVED', 'ACCEPTED', 'ADVERTISED', 'LAST ERROR'];
  if (wide) head.splice(5, 0, 'ROUTER ID', 'HOLD', 'FAMILIES');
  // A BFD column when a peer uses BFD (or always in wide): its state, and its detection time when Up.
  const bfd = wide || s.peers.some((p) => p.bfd);
  if (bfd) head.splice(5, 0, 'BFD');
  const rows = s.peers.map((p: PeerStatus) => {
    const r = [p.name, p.address, String(p.asNumber), p.type, p.state + (p.stale ? ' (stale routes)' : ''), fmtDuration(p.uptimeSeconds), String(p.prefixes.received), String(p.prefixes.accepted), String(p.prefixes.advertised), p.lastError];
    if (wide) r.splice(5, 0, p.remoteRouterID || '-', String(p.holdTime), p.families.join(',') || '-');
    if (bfd) r.splice(5, 0, !p.bfd ? '-' : p.bfd.state === 'Up' ? `Up/${p.bfd.detectionTimeMs}ms` : p.bfd.state);
    return r;
  });
  const header = `BGP speaker AS ${s.asNumber}, router ID ${s.routerID}, port ${s.listenPort}${s.restarting ? ', graceful restart in progress' : ''}; Loc-RIB ${s.routes.ipv4} IPv4 / ${s.routes.ipv6} IPv6 prefixes${s.kernel ? `, ${s.kernel.installed} kernel routes in table ${s.kernel.table}` : ''}\n`;
  return header + table([head, ...rows]);
}

function formatRoutes(routes: RouteView[]): string {
  const rows = routes.map((r) => [r.prefix, r.best ? '*' : r.rejected ? 'x' : ' ', r.from, r.nextHop, r.asPath || '-', r.localPref === undefined ? '' : String(r.localPref), r.originatorID ?? '', (r.clusterList ?? []).join(','), r.stale ? 'stale' : '']);
  return table([['PREFIX', 'BEST', 'FROM', 'NEXT HOP', 'AS PATH', 'LOCAL PREF', 'ORIGINATOR', 'CLUSTER LIST', ''], ...rows]);
}

async function ask<T>(socket: string, req: Parameters<typeof queryDaemon>[1]): Promise<T> {
  try {
    const r = (await queryDaemon(socket, req)) as T & { error?: string };
    if (r && typeof r === 'object' && 'error' in r && r.error) {
      process.stderr.write(`tabby bgp: ${r.error}\n`);
      process.exit(1);
    }
    return r;
  } catch (e) {
    process.stderr.write(`tabby bgp: ${(e as Error).message}\n`);
    process.exit(EXIT_NOT_RUNNING);
  }
}

export function registerBgpCommand(program: Command): Command {
  const bgp = program.command('bgp').description('the standalone BGP speaker: run it, ask it for its peers and routes');
  const socketOpt = ['--socket <path>', `the daemon's status socket`, DEFAULT_STATUS_SOCKET] as const;

  bgp
    .command('run')
    .description('run the BGP speaker until SIGTERM/SIGINT')
    .requiredOption('-c, --config <file>', 'YAML configuration (see README "BGP speaker")')
    .option('--log-level <level>', 'debug, info, warn or error (overrides the file)')
    .addHelpText('after', '\nExample:\n  tabby bgp run --config /etc/tabby/bgp.yaml\n')
    .action(async (opts: { config: string; logLevel?: string }) => {
      await runDaemon(opts.config, opts.logLevel ? { logLevel: opts.logLevel } : {});
    });

  bgp
    .command('status')
    .description('peers: address, AS, state, BFD state (peers with BFD), uptime, prefixes received/accepted/advertised, last error')
    .option(...socketOpt)
    .option('-o, --output <format>', 'table, wide, json or yaml', 'table')
    .addHelpText('after', '\nExample:\n  tabby bgp status -o json\n\nExit codes: 0 answered, 1 error, 3 daemon not running.\n')
    .action(async (opts: { socket: string; output: string }) => {
      const s = await ask<SpeakerStatus>(opts.socket, { command: 'status' });
      if (opts.output === 'json') process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      else if (opts.output === 'yaml') process.stdout.write((await import('yaml')).stringify(s));
      else process.stdout.write(formatPeers(s, opts.output === 'wide'));
    });

  bgp
    .command('routes')
    .description('the Loc-RIB: every prefix with each peer\'s path, the best marked *')
    .option(...socketOpt)
    .option('-4', 'IPv4 only')
    .option('-6', 'IPv6 only')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .addHelpText('after', '\nExample:\n  tabby bgp routes -4 -o json\n')
    .action(async (opts: { socket: string; output: string; ['4']?: boolean; ['6']?: boolean }) => {
      const family = opts['4'] ? 4 : opts['6'] ? 6 : undefined;
      const r = await ask<{ routes: RouteView[] }>(opts.socket, family ? { command: 'routes', family } : { command: 'routes' });
      if (opts.output === 'json') process.stdout.write(JSON.stringify(r.routes, null, 2) + '\n');
      else if (opts.output === 'yaml') process.stdout.write((await import('yaml')).stringify(r.routes));
      else process.stdout.write(formatRoutes(r.routes));
    });

  bgp
    .command('refresh <peer>')
    .description('ask a peer (name or address) to send its routes again (ROUTE-REFRESH, RFC 2918)')
    .option(...socketOpt)
    .addHelpText('after', '\nExample:\n  tabby bgp refresh 198.18.0.2\n')
    .action(async (peer: string, opts: { socket: string }) => {
      await ask(opts.socket, { command: 'refresh', peer });
      process.stdout.write(`route refresh sent to ${peer}\n`);
    });

  bgp
    .command('metrics')
    .description('print the daemon\'s Prometheus metrics')
    .option(...socketOpt)
    .action(async (opts: { socket: string }) => {
      const r = await ask<{ text: string }>(opts.socket, { command: 'metrics' });
      process.stdout.write(r.text);
    });
  return bgp;
}
