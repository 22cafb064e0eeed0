// The BGP daemon of a node: the child process `tabby node` runs beside the dataplane agent when
// CALICO_NETWORKING_BACKEND=bird (DESIGN.md §1: a separate process, so a long policy computation
// never delays a keepalive). It does what confd + BIRD do in calico/node:
//
//   ClusterSyncer (BGP kinds, Nodes, pools, blocks, affinities) ─▶ renderNodeBgp (pure)
//     ─▶ Speaker.reconfigure (live: only the peers a change touches restart)
//   Speaker's best learned routes ─▶ supervisor ─▶ dataplane agent's RouteReconciler.setLearned
//
// Invariants:
// - Nothing is rendered before the syncer is in sync (half a snapshot would drop peers).
// - A speaker-wide change (AS, router ID, cluster ID, listen port) restarts the speaker
//   gracefully: peers keep our routes while it comes back.
// - Learned routes are sent whole (the set replaces the previous one), with `converged` false
//   while we restart gracefully and wait for our peers' End-of-RIB: the agent keeps the routes
//   it had until then, so flows across nodes survive a restart of the node.
// - BGPConfiguration logSeverityScreen (node.<name> over default) is the speaker's log level, read
//   at every line, so a change applies at once and touches no session.
// - A marker file (<stateDir>/bgp-running) says a previous run ended without withdrawing: the
//   next start is a graceful restart (RFC 4724: our OPEN says forwarding state was kept).
// - BGP passwords (password.secretKeyRef, nodeMeshPassword) are read from
//   <bgpSecretsDir>/<secret>/<key> at each render; the files read are checked every
//   SECRET_CHECK_MS and a change (a rotated secret, one that appeared) renders again.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type NodeBgpConfig, Speaker, readPasswords, type SpeakerStatus, type StatusRequest, answerStatus, clusterSpeakerConfig, renderMetrics, renderNodeBgp, serveStatusSocket, speakerLogLevel } from '../bgp/index.js';
import { ClusterSyncer } from '../client/index.js';
import { loadDatastoreConfig, openDatastore } from '../datastore/index.js';
import { formatCIDR, formatIP } from '../ip/index.js';
import { type LogLevel, type Logger, createLogger, parseLogLevel } from '../util/log.js';
import { AGENT_OPTIONS_ENV } from './dataplane-agent.js';
import type { NodeOptions } from './options.js';

/** What travels to the dataplane agent: the learned routes as text, whole each time. */
export interface LearnedMessage {
  readonly routes: readonly { readonly dst: string; readonly gateway: string }[];
  readonly converged: boolean;
}

/** The cluster view added to the speaker's status: calicoctl's peer types and refused peerings. */
export interface ClusterBgpStatus extends SpeakerStatus {
  readonly node: string;
  readonly peerTypes: Record<string, string>;
  readonly refused: readonly { name: string; peerType: string; address: string; reason: string }[];
  readonly originated: readonly string[];
  readonly problems: readonly string[];
  /** Peers the configuration asks BFD for (their live BFD state is in `peers[].bfd`). */
  readonly bfdPeers: Record<string, boolean>;
  /** BGPConfiguration logSeverityScreen in effect (node.<name> over default) and the speaker's level from it. */
  readonly logSeverityScreen: string;
  readonly logLevel: LogLevel;
}

const SECRET_CHECK_MS = 5000;

export class ClusterBgp {
  /** Secret files the last render read: path → content (or the error code when unreadable). */
  private secretsSeen = new Map<string, string>();
  private secretTimer: NodeJS.Timeout | undefined;
  private speaker: Speaker | undefined;
  private rendered: NodeBgpConfig | undefined;
  private readonly syncer: ClusterSyncer;
  private inSync = false;
  private pending = false;
  private learnedTimer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private readonly marker: string;
  /** The speaker's log level, from logSeverityScreen; its logger reads it at every line. */
  private speakerLevel: LogLevel = 'info';
  private readonly speakerLog: Logger;

  constructor(
    private readonly opts: NodeOptions,
    private readonly ds: ReturnType<typeof openDatastore>,
    private readonly log: Logger,
    private readonly onLearned: (m: LearnedMessage) => void,
  ) {
    this.marker = join(opts.stateDir, 'bgp-running');
    this.speakerLog = log.child({ component: 'bgp' }, { level: () => this.speakerLevel });
    this.syncer = new ClusterSyncer(ds, {
      onStatus: (s) => {
        if (s === 'InSync') {
          this.inSync = true;
          this.schedule();
        }
      },
      onUpdates: () => this.schedule(),
      onError: (e) => log.warn('BGP syncer: datastore trouble, retrying', { error: e.message }),
    }, { kinds: ['BGPConfiguration', 'BGPPeer', 'BGPFilter', 'Node', 'IPPool'], ipam: ['IPAMBlock', 'BlockAffinity'] });
  }

