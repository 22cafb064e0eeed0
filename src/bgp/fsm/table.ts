// RFC 4271 §8.2.2 as a literal state × event table, one cell per (state, event) the RFC names,
// read top to bottom like the RFC text. A cell lists symbolic operations, the next state and why.
// `step.ts` interprets the operations with the machine's numbers (hold time, backoff).
//
// Conventions shared by every cell (so the cells stay short):
// - Entering Idle from another state stops every timer and, unless the peer was stopped by hand
//   or automatic restart is off, starts IdleHold with exponential backoff (RFC 4271 §8.1.1
//   DampPeerOscillations): the way this speaker retries after an error.
// - An event a state has no cell for takes that state's `otherwise` cell (the RFC's "any other
//   event"). Idle ignores everything but the start events and IdleHold expiry.
// - Deviation, documented: a passive peer never initiates TCP (no ConnectRetry timer), as BIRD's
//   and Calico's `passive on`; RFC 4271 would connect once the first ConnectRetry expired.

import type { DownCause, FsmEventType, FsmStateName, NotificationSpec } from './types.js';
import { NOTIFY } from './types.js';

export type Op =
  | 'connect'
  | 'drop'
  | 'sendOpen'
  | 'sendKeepalive'
  | 'notifyFromEvent' // the NOTIFICATION the event carries (header, OPEN, UPDATE errors)
  | { notify: NotificationSpec }
  | 'startConnectRetry'
  | 'stopConnectRetry'
  | 'startDelayOpen'
  | 'stopDelayOpen'
  | 'startHoldLarge'
  | 'negotiateHoldTime' // from the peer's OPEN: min(ours, theirs); keepalive a third
  | 'startHoldNegotiated'
  | 'startKeepalive'
  | 'processUpdate'
  | 'processRouteRefresh'
  | 'sessionUp'
  | { release: DownCause }
  | 'countFailure'
  | 'resetCounter';

export interface Cell {
  readonly next: FsmStateName | 'same';
  readonly ops: readonly Op[];
  readonly why: string;
}

type Row = Partial<Record<FsmEventType, Cell>> & { otherwise?: Cell };

const toIdle = (ops: Op[], why: string): Cell => ({ next: 'Idle', ops, why });

// Cells shared by Connect and Active for an established TCP connection.
const tcpUpSendOpen: Cell = {
  next: 'OpenSent',
  ops: ['stopConnectRetry', 'sendOpen', 'startHoldLarge'],
  why: 'TCP connection established: OPEN sent, waiting for the peer\'s OPEN',
};
/** With DelayOpen configured, an established connection waits for the peer's OPEN first (step.ts picks this cell). */
export const TCP_UP_WITH_DELAY_OPEN: Cell = {
  next: 'same',
  ops: ['stopConnectRetry', 'startDelayOpen'],
  why: 'TCP connection established: DelayOpen started, waiting for the peer\'s OPEN',
};
const openWhileDelayed: Cell = {
  next: 'OpenConfirm',
  ops: ['stopConnectRetry', 'stopDelayOpen', 'negotiateHoldTime', 'sendOpen', 'sendKeepalive', 'startKeepalive', 'startHoldNegotiated'],
  why: 'OPEN received while DelayOpen ran: OPEN and KEEPALIVE sent',
};

// Cells several states share word for word (named so the table below stays one line per cell).
const STOP_WITH_CEASE = toIdle([{ notify: NOTIFY.ceaseAdminShutdown }, 'drop', { release: 'stopped' }, 'resetCounter'], 'stopped by the operator');
const AUTOMATIC_STOP = toIdle([{ notify: NOTIFY.ceaseOtherConfigChange }, 'drop', { release: 'notification-sent' }, 'countFailure'], 'stopped by the speaker');
const COLLISION_DUMP = toIdle([{ notify: NOTIFY.ceaseCollision }, 'drop', { release: 'notification-sent' }, 'countFailure'], 'connection collision: this connection lost');
const HEADER_ERROR = toIdle(['notifyFromEvent', 'drop', { release: 'notification-sent' }, 'countFailure'], 'bad message header');
const OPEN_ERROR = toIdle(['notifyFromEvent', 'drop', { release: 'notification-sent' }, 'countFailure'], 'unacceptable OPEN');
const NOTIFICATION_RECEIVED = toIdle(['drop', { release: 'notification-received' }, 'countFailure'], 'NOTIFICATION received');
const TCP_FAILED = toIdle(['drop', { release: 'tcp-failure' }, 'countFailure'], 'TCP connection failed');
const KEEPALIVE_DUE: Cell = { next: 'same', ops: ['sendKeepalive', 'startKeepalive'], why: 'keepalive sent' };

