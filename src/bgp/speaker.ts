// The BGP speaker: one RIB, one PeerSession per configured peer, the TCP listener, kernel route
// sync and the pacing of outgoing updates. It is the single owner of the RIB; every RIB change
// happens synchronously inside one event handler, and sending happens later in `flush`, which
// drains each peer's Adj-RIB-Out queue into packed UPDATEs while the socket accepts them.
//
// Graceful restart (RFC 4724):
// - helper: a GR-capable peer whose TCP session fails keeps its routes (stale) for its restart
//   time; after it returns, routes it re-announces are fresh again and the rest go at its
//   End-of-RIB (or when the restart time runs out again);
// - restarting speaker: when the kernel table still holds our protocol-81 routes at start-up
//   (a previous run left them), we are restarting: our OPEN carries the R and F bits, kernel
//   routes are only added or replaced, never removed, and nothing is advertised until every GR
//   peer sent End-of-RIB for its families (or our restart time ran out).
//
// BFD (RFC 5880/5881, peers with `bfd`): one BFD session per such peer, from start to stop,
// whatever the BGP state. When it goes from Up to Down — except when the peer said AdminDown
// (RFC 5882 §3.2) — the BGP session is torn down at once with Cease/10 "BFD Down" (RFC 9384) and
// its routes withdrawn, graceful restart or not (as BIRD's `bfd on`); BGP then reconnects as after
// any error. Stopping the speaker sends AdminDown, so peers do not take that for a failure.
//
// TCP-MD5 and GTSM on the listener (session/sockopt.ts): the listening socket holds one MD5 key
// per peer address with a password (the kernel copies it to each accepted connection) and sends
// with TTL 255 once any peer has ttlSecurity (so our SYN-ACK passes the peer's GTSM check); both
// follow the configured peers; with a GTSM peer it also saves each accepted connection's SYN.
// A GTSM peer's accepted connection is dropped when its saved SYN came with too low a TTL, and
// otherwise gets IP_MINTTL, before the session reads a byte (the listener pauses new
// connections). Not checked: the handshake's final ACK and any segment that arrived in the few
// milliseconds the helper takes (a spoofer would need our SYN-ACK's sequence number), and the
// SYN when SYN cookies were in use (none is saved then).

import { createServer, type Server, type Socket } from 'node:net';
import { type CIDR, type IPAddr, formatCIDR, formatIP, tryParseIP } from '../ip/index.js';
import type { Logger } from '../util/log.js';
import type { PeerConfig, SpeakerConfig } from './config.js';
import { type DownCause, NOTIFY } from './fsm/index.js';
import { diagName } from './bfd/index.js';
import { BfdService, type BfdLink, type BfdStateChange, type BfdStatus } from './session/bfd.js';
import { type AttrSet, Rib, type RibEntry } from './rib/index.js';
import { KernelRoutes } from './session/kernel.js';
import { PeerSession } from './session/peer-session.js';
import { type SockoptCommand, type SockoptError, applySocketOptions, minTtlFor, requireSockoptBinary, socketFd } from './session/sockopt.js';
import {
  AFI_IPV4, AFI_IPV6, type Capability, type CodecContext, type Nlri, type OpenMessage, type PathAttributes, ROUTE_REFRESH_BORR, ROUTE_REFRESH_EORR, ROUTE_REFRESH_NORMAL,
  type RouteRefreshMessage, SAFI_UNICAST, type UpdateMessage, endOfRibMessage, packUpdates, packWithdrawals, reconcileAs4, twoOctetAs,
} from './wire/index.js';

const afiOf = (f: 4 | 6): number => (f === 4 ? AFI_IPV4 : AFI_IPV6);
const sameNlri = (a: readonly Nlri[], b: readonly Nlri[]): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};
/** Prefixes taken from a peer's queue per write: bounds the memory of one burst of UPDATEs. */
const DRAIN_CHUNK = 16384;

interface PeerExtra {
  /** Families whose End-of-RIB we still owe the peer after the initial dump. */
  eorOwed: Set<4 | 6>;
  /** Families whose EoRR we owe after a refresh dump (enhanced route refresh). */
  eorrOwed: Set<4 | 6>;
  /** Families the peer sent End-of-RIB for in this session. */
  eorSeen: Set<4 | 6>;
  staleTimer: NodeJS.Timeout | undefined;
  upSince: number;
}

