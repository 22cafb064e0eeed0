// The session shell of one configured peer: the single owner of that peer's FSM state, its TCP
// connection(s) and its timers. It feeds socket and timer events into the pure FSM, performs the
// actions `step` returns, and hands UPDATEs and session up/down to the speaker.
//
// Connection handling (RFC 4271 §6.8, §8): an incoming connection while we are Idle (not
// stopped), Connect or Active is adopted; while OpenSent/OpenConfirm it is held as a collision
// candidate until its OPEN arrives, then the connection initiated by the higher BGP Identifier
// survives; while Established it is refused with Cease/7, unless the peer does graceful restart,
// in which case the old session is taken as failed (routes kept stale) and the new one adopted
// (RFC 4724 §4.2).
//
// A peer with a password (TCP-MD5) or ttlSecurity (GTSM) connects through tabby-sockopt's relay
// (session/sockopt.ts): the options must be on the socket before connect(), which Node cannot
// do. The relay's stream end is the connection's transport; its failure to connect is a TCP
// connection failure like any other (the FSM's ConnectRetry behaviour is the same).

import { connect as tcpConnect, type Socket } from 'node:net';
import {
  DEFAULT_FSM_CONFIG, type FsmAction, type FsmConfig, type FsmEvent, type FsmState, type NotificationSpec, type TimerName,
  checkOpen, collisionLoser, initialState, step,
} from '../fsm/index.js';
import { formatIP } from '../../ip/index.js';
import type { Logger } from '../../util/log.js';
import {
  type BgpDecodeError, type BgpMessage, type GracefulRestartCapability, type OpenMessage, type RouteRefreshMessage, type UpdateMessage,
  commonFamilies, negotiate, notificationName, openAsn,
} from '../wire/index.js';
import type { PeerConfig } from '../config.js';
import { BgpConnection } from './connection.js';
import { connectThroughRelay, requireSockoptBinary } from './sockopt.js';
import type { DownCause } from '../fsm/index.js';

export interface PeerHooks {
  localOpen(peer: PeerSession): OpenMessage;
  sessionUp(peer: PeerSession): void;
  sessionDown(peer: PeerSession, cause: DownCause, keepStale: boolean): void;
  update(peer: PeerSession, msg: UpdateMessage): void;
  routeRefresh(peer: PeerSession, msg: RouteRefreshMessage): void;
  writable(peer: PeerSession): void;
  stateChanged(peer: PeerSession, from: string, to: string, reason: string): void;
}

const TIMER_EVENT: Record<TimerName, FsmEvent['type']> = {
  ConnectRetry: 'ConnectRetryTimer_Expires',
  Hold: 'HoldTimer_Expires',
  Keepalive: 'KeepaliveTimer_Expires',
  DelayOpen: 'DelayOpenTimer_Expires',
  IdleHold: 'IdleHoldTimer_Expires',
};

export interface PeerStats {
  updatesIn: number;
  updatesOut: number;
  notificationsIn: number;
  notificationsOut: number;
  establishedTransitions: number;
  updateIssues: number;
}

export class PeerSession {
  state: FsmState;
  conn: BgpConnection | undefined;
  private candidate: BgpConnection | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private holdDeadline = 0;
  private notified = false;
  private current: BgpMessage | undefined;
  readonly fsm: FsmConfig;
  localOpen: OpenMessage | undefined;
  remoteOpen: OpenMessage | undefined;
  families: ReadonlySet<4 | 6> = new Set();
  lastError = '';
  readonly stats: PeerStats = { updatesIn: 0, updatesOut: 0, notificationsIn: 0, notificationsOut: 0, establishedTransitions: 0, updateIssues: 0 };

  constructor(
    readonly slot: number,
    readonly config: PeerConfig,
    readonly localId: number,
    readonly localAs: number,
    private readonly hooks: PeerHooks,
    readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.state = initialState(now());
    this.fsm = {
      ...DEFAULT_FSM_CONFIG,
      holdTime: config.holdTime,
      keepaliveTime: config.keepaliveTime,
      connectRetryTime: config.connectRetryTime,
      passive: config.passive,
      delayOpenTime: config.delayOpenTime,
      idleHoldTime: 1,
      idleHoldTimeMax: Math.max(config.connectRetryTime * 4, 30),
    };
  }

  get internal(): boolean {
    return this.config.asNumber === this.localAs;
  }

  get established(): boolean {
    return this.state.name === 'Established';
  }