export const FSM_TABLE: Readonly<Record<FsmStateName, Row>> = {
  Idle: {
    ManualStart: { next: 'Connect', ops: ['resetCounter', 'startConnectRetry', 'connect'], why: 'started: connecting' },
    AutomaticStart: { next: 'Connect', ops: ['startConnectRetry', 'connect'], why: 'automatic start: connecting' },
    ManualStart_with_PassiveTcpEstablishment: { next: 'Active', ops: ['resetCounter'], why: 'started passive: waiting for the peer to connect' },
    AutomaticStart_with_PassiveTcpEstablishment: { next: 'Active', ops: [], why: 'automatic passive start: waiting for the peer to connect' },
    // IdleHoldTimer_Expires is mapped to the (passive) automatic start by step.ts.
  },

  Connect: {
    ManualStop: toIdle(['drop', { release: 'stopped' }, 'resetCounter'], 'stopped by the operator'),
    ConnectRetryTimer_Expires: { next: 'Connect', ops: ['drop', 'stopDelayOpen', 'startConnectRetry', 'connect'], why: 'connect retry timer expired: connecting again' },
    DelayOpenTimer_Expires: { next: 'OpenSent', ops: ['stopDelayOpen', 'sendOpen', 'startHoldLarge'], why: 'DelayOpen expired: OPEN sent' },
    TcpConnection_Valid: { next: 'same', ops: [], why: 'TCP connection request is valid' },
    Tcp_CR_Invalid: { next: 'same', ops: [], why: 'invalid TCP connection request rejected' },
    Tcp_CR_Acked: tcpUpSendOpen,
    TcpConnectionConfirmed: tcpUpSendOpen,
    // RFC 4271 §8.2.2, Connect, event 18: to Idle without counting a failure (only Active counts):
    // a peer not listening yet is retried after the initial IdleHold, not an ever longer one.
    TcpConnectionFails: toIdle(['drop', { release: 'tcp-failure' }], 'TCP connection failed'),
    BGPOpen: openWhileDelayed, // only reachable with DelayOpen running (step.ts checks)
    BGPHeaderErr: HEADER_ERROR,
    BGPOpenMsgErr: OPEN_ERROR,
    NotifMsgVerErr: toIdle(['drop', { release: 'notification-received' }], 'peer rejected our BGP version'),
    otherwise: toIdle(['drop', { release: 'tcp-failure' }, 'countFailure'], 'event not expected in Connect'),
  },

  Active: {
    ManualStop: toIdle(['drop', { release: 'stopped' }, 'resetCounter'], 'stopped by the operator'),
    ConnectRetryTimer_Expires: { next: 'Connect', ops: ['startConnectRetry', 'connect'], why: 'connect retry timer expired: connecting' },
    DelayOpenTimer_Expires: { next: 'OpenSent', ops: ['stopDelayOpen', 'sendOpen', 'startHoldLarge'], why: 'DelayOpen expired: OPEN sent' },
    TcpConnection_Valid: { next: 'same', ops: [], why: 'TCP connection request is valid' },
    Tcp_CR_Invalid: { next: 'same', ops: [], why: 'invalid TCP connection request rejected' },
    Tcp_CR_Acked: tcpUpSendOpen,
    TcpConnectionConfirmed: tcpUpSendOpen,
    TcpConnectionFails: TCP_FAILED,
    BGPOpen: openWhileDelayed,
    BGPHeaderErr: HEADER_ERROR,
    BGPOpenMsgErr: OPEN_ERROR,
    NotifMsgVerErr: toIdle(['drop', { release: 'notification-received' }], 'peer rejected our BGP version'),
    otherwise: toIdle(['drop', { release: 'tcp-failure' }, 'countFailure'], 'event not expected in Active'),
  },

  OpenSent: {
    ManualStop: STOP_WITH_CEASE,
    AutomaticStop: AUTOMATIC_STOP,
    HoldTimer_Expires: toIdle([{ notify: NOTIFY.holdTimerExpired }, 'drop', { release: 'hold-expired' }, 'countFailure'], 'hold timer expired waiting for OPEN'),
    TcpConnection_Valid: { next: 'same', ops: [], why: 'second connection: collision resolved at OPEN' },
    Tcp_CR_Acked: { next: 'same', ops: [], why: 'second connection: collision resolved at OPEN' },
    TcpConnectionConfirmed: { next: 'same', ops: [], why: 'second connection: collision resolved at OPEN' },
    TcpConnectionFails: { next: 'Active', ops: ['drop', 'startConnectRetry'], why: 'TCP connection closed before OPEN: waiting to retry' },
    BGPOpen: {
      next: 'OpenConfirm',
      ops: ['stopDelayOpen', 'stopConnectRetry', 'negotiateHoldTime', 'sendKeepalive', 'startKeepalive', 'startHoldNegotiated'],
      why: 'OPEN received and accepted: KEEPALIVE sent',
    },
    BGPHeaderErr: HEADER_ERROR,
    BGPOpenMsgErr: OPEN_ERROR,
    OpenCollisionDump: COLLISION_DUMP,
    NotifMsgVerErr: toIdle(['drop', { release: 'notification-received' }], 'peer rejected our BGP version'),
    NotifMsg: NOTIFICATION_RECEIVED,
    otherwise: toIdle([{ notify: NOTIFY.fsmErrorInOpenSent }, 'drop', { release: 'notification-sent' }, 'countFailure'], 'unexpected message in OpenSent'),
  },

  OpenConfirm: {
    ManualStop: STOP_WITH_CEASE,
    AutomaticStop: AUTOMATIC_STOP,
    HoldTimer_Expires: toIdle([{ notify: NOTIFY.holdTimerExpired }, 'drop', { release: 'hold-expired' }, 'countFailure'], 'hold timer expired waiting for KEEPALIVE'),
    KeepaliveTimer_Expires: KEEPALIVE_DUE,
    TcpConnection_Valid: { next: 'same', ops: [], why: 'second connection: collision resolved at OPEN' },
    TcpConnectionConfirmed: { next: 'same', ops: [], why: 'second connection: collision resolved at OPEN' },
    TcpConnectionFails: TCP_FAILED,
    NotifMsg: NOTIFICATION_RECEIVED,
    NotifMsgVerErr: toIdle(['drop', { release: 'notification-received' }], 'peer rejected our BGP version'),
    BGPHeaderErr: HEADER_ERROR,
    BGPOpenMsgErr: OPEN_ERROR,
    OpenCollisionDump: COLLISION_DUMP,
    KeepAliveMsg: { next: 'Established', ops: ['startHoldNegotiated', 'resetCounter', 'sessionUp'], why: 'KEEPALIVE received: session established' },
    otherwise: toIdle([{ notify: NOTIFY.fsmErrorInOpenConfirm }, 'drop', { release: 'notification-sent' }, 'countFailure'], 'unexpected message in OpenConfirm'),
  },

  Established: {
    ManualStop: STOP_WITH_CEASE,
    AutomaticStop: AUTOMATIC_STOP,
    HoldTimer_Expires: toIdle([{ notify: NOTIFY.holdTimerExpired }, 'drop', { release: 'hold-expired' }, 'countFailure'], 'hold timer expired'),
    KeepaliveTimer_Expires: KEEPALIVE_DUE,
    TcpConnection_Valid: { next: 'same', ops: [], why: 'second connection while established: the speaker refuses it' },
    TcpConnectionConfirmed: { next: 'same', ops: [], why: 'second connection while established: the speaker refuses it' },
    OpenCollisionDump: COLLISION_DUMP,
    NotifMsgVerErr: NOTIFICATION_RECEIVED,
    NotifMsg: NOTIFICATION_RECEIVED,
    TcpConnectionFails: TCP_FAILED,
    KeepAliveMsg: { next: 'same', ops: ['startHoldNegotiated'], why: 'KEEPALIVE received' },
    UpdateMsg: { next: 'same', ops: ['startHoldNegotiated', 'processUpdate'], why: 'UPDATE received' },
    RouteRefreshMsg: { next: 'same', ops: ['startHoldNegotiated', 'processRouteRefresh'], why: 'ROUTE-REFRESH received' },
    UpdateMsgErr: toIdle(['notifyFromEvent', 'drop', { release: 'notification-sent' }, 'countFailure'], 'malformed UPDATE'),
    BGPHeaderErr: HEADER_ERROR,
    otherwise: toIdle([{ notify: NOTIFY.fsmErrorInEstablished }, 'drop', { release: 'notification-sent' }, 'countFailure'], 'unexpected message in Established'),
  },
};