export class Speaker {
  readonly rib: Rib;
  readonly peers: PeerSession[] = [];
  private readonly extra = new Map<PeerSession, PeerExtra>();
  readonly kernel: KernelRoutes | undefined;
  private server: Server | undefined;
  private flushPending = false;
  /** True while we restart gracefully and wait for our peers' End-of-RIB. */
  restarting = false;
  private deferralTimer: NodeJS.Timeout | undefined;
  readonly startedAt = Date.now();
  /** Made when the first peer with `bfd` starts (at start, or added live by reconfigure). */
  private bfd: BfdService | undefined;
  private readonly bfdLinks = new Map<PeerSession, BfdLink>();
  /** What the listening socket holds: MD5 keys by peer address text, and TTL 255 or not. */
  private readonly listenerKeys = new Map<string, string>();
  private listenerTtl = false;
  private listenerSync: Promise<void> = Promise.resolve();

  /** Called after the best path of any prefix changed (cluster mode feeds the route reconciler). */
  onRoutesChanged: (() => void) | undefined;
  private started = false;

  constructor(public config: SpeakerConfig, readonly log: Logger) {
    this.rib = new Rib(
      { localAs: config.asNumber, routerId: config.routerID, clusterId: config.routeReflectorClusterID },
      (entry, o, n) => this.onBestChange(entry, o, n),
    );
    if (config.kernelTable !== undefined) this.kernel = new KernelRoutes(config.kernelTable, log.child({ part: 'kernel' }), config.kernelResyncSeconds);
    for (const pc of config.peers) this.addPeer(pc);
  }

  private addPeer(pc: PeerConfig): PeerSession {
    const internal = pc.asNumber === this.config.asNumber;
    const slot = this.rib.addPeer(
      { kind: internal ? 'ibgp' : 'ebgp', asn: pc.asNumber, routerId: 0, address: pc.address, rrClient: internal && pc.routeReflectorClient },
      { importFilter: pc.importFilter, exportFilter: pc.exportFilter },
    );
    const peer = new PeerSession(slot, pc, this.config.routerID, this.config.asNumber, this.hooks, this.log.child({ peer: pc.name }));
    this.peers[slot] = peer;
    this.extra.set(peer, { eorOwed: new Set(), eorrOwed: new Set(), eorSeen: new Set(), staleTimer: undefined, upSince: 0 });
    return peer;
  }

  /**
   * Applies a new configuration live: peers that are new start, peers that are gone get a Cease
   * and their routes go, peers whose settings changed restart (only they); originated prefixes
   * are announced or withdrawn by difference. Sessions the change does not touch stay up.
   * Returns false, changing nothing, when a speaker-wide setting changed (AS, router ID, cluster
   * ID, listen address or port, kernel table): the caller must restart the speaker for those.
   */
  reconfigure(next: SpeakerConfig): boolean {
    const c = this.config;
    if (next.asNumber !== c.asNumber || next.routerID !== c.routerID || next.routeReflectorClusterID !== c.routeReflectorClusterID ||
      next.listenPort !== c.listenPort || next.listenAddress !== c.listenAddress || next.kernelTable !== c.kernelTable) return false;
    // The password's JSON is a placeholder: its text joins the key so a changed password restarts the peer.
    const key = (pc: PeerConfig): string => `${JSON.stringify(pc, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\u0000${pc.password?.reveal() ?? ''}`;
    const wanted = new Map(next.peers.map((pc) => [key(pc), pc]));
    const kept = new Set<string>();
    for (const p of this.peerList) {
      const k = key(p.config);
      if (wanted.has(k) && !kept.has(k)) {
        kept.add(k);
        continue;
      }
      this.removePeer(p);
    }
    for (const [k, pc] of wanted) {
      if (kept.has(k)) continue;
      const p = this.addPeer(pc);
      this.log.info('peer added', { peer: pc.name });
      if (this.started) {
        p.start();
        this.startBfd(p).catch((err: Error) => this.log.error('BFD session for an added peer did not start', { peer: pc.name, error: err.message }));
      }
    }
    const tagKey = (p: CIDR, cfg: SpeakerConfig) => `${formatCIDR(p)} ${JSON.stringify(cfg.originateTags?.get(formatCIDR(p)) ?? {})}`;
    const before = new Map(c.originate.map((p) => [formatCIDR(p), tagKey(p, c)]));
    const after = new Map(next.originate.map((p) => [formatCIDR(p), tagKey(p, next)]));
    this.config = next;
    if (this.started) {
      for (const p of c.originate) if (!after.has(formatCIDR(p))) this.rib.withdrawLocal(p);
      for (const p of next.originate) if (before.get(formatCIDR(p)) !== after.get(formatCIDR(p))) this.rib.originate(p, next.originateTags?.get(formatCIDR(p)) ?? {});
    }
    this.scheduleFlush();
    if (this.server) this.syncListener().catch((e: Error) => this.log.error('BGP listener options (TCP-MD5 keys / TTL) not applied', { error: e.message }));
    return true;
  }