  /** The peer's graceful-restart capability from its last OPEN. */
  get peerGracefulRestart(): GracefulRestartCapability | undefined {
    return this.remoteOpen?.capabilities.find((c): c is GracefulRestartCapability => c.kind === 'graceful-restart');
  }

  hasCapability(kind: 'route-refresh' | 'enhanced-route-refresh'): boolean {
    const caps = this.remoteOpen?.capabilities ?? [];
    return caps.some((c) => c.kind === kind || (kind === 'route-refresh' && c.kind === 'route-refresh-cisco'));
  }

  start(): void {
    this.feed({ type: 'ManualStart' });
  }

  stop(): void {
    this.feed({ type: 'ManualStop' });
    this.candidate?.close();
  }

  /** Closes everything without a NOTIFICATION (our own graceful restart: peers keep our routes). */
  abandon(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.conn?.close();
    this.candidate?.close();
  }

  /** One event through the FSM; its actions performed before the next event is taken. */
  feed(event: FsmEvent, msg?: BgpMessage): void {
    const from = this.state.name;
    const r = step(this.state, event, this.now(), this.fsm);
    this.state = r.state;
    if (from !== r.state.name) this.hooks.stateChanged(this, from, r.state.name, r.reason);
    else this.log.debug('fsm', { peer: this.config.name, reason: r.reason });
    this.current = msg;
    for (const a of r.actions) this.perform(a);
    this.current = undefined;
  }

  private perform(a: FsmAction): void {
    switch (a.kind) {
      case 'connect':
        return this.connect();
      case 'drop':
        this.conn?.close(this.notified);
        this.conn = undefined;
        this.notified = false;
        return;
      case 'sendOpen':
        this.localOpen = this.hooks.localOpen(this);
        this.conn?.send(this.localOpen);
        return;
      case 'sendKeepalive':
        this.conn?.send({ type: 'KEEPALIVE' });
        return;
      case 'sendNotification':
        return this.sendNotification(a.notification);
      case 'startTimer':
        return this.startTimer(a.timer, a.seconds);
      case 'stopTimer':
        clearTimeout(this.timers.get(a.timer));
        this.timers.delete(a.timer);
        return;
      case 'processUpdate':
        if (this.current?.type === 'UPDATE') {
          this.stats.updatesIn++;
          this.hooks.update(this, this.current);
        }
        return;
      case 'processRouteRefresh':
        if (this.current?.type === 'ROUTE-REFRESH') this.hooks.routeRefresh(this, this.current);
        return;
      case 'sessionUp':
        this.stats.establishedTransitions++;
        this.lastError = '';
        this.hooks.sessionUp(this);
        return;
      case 'sessionDown': {
        const gr = this.peerGracefulRestart;
        const keepStale = a.cause === 'tcp-failure' && this.config.gracefulRestart && gr !== undefined;
        this.hooks.sessionDown(this, a.cause, keepStale);
        return;
      }
    }
  }

  private sendNotification(n: NotificationSpec): void {
    this.stats.notificationsOut++;
    this.lastError = `sent NOTIFICATION ${n.code}/${n.subcode} (${notificationName(n.code, n.subcode)})${n.reason ? `: ${n.reason}` : ''}`;
    this.log.warn('sending NOTIFICATION', { peer: this.config.name, code: n.code, subcode: n.subcode, name: notificationName(n.code, n.subcode), reason: n.reason ?? '' });
    if (this.conn && !this.conn.closed) {
      this.conn.send({ type: 'NOTIFICATION', code: n.code, subcode: n.subcode, data: n.data ?? new Uint8Array() });
      this.notified = true;
    }
  }

  private startTimer(timer: TimerName, seconds: number): void {
    if (timer === 'Hold') {
      // The hold timer restarts on every message: keep a deadline, re-arm lazily.
      this.holdDeadline = this.now() + seconds * 1000;
      if (this.timers.has('Hold')) return;
      const check = () => {
        const left = this.holdDeadline - this.now();
        if (left > 0) this.timers.set('Hold', setTimeout(check, left));
        else {
          this.timers.delete('Hold');
          this.feed({ type: 'HoldTimer_Expires' });
        }
      };
      this.timers.set('Hold', setTimeout(check, seconds * 1000));
      return;
    }
    clearTimeout(this.timers.get(timer));
    this.timers.set(timer, setTimeout(() => {
      this.timers.delete(timer);
      this.feed({ type: TIMER_EVENT[timer] } as FsmEvent);
    }, seconds * 1000));
  }

