// `tabby bgp run`: the standalone speaker process. Wires the configuration, the Speaker, the
// status socket (one JSON request line in, one JSON answer line out), Prometheus metrics and the
// signals: SIGTERM/SIGINT stop the daemon — gracefully (peers keep our routes, the kernel keeps
// theirs) when graceful restart is configured, else with a Cease to every peer and our kernel
// routes removed. SIGHUP is not a reload: the file is read once.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { createLogger, parseLogLevel, type Logger } from '../util/log.js';
import { parseSpeakerConfig, type SpeakerConfig } from './config.js';
import { Speaker } from './speaker.js';

const STATE_NUMBER: Record<string, number> = { Idle: 0, Connect: 1, Active: 2, OpenSent: 3, OpenConfirm: 4, Established: 5 };
/** RFC 5880's own numbering of the BFD states. */
const BFD_STATE_NUMBER: Record<string, number> = { AdminDown: 0, Down: 1, Init: 2, Up: 3 };

export type StatusRequest = { command: 'status' } | { command: 'routes'; family?: 4 | 6 } | { command: 'refresh'; peer: string } | { command: 'metrics' };

export function loadSpeakerConfig(path: string): SpeakerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read BGP configuration ${path}: ${(e as Error).message}`);
  }
  return parseSpeakerConfig(text, path);
}

type Labels = Record<string, string>;
const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** One metric family in the Prometheus text exposition format 0.0.4. */
function family(name: string, type: 'gauge' | 'counter', help: string, samples: [Labels, number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
  }
  return lines.join('\n') + '\n';
}

/** Renders per-peer metrics from the speaker's current state (read at scrape time: the speaker's
 *  counters are the source, nothing is kept twice). */
export function renderMetrics(speaker: Speaker): string {
  const s = speaker.status();
  const per = <T>(f: (p: (typeof s.peers)[number], l: Labels) => [Labels, T][]) =>
    s.peers.flatMap((p) => f(p, { peer: p.name, address: p.address, as: String(p.asNumber) }));
  return [
    family('tabby_bgp_peer_state', 'gauge', 'BGP FSM state of the peer (0 Idle, 1 Connect, 2 Active, 3 OpenSent, 4 OpenConfirm, 5 Established)', per((p, l) => [[l, STATE_NUMBER[p.state] ?? 0]])),
    family('tabby_bgp_peer_up', 'gauge', '1 when the session is Established', per((p, l) => [[l, p.state === 'Established' ? 1 : 0]])),
    family('tabby_bgp_peer_uptime_seconds', 'gauge', 'Seconds since the session was established', per((p, l) => [[l, p.uptimeSeconds]])),
    family('tabby_bgp_peer_prefixes', 'gauge', 'Prefixes per peer, by kind (received, accepted, advertised)', per((p, l) => (['received', 'accepted', 'advertised'] as const).map((k) => [{ ...l, kind: k }, p.prefixes[k]]))),
    family('tabby_bgp_peer_updates_total', 'counter', 'UPDATE messages per peer and direction', per((p, l) => [[{ ...l, direction: 'received' }, p.updates.received], [{ ...l, direction: 'sent' }, p.updates.sent]])),
    family('tabby_bgp_peer_notifications_total', 'counter', 'NOTIFICATION messages per peer and direction', per((p, l) => [[{ ...l, direction: 'received' }, p.notifications.received], [{ ...l, direction: 'sent' }, p.notifications.sent]])),
    family('tabby_bgp_peer_malformed_updates_survived_total', 'counter', 'UPDATE errors handled by treat-as-withdraw or attribute-discard (RFC 7606)', per((p, l) => [[l, p.malformedUpdatesSurvived]])),
    family('tabby_bgp_peer_bfd_state', 'gauge', 'BFD session state of the peer (0 AdminDown, 1 Down, 2 Init, 3 Up); peers with BFD only', per((p, l) => (p.bfd ? [[l, BFD_STATE_NUMBER[p.bfd.state] ?? 1]] : []))),
    family('tabby_bgp_peer_bfd_up', 'gauge', '1 when the peer\'s BFD session is Up; peers with BFD only', per((p, l) => (p.bfd ? [[l, p.bfd.state === 'Up' ? 1 : 0]] : []))),
    family('tabby_bgp_peer_bfd_down_total', 'counter', 'BFD sessions going from Up to another state', per((p, l) => (p.bfd ? [[l, p.bfd.downTransitions]] : []))),
    family('tabby_bgp_peer_bfd_detection_time_seconds', 'gauge', 'Agreed BFD detection time (0 before the peer sent a packet)', per((p, l) => (p.bfd ? [[l, p.bfd.detectionTimeMs / 1000]] : []))),
    family('tabby_bgp_bfd_packets_discarded_total', 'counter', 'BFD packets refused before reaching a session (RFC 5880 §6.8.6)', s.bfd ? [[{}, s.bfd.discardedPackets]] : []),
    family('tabby_bgp_loc_rib_prefixes', 'gauge', 'Prefixes in the Loc-RIB per family', [[{ family: 'ipv4' }, s.routes.ipv4], [{ family: 'ipv6' }, s.routes.ipv6]]),
    family('tabby_bgp_kernel_routes', 'gauge', 'Routes installed in the kernel with protocol 81', s.kernel ? [[{ table: String(s.kernel.table) }, s.kernel.installed]] : []),
  ].join('');
}

/** The answer to one status-socket request, from the speaker's current state. */
export function answerStatus(speaker: Speaker, req: StatusRequest): unknown {
  switch (req.command) {
    case 'status':
      return speaker.status();
    case 'routes':
      return { routes: speaker.routes(req.family) };
    case 'metrics':
      return { text: renderMetrics(speaker) };
    case 'refresh': {
      const p = speaker.findPeer(req.peer);
      if (!p) return { error: `no peer named or addressed "${req.peer}"` };
      return speaker.requestRefresh(p) ? { ok: true } : { error: `peer ${p.config.name} is not established or does not support route refresh` };
    }
    default:
      return { error: `unknown command ${JSON.stringify((req as { command: unknown }).command)}` };
  }
}

function serveStatus(speaker: Speaker, path: string, log: Logger): Promise<Server> {
  return serveStatusSocket(path, log, (req) => answerStatus(speaker, req));
}

/** Serves the status protocol (one JSON request line in, one JSON answer line out) on a unix socket. */
export function serveStatusSocket(path: string, log: Logger, answer: (req: StatusRequest) => unknown): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let reply: unknown;
      try {
        reply = answer(JSON.parse(buf.slice(0, nl)) as StatusRequest);
      } catch (e) {
        reply = { error: `bad request: ${(e as Error).message}` };
      }
      sock.end(JSON.stringify(reply) + '\n');
    });
    sock.on('error', () => sock.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      log.info('status socket listening', { path });
      resolve(server);
    });
  });
}

/** node:http is loaded here, when metrics are configured: a speaker without them starts without
 *  it (~3 ms of start-up CPU; BENCHMARKS.md "mesh"). */
async function serveMetrics(speaker: Speaker, host: string, port: number): Promise<HttpServer> {
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(speaker));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Runs the daemon until a signal stops it. */
export async function runDaemon(configPath: string, opts: { logLevel?: string } = {}): Promise<void> {
  const config = loadSpeakerConfig(configPath);
  const log = createLogger({ component: 'bgp' }, { level: parseLogLevel(opts.logLevel ?? config.logLevel) });
  const speaker = new Speaker(config, log);
  await speaker.start();
  const status = await serveStatus(speaker, config.statusSocket, log);
  const metrics = config.metricsAddress ? await serveMetrics(speaker, config.metricsAddress.host, config.metricsAddress.port) : undefined;
  log.info('BGP speaker running', { asNumber: config.asNumber, routerID: speaker.status().routerID, listenPort: speaker.listenPort, peers: config.peers.length, originate: config.originate.length });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      void speaker.stop(true).finally(() => {
        status.close();
        rmSync(config.statusSocket, { force: true });
        metrics?.close();
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** Sends one request to a running daemon's status socket. */
export function queryDaemon(path: string, req: StatusRequest, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the BGP daemon on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => (buf += d));
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf));
      } catch {
        reject(new Error(`garbled answer from the BGP daemon on ${path}`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `the BGP daemon is not running (no status socket at ${path})` : `cannot reach the BGP daemon on ${path}: ${e.message}`));
    });
  });
}