  /** Brings the listener's MD5 keys and TTL to what the configured peers need (serialised). */
  private syncListener(): Promise<void> {
    const next = this.listenerSync.catch(() => {}).then(() => this.applyListenerOptions());
    this.listenerSync = next;
    return next;
  }

  private async applyListenerOptions(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    const wanted = new Map<string, PeerConfig>();
    for (const p of this.peerList) if (p.config.password) wanted.set(formatIP(p.config.address), p.config);
    const ttl = this.peerList.some((p) => p.config.ttlSecurity !== undefined);
    const commands: SockoptCommand[] = [];
    for (const [a, pc] of wanted) if (this.listenerKeys.get(a) !== pc.password!.reveal()) commands.push({ kind: 'md5', peer: pc.address, password: pc.password });
    for (const a of this.listenerKeys.keys()) if (!wanted.has(a)) commands.push({ kind: 'md5', peer: tryParseIP(a)!, password: undefined });
    if (ttl && !this.listenerTtl) commands.push({ kind: 'ttl', value: 255 }, { kind: 'savesyn' });
    if (commands.length === 0) return;
    await applySocketOptions(requireSockoptBinary(this.sockoptBinary), socketFd(server), commands);
    this.listenerKeys.clear();
    for (const [a, pc] of wanted) this.listenerKeys.set(a, pc.password!.reveal());
    if (ttl) this.listenerTtl = true;
    this.log.info('BGP listener options applied', { md5Peers: wanted.size, ttl255: this.listenerTtl });
  }

  /** Path of tabby-sockopt; default: beside the entry point (dist/bin). */
  sockoptBinary: string | undefined;

  /** The peer's BFD session, when it asks for one. */
  private async startBfd(p: PeerSession): Promise<void> {
    const b = p.config.bfd;
    if (!b) return;
    this.bfd ??= new BfdService(this.log.child({ part: 'bfd' }));
    const timers = { desiredMinTxUs: b.minTxMs * 1000, requiredMinRxUs: b.minRxMs * 1000, detectMult: b.multiplier };
    this.bfdLinks.set(p, await this.bfd.add(p.config.address, p.config.localAddress, timers, (c) => this.bfdChanged(p, c)));
  }

  private removePeer(p: PeerSession): void {
    this.log.info('peer removed', { peer: p.config.name });
    const x = this.extra.get(p);
    if (x) clearTimeout(x.staleTimer);
    const link = this.bfdLinks.get(p);
    if (link) {
      this.bfd?.remove(link);
      this.bfdLinks.delete(p);
    }
    p.stop();
    // stop() reports the session down when it was up; make sure nothing of the peer stays.
    this.rib.peerDown(p.slot, false);
    this.extra.delete(p);
    delete this.peers[p.slot];
  }

  /** The best learned (not originated) path of every prefix, with its next hop. */
  learnedRoutes(): { prefix: CIDR; via: IPAddr }[] {
    const out: { prefix: CIDR; via: IPAddr }[] = [];
    for (const f of [4, 6] as const) {
      for (const entry of this.rib.tables[f].values()) {
        const best = entry.best;
        if (best && best.source.kind !== 'local' && best.nextHop.address) out.push({ prefix: entry.prefix, via: best.nextHop.address });
      }
    }
    return out;
  }

  get peerList(): PeerSession[] {
    return this.peers.filter((p) => p !== undefined);
  }