  private connect(): void {
    this.conn?.close();
    const c = this.config;
    if (c.password !== undefined || c.ttlSecurity !== undefined) return this.connectThroughRelay();
    const socket = tcpConnect({ host: formatIP(c.address), port: c.port, ...(c.localAddress ? { localAddress: formatIP(c.localAddress) } : {}) });
    const conn = this.attach(socket, 'outgoing');
    this.conn = conn;
    socket.once('connect', () => {
      if (this.conn === conn) this.feed({ type: 'Tcp_CR_Acked' });
    });
  }

  private connectThroughRelay(): void {
    const c = this.config;
    let binary: string;
    try {
      binary = requireSockoptBinary(this.sockoptBinary);
    } catch (e) {
      this.lastError = (e as Error).message;
      this.log.error('cannot connect', { peer: c.name, error: this.lastError });
      return void setImmediate(() => this.feed({ type: 'TcpConnectionFails', reason: this.lastError }));
    }
    const relay = connectThroughRelay(binary, {
      peer: c.address,
      port: c.port,
      ...(c.localAddress ? { source: c.localAddress } : {}),
      ...(c.password ? { password: c.password } : {}),
      ...(c.ttlSecurity !== undefined ? { ttlSecurityHops: c.ttlSecurity } : {}),
    });
    const conn = this.attach(relay.socket, 'outgoing');
    this.conn = conn;
    relay.connected.then(
      (ep) => {
        conn.setEndpoints(ep.localAddress, `${formatIP(c.address)}:${c.port}`);
        if (this.conn === conn) this.feed({ type: 'Tcp_CR_Acked' });
      },
      (e: Error) => {
        // The transport's close usually reports first, with no reason: the helper's is better.
        if (!this.established && (this.conn === conn || this.conn === undefined)) this.lastError = e.message.startsWith('connect: ') ? `connect failed: ${e.message.slice(9)}` : `connect failed: ${e.message}`;
      },
    );
  }

  /** Path of tabby-sockopt; default: beside the entry point. */
  sockoptBinary: string | undefined;

  private attach(socket: Socket, direction: 'outgoing' | 'incoming'): BgpConnection {
    const conn: BgpConnection = new BgpConnection(socket, direction, {
      message: (m) => (conn === this.conn ? this.onMessage(m) : conn === this.candidate ? this.onCandidateMessage(m) : undefined),
      decodeError: (e) => (conn === this.conn ? this.onDecodeError(e) : conn.close()),
      closed: (reason) => {
        if (conn === this.conn) {
          this.conn = undefined;
          if (!this.lastError || this.established) this.lastError = reason;
          this.feed({ type: 'TcpConnectionFails', reason });
        } else if (conn === this.candidate) this.candidate = undefined;
      },
      drained: () => {
        if (conn === this.conn && this.established) this.hooks.writable(this);
      },
    });
    return conn;
  }

  /** A connection from this peer's address arrived at our listener. */
  incoming(socket: Socket): void {
    const s = this.state;
    if (s.name === 'Idle') {
      if (s.stopped) return void socket.destroy();
      this.stopTimer('IdleHold');
      this.feed({ type: 'AutomaticStart_with_PassiveTcpEstablishment' });
      return this.adopt(socket);
    }
    if (s.name === 'Connect' || s.name === 'Active') {
      this.conn?.close(); // an outgoing attempt still in progress loses to the connection that made it
      this.conn = undefined;
      return this.adopt(socket);
    }
    if (s.name === 'Established') {
      if (this.peerGracefulRestart && this.config.gracefulRestart) {
        this.log.info('peer reconnected while established: taking it as a graceful restart', { peer: this.config.name });
        this.conn?.close();
        this.conn = undefined;
        this.feed({ type: 'TcpConnectionFails', reason: 'peer opened a new connection (graceful restart)' });
        this.stopTimer('IdleHold');
        this.feed({ type: 'AutomaticStart_with_PassiveTcpEstablishment' });
        return this.adopt(socket);
      }
      const conn = this.attach(socket, 'incoming');
      conn.send({ type: 'NOTIFICATION', code: 6, subcode: 7, data: new Uint8Array() });
      return conn.close(true);
    }
    // OpenSent / OpenConfirm: hold it until its OPEN tells us who wins.
    this.candidate?.close();
    this.candidate = this.attach(socket, 'incoming');
  }