  start(): void {
    this.syncer.start();
    this.secretTimer = setInterval(() => this.checkSecrets(), SECRET_CHECK_MS);
    this.secretTimer.unref();
  }

  private readSecretFile(path: string): string {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      return `\u0000${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`;
    }
  }

  private checkSecrets(): void {
    for (const [path, seen] of this.secretsSeen) {
      if (this.readSecretFile(path) === seen) continue;
      this.log.info('a BGP password secret changed: rendering again', { file: path });
      return this.schedule();
    }
  }

  get ready(): boolean {
    return this.rendered !== undefined;
  }

  private schedule(): void {
    if (!this.inSync || this.pending) return;
    this.pending = true;
    // Let a burst of watch events land first.
    setTimeout(() => {
      this.pending = false;
      this.busy = this.busy.then(() => this.apply()).catch((e: Error) => this.log.error('BGP reconfiguration failed', { error: e.message }));
    }, 20);
  }

  private async apply(): Promise<void> {
    const s = this.syncer;
    // Passwords (password.secretKeyRef) are read from <bgpSecretsDir>/<secret>/<key> at each render.
    const secrets = new Map<string, string>();
    const { config: rendered, passwords } = readPasswords(renderNodeBgp({
      nodename: this.opts.nodename,
      configurations: s.list('BGPConfiguration').flatMap((u) => (u.value ? [u.value] : [])),
      peers: s.list('BGPPeer').flatMap((u) => (u.value ? [u.value] : [])),
      filters: s.list('BGPFilter').flatMap((u) => (u.value ? [u.value] : [])),
      nodes: s.list('Node').flatMap((u) => (u.value ? [u.value] : [])),
      pools: s.list('IPPool').flatMap((u) => (u.value ? [u.value] : [])),
      blocks: s.list('IPAMBlock').flatMap((u) => (u.value ? [u.value] : [])),
      affinities: s.list('BlockAffinity').flatMap((u) => (u.value ? [u.value] : [])),
    }), (ref) => {
      const path = join(this.opts.bgpSecretsDir, ref.name, ref.key);
      const text = this.readSecretFile(path);
      secrets.set(path, text);
      if (text.startsWith('\u0000')) throw new Error(`${path}: ${text.slice(1)}`);
      return text;
    });
    this.secretsSeen = secrets;
    const before = this.rendered;
    this.rendered = rendered;
    const level = speakerLogLevel(rendered.logSeverityScreen);
    if (level !== this.speakerLevel || !before) this.log.info('BGP log level set', { logSeverityScreen: rendered.logSeverityScreen, level });
    this.speakerLevel = level;
    if (JSON.stringify(before?.problems) !== JSON.stringify(rendered.problems)) for (const p of rendered.problems) this.log.warn('BGP configuration problem', { problem: p });
    for (const r of rendered.refused) if (!before?.refused.some((b) => b.name === r.name)) this.log.warn('BGP peering refused', { peer: r.name, reason: r.reason });
    const config = clusterSpeakerConfig(rendered, { statusSocket: this.opts.bgpSocket, passwords });
    if (!rendered.enabled) {
      if (this.speaker) await this.stopSpeaker(false);
      return;
    }
    if (this.speaker && this.speaker.reconfigure(config)) return;
    if (this.speaker) {
      this.log.info('speaker-wide BGP setting changed: restarting the speaker gracefully', { asNumber: config.asNumber, listenPort: config.listenPort });
      await this.stopSpeaker(true);
    }
    const restarting = existsSync(this.marker);
    const speaker = new Speaker(config, this.speakerLog);
    speaker.onRoutesChanged = () => this.learnedChanged();
    this.speaker = speaker;
    await speaker.start({ restarting });
    mkdirSync(dirname(this.marker), { recursive: true });
    writeFileSync(this.marker, `${process.pid}\n`);
    this.log.info('BGP speaker running', { asNumber: config.asNumber, routerID: rendered.routerID, listenPort: speaker.listenPort, peers: config.peers.length, originate: config.originate.length, restarting });
    this.learnedChanged();
  }

  private learnedChanged(): void {
    if (this.learnedTimer) return;
    this.learnedTimer = setTimeout(() => {
      this.learnedTimer = undefined;
      this.sendLearned();
    }, 10);
  }

  /** Also re-sent periodically, and when graceful restart ends. */
  sendLearned(): void {
    const sp = this.speaker;
    if (!sp) return;
    this.onLearned({ routes: sp.learnedRoutes().map((r) => ({ dst: formatCIDR(r.prefix), gateway: formatIP(r.via) })), converged: !sp.restarting });
  }

  private async stopSpeaker(graceful: boolean): Promise<void> {
    const sp = this.speaker;
    this.speaker = undefined;
    await sp?.stop(graceful);
    if (!graceful) rmSync(this.marker, { force: true });
  }

  status(): ClusterBgpStatus | { error: string } {
    const sp = this.speaker;
    const r = this.rendered;
    if (!sp || !r) return { error: r ? `BGP is not running on ${this.opts.nodename}: ${r.problems[0] ?? 'no configuration'}` : 'the BGP daemon is starting (waiting for the datastore)' };
    return {
      ...sp.status(),
      node: this.opts.nodename,
      peerTypes: Object.fromEntries(r.peers.map((p) => [p.name, p.peerType])),
      refused: r.refused.map((x) => ({ name: x.name, peerType: x.peerType, address: formatIP(x.address), reason: x.reason })),
      originated: r.originate.map((o) => formatCIDR(o.prefix)),
      problems: r.problems,
      bfdPeers: Object.fromEntries(r.peers.map((p) => [p.name, p.bfd])),
      logSeverityScreen: r.logSeverityScreen,
      logLevel: this.speakerLevel,
    };
  }

  answer(req: StatusRequest): unknown {
    if (req.command === 'status') return this.status();
    const sp = this.speaker;
    if (!sp) return { error: 'the BGP speaker is not running on this node' };
    return answerStatus(sp, req);
  }

  metrics(): string {
    return this.speaker ? renderMetrics(this.speaker) : '';
  }

  /** `graceful`: peers keep our routes (a restart of the node); else Cease and withdraw. */
  async stop(graceful: boolean): Promise<void> {
    clearTimeout(this.learnedTimer);
    clearInterval(this.secretTimer);
    await this.syncer.stop();
    await this.busy;
    await this.stopSpeaker(graceful);
  }
}