  /** `restarting`: we know we restart (cluster mode keeps a marker), so our OPEN says the
   *  forwarding state was kept and nothing is advertised until the peers' End-of-RIB. */
  async start(opts: { restarting?: boolean } = {}): Promise<void> {
    this.started = true;
    if (opts.restarting && this.peerList.some((p) => p.config.gracefulRestart)) {
      this.restarting = true;
      this.deferralTimer = setTimeout(() => this.finishRestart('selection deferral time ran out before every peer sent End-of-RIB'), this.config.selectionDeferralTime * 1000);
      this.log.info('restarting gracefully: peers keep our routes and we wait for theirs');
    }
    if (this.kernel) {
      const left = await this.kernel.start();
      if (left > 0 && this.peerList.some((p) => p.config.gracefulRestart)) {
        this.restarting = true;
        this.kernel.holdRemovals = true;
        this.deferralTimer = setTimeout(() => this.finishRestart('selection deferral time ran out before every peer sent End-of-RIB'), this.config.selectionDeferralTime * 1000);
        this.log.info('restarting gracefully: keeping the kernel routes of the previous run until peers resend theirs', { routes: left });
      } else if (left > 0) void this.kernel.apply();
    }
    for (const p of this.config.originate) this.rib.originate(p, this.config.originateTags?.get(formatCIDR(p)) ?? {});
    for (const p of this.peerList) await this.startBfd(p);
    if (this.config.listenPort > 0) {
      await this.listen();
      await this.syncListener();
    }
    for (const p of this.peerList) p.start();
  }

  /** Stop. With `graceful` (and graceful restart configured) peers keep our routes and the
   *  kernel keeps theirs; otherwise every session gets a Cease and our kernel routes go. */
  async stop(graceful: boolean): Promise<void> {
    clearTimeout(this.deferralTimer);
    for (const x of this.extra.values()) clearTimeout(x.staleTimer);
    this.server?.close();
    const keep = graceful && this.peerList.some((p) => p.config.gracefulRestart);
    // BFD's AdminDown first, so peers know the sessions that follow end on purpose (RFC 5882 §3.2).
    await this.bfd?.stop();
    for (const p of this.peerList) (keep ? p.abandon() : p.stop());
    if (this.kernel) {
      this.kernel.stop();
      if (!keep) await this.kernel.removeAll();
    }
  }