  private adopt(socket: Socket): void {
    this.conn = this.attach(socket, 'incoming');
    this.feed({ type: 'TcpConnectionConfirmed' });
  }

  private stopTimer(t: TimerName): void {
    clearTimeout(this.timers.get(t));
    this.timers.delete(t);
  }

  private onCandidateMessage(m: BgpMessage): void {
    const cand = this.candidate!;
    if (m.type !== 'OPEN') return;
    const loser = collisionLoser(this.localId, m.bgpId);
    const mainIsOutgoing = this.conn?.direction === 'outgoing';
    if (loser === 'outgoing' && mainIsOutgoing) {
      this.log.info('connection collision: keeping the peer\'s connection', { peer: this.config.name });
      this.candidate = undefined;
      this.feed({ type: 'OpenCollisionDump' });
      this.stopTimer('IdleHold');
      this.feed({ type: 'AutomaticStart_with_PassiveTcpEstablishment' });
      this.conn = cand;
      this.feed({ type: 'TcpConnectionConfirmed' });
      this.onMessage(m);
    } else {
      this.log.info('connection collision: keeping our connection', { peer: this.config.name });
      this.candidate = undefined;
      cand.send({ type: 'NOTIFICATION', code: 6, subcode: 7, data: new Uint8Array() });
      cand.close(true);
    }
  }

  private onMessage(m: BgpMessage): void {
    switch (m.type) {
      case 'OPEN':
        return this.onOpen(m);
      case 'KEEPALIVE':
        return this.feed({ type: 'KeepAliveMsg' });
      case 'UPDATE':
        if (m.issues) {
          this.stats.updateIssues += m.issues.length;
          for (const i of m.issues) this.log.warn('malformed UPDATE survived (RFC 7606)', { peer: this.config.name, disposition: i.disposition, attribute: i.attributeCode ?? null, reason: i.reason });
        }
        return this.feed({ type: 'UpdateMsg' }, m);
      case 'NOTIFICATION': {
        this.stats.notificationsIn++;
        const text = m.shutdownCommunication ? `: "${m.shutdownCommunication}"` : '';
        const name = notificationName(m.code, m.subcode);
        this.lastError = `received NOTIFICATION ${m.code}/${m.subcode} (${name})${text}`;
        if (m.code === 2 && m.subcode === 1) return this.feed({ type: 'NotifMsgVerErr' });
        return this.feed({ type: 'NotifMsg', code: m.code, subcode: m.subcode, reason: `${name}${text}` });
      }
      case 'ROUTE-REFRESH':
        return this.feed({ type: 'RouteRefreshMsg' }, m);
    }
  }

  private onOpen(open: OpenMessage): void {
    const problem = checkOpen({ version: open.version, asn: openAsn(open), holdTime: open.holdTime, bgpId: open.bgpId }, { peerAs: this.config.asNumber, localId: this.localId, internal: this.internal });
    if (problem) return this.feed({ type: 'BGPOpenMsgErr', notification: problem });
    if (this.state.name !== 'OpenSent' && !this.state.delayOpenRunning) return this.feed({ type: 'BGPOpen', holdTime: open.holdTime });
    this.remoteOpen = open;
    const local = this.localOpen ?? this.hooks.localOpen(this);
    const { rx, tx } = negotiate(local, open, { external: !this.internal });
    this.conn?.setContexts(rx, tx);
    const fams = new Set<4 | 6>();
    for (const k of commonFamilies(local, open)) {
      if (k === '1/1') fams.add(4);
      if (k === '2/1') fams.add(6);
    }
    this.families = fams;
    this.feed({ type: 'BGPOpen', holdTime: open.holdTime });
  }

  private onDecodeError(e: BgpDecodeError): void {
    const notification: NotificationSpec = { code: e.notification.code, subcode: e.notification.subcode, data: e.notification.data, reason: `${e.where}: ${e.reason}` };
    this.log.warn('malformed message', { peer: this.config.name, where: e.where, reason: e.reason, code: e.notification.code, subcode: e.notification.subcode, disposition: e.disposition });
    if (e.notification.code === 1) return this.feed({ type: 'BGPHeaderErr', notification });
    if (e.notification.code === 2) return this.feed({ type: 'BGPOpenMsgErr', notification });
    return this.feed({ type: 'UpdateMsgErr', notification });
  }
}