/** Entry point of the child process (`tabby bgp-agent`, run by `tabby node`). */
export async function runBgpProcess(): Promise<void> {
  const raw = process.env[AGENT_OPTIONS_ENV];
  if (!raw) throw new Error(`the BGP daemon is started by \`tabby node\`, which passes its settings in ${AGENT_OPTIONS_ENV}`);
  const opts = JSON.parse(raw) as NodeOptions;
  const log = createLogger({ component: 'bgp-agent', node: opts.nodename, pid: process.pid }, { level: parseLogLevel(opts.logLevel) });
  const ds = openDatastore(loadDatastoreConfig({ flags: opts.datastore }));
  const send = (m: unknown) => {
    if (process.connected) process.send?.(m);
  };
  const bgp = new ClusterBgp(opts, ds, log, (m) => send({ type: 'relay', to: 'dataplane', topic: 'learned', body: m }));
  bgp.start();
  const status = await serveStatusSocket(opts.bgpSocket, log, (req) => bgp.answer(req));
  const report = () => send({ type: 'health', live: true, ready: bgp.ready, ...(bgp.ready ? {} : { reason: 'waiting for the datastore to render the BGP configuration' }) });
  report();
  const timers = [setInterval(report, 2000), setInterval(() => bgp.sendLearned(), 30_000)];
  process.on('message', (m: { type?: string; id?: number }) => {
    if (m?.type === 'metrics?') send({ type: 'metrics', id: m.id, text: bgp.metrics() });
  });
  let stopping = false;
  const shutdown = async (why: string, graceful: boolean) => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    log.info('BGP daemon stopping', { reason: why, graceful });
    await bgp.stop(graceful).catch(() => {});
    status.close();
    rmSync(opts.bgpSocket, { force: true });
    await ds.close();
    process.exit(0);
  };
  // Stopping the node (SIGTERM) is a restart as far as peers know: they keep our routes for the
  // graceful-restart time, the kernel keeps theirs.
  process.on('SIGTERM', () => void shutdown('SIGTERM', true));
  process.on('SIGINT', () => void shutdown('SIGINT', true));
  process.on('disconnect', () => void shutdown('supervisor went away', true));
}