  private listen(): Promise<void> {
    // Paused until the session takes it: a GTSM peer's connection gets IP_MINTTL first.
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.config.listenAddress ?? '::', port: this.config.listenPort }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.error('BGP listener failed', { error: e }));
        resolve();
      });
    });
  }

  get listenPort(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private accept(socket: Socket): void {
    const remote = tryParseIP((socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, ''));
    const peer = remote && this.peerList.find((p) => p.config.address.family === remote.family && p.config.address.value === remote.value);
    if (!peer) {
      this.log.warn('refused a BGP connection from an unconfigured address', { remote: socket.remoteAddress ?? '?' });
      socket.destroy();
      return;
    }
    const hops = peer.config.ttlSecurity;
    if (hops === undefined) {
      peer.incoming(socket);
      socket.resume();
      return;
    }
    let fd: number;
    let binary: string;
    try {
      fd = socketFd(socket);
      binary = requireSockoptBinary(this.sockoptBinary);
    } catch (e) {
      peer.log.error('GTSM: refused a connection whose minimum TTL cannot be set', { error: (e as Error).message });
      socket.destroy();
      return;
    }
    applySocketOptions(binary, fd, [{ kind: 'synttl', value: minTtlFor(hops) }, { kind: 'minttl', value: minTtlFor(hops) }]).then(
      () => {
        if (socket.destroyed || this.peers[peer.slot] !== peer) return void socket.destroy();
        peer.incoming(socket);
        socket.resume();
      },
      (e: SockoptError) => {
        if (e.status === 3) peer.log.warn('GTSM: refused a connection from beyond the allowed hops', { reason: e.message, ttlSecurity: hops });
        else peer.log.error('GTSM: refused a connection whose minimum TTL cannot be set', { error: e.message });
        socket.destroy();
      },
    );
  }

  // ---- hooks the peer sessions call -------------------------------------------------------

  private readonly hooks = {
    localOpen: (peer: PeerSession): OpenMessage => this.localOpen(peer.config),
    stateChanged: (peer: PeerSession, from: string, to: string, reason: string) => {
      peer.log.info('peer state changed', { from, to, reason });
    },
    sessionUp: (peer: PeerSession) => this.sessionUp(peer),
    sessionDown: (peer: PeerSession, cause: DownCause, keepStale: boolean) => this.sessionDown(peer, cause, keepStale),
    update: (peer: PeerSession, msg: UpdateMessage) => this.update(peer, msg),
    routeRefresh: (peer: PeerSession, msg: RouteRefreshMessage) => this.routeRefresh(peer, msg),
    writable: (peer: PeerSession) => this.flushPeer(peer),
  };

  localOpen(pc: PeerConfig): OpenMessage {
    const fams = pc.families.map((f) => (f === 'ipv4' ? 4 : 6) as 4 | 6);
    const caps: Capability[] = fams.map((f) => ({ kind: 'multiprotocol', afi: afiOf(f), safi: SAFI_UNICAST }));
    caps.push({ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' }, { kind: 'four-octet-as', asn: this.config.asNumber }, { kind: 'extended-message' });
    if (pc.gracefulRestart) {
      caps.push({
        kind: 'graceful-restart',
        restarting: this.restarting,
        notification: false,
        restartTime: Math.min(pc.maxRestartTime, 4095),
        families: fams.map((f) => ({ afi: afiOf(f), safi: SAFI_UNICAST, forwardingPreserved: this.restarting })),
      });
    }
    return { type: 'OPEN', version: 4, myAs: twoOctetAs(this.config.asNumber), holdTime: pc.holdTime, bgpId: this.config.routerID, capabilities: caps };
  }

  /** BFD saw the path to a peer fail: take its BGP session down now rather than at hold-timer expiry. */
  private bfdChanged(peer: PeerSession, c: BfdStateChange): void {
    if (c.from !== 'Up' || c.to !== 'Down' || c.remoteAdminDown || peer.state.name === 'Idle') return;
    peer.log.warn('BFD session down: closing the BGP session', { state: peer.state.name, diagnostic: diagName(c.diag) });
    peer.feed({ type: 'AutomaticStop', reason: `BFD session down (${diagName(c.diag)})`, cease: { ...NOTIFY.ceaseBfdDown, reason: `BFD: ${diagName(c.diag)}` } });
  }

  private sessionUp(peer: PeerSession): void {
    const x = this.extra.get(peer)!;
    x.upSince = Date.now();
    x.eorSeen = new Set();
    const local = tryParseIP((peer.conn?.localAddress ?? '').replace(/^::ffff:(?=\d+\.)/, ''));
    const localV4: IPAddr | undefined = local?.family === 4 ? local : undefined;
    const localV6: IPAddr | undefined = local?.family === 6 ? local : this.config.nextHopV6;
    const pc = peer.config;
    this.rib.peerUp(
      peer.slot,
      {
        kind: peer.internal ? 'ibgp' : 'ebgp',
        asn: pc.asNumber,
        rrClient: peer.internal && pc.routeReflectorClient,
        nextHopSelf: pc.nextHopMode === 'Self',
        nextHopKeep: pc.nextHopMode === 'Keep',
        ...(localV4 ? { localV4 } : {}),
        ...(localV6 ? { localV6 } : {}),
      },
      peer.remoteOpen!.bgpId,
      peer.families,
    );
    x.eorOwed = new Set(peer.families);
    // Helper side of graceful restart: stale routes wait for End-of-RIB, for families the peer
    // kept forwarding state of; the others are stale for nothing.
    clearTimeout(x.staleTimer);
    const gr = peer.peerGracefulRestart;
    for (const f of [4, 6] as const) {
      const kept = gr?.families.some((g) => g.afi === afiOf(f) && g.safi === SAFI_UNICAST && g.forwardingPreserved);
      if (!kept || !peer.families.has(f)) this.rib.sweepStale(peer.slot, f);
    }
    if (this.rib.hasStale(peer.slot)) {
      const secs = gr?.restartTime || peer.config.maxRestartTime;
      x.staleTimer = setTimeout(() => this.dropStale(peer, 'no End-of-RIB within the restart time'), secs * 1000);
    }
    this.scheduleFlush();
  }

  private sessionDown(peer: PeerSession, cause: DownCause, keepStale: boolean): void {
    const x = this.extra.get(peer)!;
    x.eorOwed.clear();
    x.eorrOwed.clear();
    clearTimeout(x.staleTimer);
    this.rib.peerDown(peer.slot, keepStale);
    if (keepStale) {
      const secs = peer.peerGracefulRestart?.restartTime || peer.config.maxRestartTime;
      peer.log.info('peer restarting gracefully: keeping its routes', { restartTime: secs, cause });
      x.staleTimer = setTimeout(() => this.dropStale(peer, 'restart time ran out'), secs * 1000);
    }
    this.scheduleFlush();
  }

  private dropStale(peer: PeerSession, why: string): void {
    const n = this.rib.sweepStale(peer.slot);
    if (n > 0) peer.log.info('stale routes removed', { routes: n, reason: why });
    this.scheduleFlush();
  }

  private update(peer: PeerSession, msg: UpdateMessage): void {
    const m = peer.conn && !peer.conn.rx.as4 ? { ...msg, attributes: reconcileAs4(msg.attributes) } : msg;
    const eor = this.rib.applyUpdate(peer.slot, m);
    const x = this.extra.get(peer)!;
    for (const f of eor) {
      x.eorSeen.add(f);
      const n = this.rib.sweepStale(peer.slot, f);
      if (n > 0) peer.log.info('End-of-RIB: stale routes removed', { family: f, routes: n });
    }
    if (eor.length > 0 && !this.rib.hasStale(peer.slot)) clearTimeout(x.staleTimer);
    if (eor.length > 0 && this.restarting) this.checkRestartDone();
    this.scheduleFlush();
  }

  private routeRefresh(peer: PeerSession, msg: RouteRefreshMessage): void {
    const f = msg.afi === AFI_IPV4 ? 4 : msg.afi === AFI_IPV6 ? 6 : undefined;
    if (f === undefined || msg.safi !== SAFI_UNICAST || !peer.families.has(f)) return;
    if (msg.subtype === ROUTE_REFRESH_NORMAL) {
      peer.log.info('route refresh requested by the peer', { family: f });
      const x = this.extra.get(peer)!;
      if (peer.hasCapability('enhanced-route-refresh')) {
        peer.conn?.send({ type: 'ROUTE-REFRESH', afi: msg.afi, safi: SAFI_UNICAST, subtype: ROUTE_REFRESH_BORR });
        x.eorrOwed.add(f);
      }
      this.rib.requeue(peer.slot, f);
      this.scheduleFlush();
    } else if (msg.subtype === ROUTE_REFRESH_BORR) this.rib.markStale(peer.slot, f);
    else if (msg.subtype === ROUTE_REFRESH_EORR) {
      const n = this.rib.sweepStale(peer.slot, f);
      if (n > 0) peer.log.info('enhanced route refresh: routes not resent removed', { family: f, routes: n });
      this.scheduleFlush();
    }
  }

  /** Ask a peer to send its routes again (RFC 2918). */
  requestRefresh(peer: PeerSession): boolean {
    if (!peer.established || !peer.hasCapability('route-refresh')) return false;
    for (const f of peer.families) peer.conn?.send({ type: 'ROUTE-REFRESH', afi: afiOf(f), safi: SAFI_UNICAST, subtype: ROUTE_REFRESH_NORMAL });
    return true;
  }

  private checkRestartDone(): void {
    const waiting = this.peerList.filter((p) => {
      if (!p.config.gracefulRestart) return false;
      if (!p.established) return true;
      const seen = this.extra.get(p)!.eorSeen;
      return [...p.families].some((f) => !seen.has(f));
    });
    if (waiting.length === 0) this.finishRestart('every peer sent End-of-RIB');
  }

  private finishRestart(why: string): void {
    if (!this.restarting) return;
    this.restarting = false;
    clearTimeout(this.deferralTimer);
    this.log.info('graceful restart complete', { reason: why });
    this.onRoutesChanged?.();
    if (this.kernel) {
      this.kernel.holdRemovals = false;
      void this.kernel.apply();
    }
    this.scheduleFlush();
  }

  private onBestChange(entry: RibEntry, _old: AttrSet | undefined, best: AttrSet | undefined): void {
    this.onRoutesChanged?.();
    if (!this.kernel) return;
    const via = best && best.source.kind !== 'local' ? best.nextHop.address : undefined;
    this.kernel.set(entry.prefix, via);
  }

  // ---- sending ----------------------------------------------------------------------------

  scheduleFlush(): void {
    if (this.flushPending) return;
    this.flushPending = true;
    const run = () => {
      this.flushPending = false;
      this.flush();
    };
    if (this.config.updateDelayMs > 0) setTimeout(run, this.config.updateDelayMs);
    else setImmediate(run);
  }

  private flush(): void {
    if (this.restarting) return;
    // Receivers with the same export drain the same groups in the same order: within one pass
    // each group is packed once and its messages written to all of them (FRR's update groups,
    // found instead of configured).
    this.packCache = new Map();
    try {
      for (const p of this.peerList) if (p.established) this.flushPeer(p);
    } finally {
      this.packCache = undefined;
    }
  }

  private packCache: Map<string, { nlri: Nlri[]; msgs: Uint8Array[] }[]> | undefined;

  private pack(g: { attrs: PathAttributes; key: string; nlri: Nlri[] }, tx: CodecContext): Uint8Array[] {
    const cache = this.packCache;
    if (!cache) return packUpdates(g.attrs, g.nlri, tx);
    const ck = `${tx.as4 ? 4 : 2}${tx.extendedMessage ? 'x' : ''}${[...tx.addPath].join(',')}|${g.key}`;
    let list = cache.get(ck);
    if (list) {
      for (const c of list) if (sameNlri(c.nlri, g.nlri)) return c.msgs;
    } else cache.set(ck, (list = []));
    const msgs = packUpdates(g.attrs, g.nlri, tx);
    list.push({ nlri: g.nlri, msgs });
    return msgs;
  }

  private flushPeer(peer: PeerSession): void {
    const conn = peer.conn;
    if (!conn || conn.closed || this.restarting || !peer.established) return;
    const x = this.extra.get(peer)!;
    while (!conn.blocked && this.rib.hasPending(peer.slot)) {
      const batch = this.rib.drain(peer.slot, DRAIN_CHUNK);
      const out: Uint8Array[] = [];
      for (const w of batch.withdraw) out.push(...packWithdrawals(w.nlri, conn.tx));
      for (const g of batch.announce) for (const m of this.pack(g, conn.tx)) out.push(m);
      peer.stats.updatesOut += out.length;
      conn.writeMany(out);
    }
    if (!this.rib.hasPending(peer.slot) && !conn.blocked) {
      for (const f of x.eorOwed) conn.send(endOfRibMessage({ afi: afiOf(f), safi: SAFI_UNICAST }));
      x.eorOwed.clear();
      for (const f of x.eorrOwed) conn.send({ type: 'ROUTE-REFRESH', afi: afiOf(f), safi: SAFI_UNICAST, subtype: ROUTE_REFRESH_EORR });
      x.eorrOwed.clear();
    }
  }

  // ---- status -----------------------------------------------------------------------------

  status(): SpeakerStatus {
    const now = Date.now();
    return {
      routerID: formatId(this.config.routerID),
      asNumber: this.config.asNumber,
      listenPort: this.listenPort,
      restarting: this.restarting,
      uptimeSeconds: Math.floor((now - this.startedAt) / 1000),
      routes: { ipv4: this.rib.tables[4].size, ipv6: this.rib.tables[6].size, attributeSets: this.rib.attrTable.size },
      kernel: this.kernel ? { table: this.config.kernelTable!, installed: this.kernel.installedCount } : null,
      peers: this.peerList.map((p) => {
        const c = this.rib.peer(p.slot).counters;
        const x = this.extra.get(p)!;
        return {
          name: p.config.name,
          address: formatAddr(p.config.address),
          port: p.config.port,
          asNumber: p.config.asNumber,
          type: p.internal ? (p.config.routeReflectorClient ? 'ibgp-rr-client' : 'ibgp') : 'ebgp',
          state: p.state.name,
          since: new Date(p.state.since).toISOString(),
          uptimeSeconds: p.established ? Math.floor((now - x.upSince) / 1000) : 0,
          remoteRouterID: p.remoteOpen ? formatId(p.remoteOpen.bgpId) : '',
          holdTime: p.state.holdTime,
          families: [...p.families].map((f) => (f === 4 ? 'ipv4' : 'ipv6')),
          prefixes: { received: c.received, accepted: c.accepted, advertised: c.advertised },
          stale: this.rib.hasStale(p.slot),
          messages: { received: p.conn?.messagesIn ?? 0, sent: p.conn?.messagesOut ?? 0 },
          updates: { received: p.stats.updatesIn, sent: p.stats.updatesOut },
          notifications: { received: p.stats.notificationsIn, sent: p.stats.notificationsOut },
          malformedUpdatesSurvived: p.stats.updateIssues,
          lastError: p.lastError,
          bfd: this.bfdLinks.get(p)?.status() ?? null,
          ...(p.config.password !== undefined ? { tcpMd5: true } : {}),
          ...(p.config.ttlSecurity !== undefined ? { ttlSecurity: p.config.ttlSecurity } : {}),
        };
      }),
      bfd: this.bfd ? { discardedPackets: this.bfd.dropped } : null,
    };
  }

  /** The Loc-RIB with every candidate path, for `tabby bgp routes`. */
  routes(family?: 4 | 6): RouteView[] {
    const out: RouteView[] = [];
    for (const f of family ? [family] : ([4, 6] as const)) {
      for (const entry of this.rib.tables[f].values()) {
        for (const p of entry.allPaths()) {
          const a = p.attrs.attrs;
          out.push({
            prefix: formatPrefix(entry.prefix),
            from: p.slot === 0 ? 'local' : (this.peers[p.slot]?.config.name ?? String(p.slot)),
            best: p.best,
            stale: p.stale,
            rejected: p.rejected,
            nextHop: p.attrs.nextHop.self ? 'self' : p.attrs.nextHop.address ? formatAddr(p.attrs.nextHop.address) : '',
            asPath: (a.asPath ?? []).map((s) => (s.type === 'sequence' ? s.asns.join(' ') : `{${s.asns.join(',')}}`)).join(' '),
            origin: a.origin ?? 'igp',
            ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
            ...(a.med !== undefined ? { med: a.med } : {}),
            ...(a.originatorId !== undefined ? { originatorID: formatId(a.originatorId) } : {}),
            ...(a.clusterList ? { clusterList: a.clusterList.map(formatId) } : {}),
            ...(a.communities ? { communities: a.communities.map((c) => `${c >>> 16}:${c & 0xffff}`) } : {}),
          });
        }
      }
    }
    return out;
  }

  findPeer(text: string): PeerSession | undefined {
    const a = tryParseIP(text);
    return this.peerList.find((p) => p.config.name === text || (a && p.config.address.value === a.value && p.config.address.family === a.family));
  }
}

export interface RouteView {
  prefix: string;
  from: string;
  best: boolean;
  stale: boolean;
  rejected: boolean;
  nextHop: string;
  asPath: string;
  origin: string;
  localPref?: number;
  med?: number;
  originatorID?: string;
  clusterList?: string[];
  communities?: string[];
}

export type SpeakerStatus = {
  routerID: string;
  asNumber: number;
  listenPort: number;
  restarting: boolean;
  uptimeSeconds: number;
  routes: { ipv4: number; ipv6: number; attributeSets: number };
  kernel: { table: number; installed: number } | null;
  peers: PeerStatus[];
  /** BFD packets refused before reaching a session (malformed, authenticated, unknown discriminator or address); null without BFD peers. */
  bfd: { discardedPackets: number } | null;
};

export type PeerStatus = {
  name: string;
  address: string;
  port: number;
  asNumber: number;
  type: string;
  state: string;
  since: string;
  uptimeSeconds: number;
  remoteRouterID: string;
  holdTime: number;
  families: string[];
  prefixes: { received: number; accepted: number; advertised: number };
  stale: boolean;
  messages: { received: number; sent: number };
  updates: { received: number; sent: number };
  notifications: { received: number; sent: number };
  malformedUpdatesSurvived: number;
  lastError: string;
  /** null when BFD is off for this peer. */
  bfd: BfdStatus | null;
  /** Present when TCP-MD5 signs the session (the key itself is never shown). */
  tcpMd5?: true;
  /** GTSM hop count, present when GTSM is on. */
  ttlSecurity?: number;
};

export const formatId = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const formatAddr = (a: IPAddr): string => formatIP(a);
const formatPrefix = (c: CIDR): string => formatCIDR(c);
