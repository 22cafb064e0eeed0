// The vocabulary of the BGP finite state machine (RFC 4271 §8): states, events, the timers the
// machine asks for, and the concrete actions its shell performs. Pure data, no behaviour.
//
// One machine runs per TCP connection (the speaker may briefly hold two for one peer while a
// connection collision, §6.8, is resolved). Times are in seconds; the machine never reads a clock,
// it asks its shell to start and stop named timers and is told when they expire.

export type FsmStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** The events of RFC 4271 §8.1 we use, named as in the RFC (numbers in comments), plus route refresh. */
export type FsmEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop' } // 2
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { type: 'AutomaticStop'; reason?: string; cease?: NotificationSpec } // 8: `cease` replaces the default Cease/6 (BFD Down: Cease/10)
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'DelayOpenTimer_Expires' } // 12
  | { type: 'IdleHoldTimer_Expires' } // 13
  | { type: 'TcpConnection_Valid' } // 14
  | { type: 'Tcp_CR_Invalid' } // 15
  | { type: 'Tcp_CR_Acked' } // 16: our outgoing connection completed
  | { type: 'TcpConnectionConfirmed' } // 17: an incoming connection was accepted
  | { type: 'TcpConnectionFails'; reason?: string } // 18
  | { type: 'BGPOpen'; holdTime: number } // 19 (and 20 when the DelayOpen timer runs): a valid OPEN
  | { type: 'BGPHeaderErr'; notification: NotificationSpec } // 21
  | { type: 'BGPOpenMsgErr'; notification: NotificationSpec } // 22
  | { type: 'OpenCollisionDump' } // 23
  | { type: 'NotifMsgVerErr' } // 24
  | { type: 'NotifMsg'; code: number; subcode: number; reason?: string } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg' } // 27
  | { type: 'UpdateMsgErr'; notification: NotificationSpec } // 28
  | { type: 'RouteRefreshMsg' }; // RFC 2918: valid only in Established

export type FsmEventType = FsmEvent['type'];

export interface NotificationSpec {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
  /** Why, for the log; never sent. */
  readonly reason?: string;
}

export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold';

/** What a session ended by, so the speaker can decide whether graceful restart keeps its routes. */
export type DownCause = 'stopped' | 'notification-sent' | 'notification-received' | 'tcp-failure' | 'hold-expired';

export type FsmAction =
  | { kind: 'connect' }
  | { kind: 'drop' }
  | { kind: 'sendOpen' }
  | { kind: 'sendKeepalive' }
  | { kind: 'sendNotification'; notification: NotificationSpec }
  | { kind: 'startTimer'; timer: TimerName; seconds: number }
  | { kind: 'stopTimer'; timer: TimerName }
  | { kind: 'processUpdate' }
  | { kind: 'processRouteRefresh' }
  | { kind: 'sessionUp'; holdTime: number; keepaliveTime: number }
  | { kind: 'sessionDown'; cause: DownCause };

export interface FsmConfig {
  /** Our proposed hold time (0, or ≥ 3). */
  readonly holdTime: number;
  /** Our keepalive interval; 0 means a third of the negotiated hold time. */
  readonly keepaliveTime: number;
  /** Seconds between connection attempts while Connect/Active. */
  readonly connectRetryTime: number;
  /** Never initiate TCP; wait for the peer (Calico's `passive on`). */
  readonly passive: boolean;
  /** RFC 4271 DelayOpen: wait this long for the peer's OPEN before sending ours; 0 = off. */
  readonly delayOpenTime: number;
  /** After an error, wait this long in Idle before starting again; doubles per consecutive error. */
  readonly idleHoldTime: number;
  readonly idleHoldTimeMax: number;
  /** Restart automatically after errors (a daemon); false for a one-shot session. */
  readonly automaticRestart: boolean;
}

export const DEFAULT_FSM_CONFIG: FsmConfig = {
  holdTime: 90,
  keepaliveTime: 0,
  connectRetryTime: 5,
  passive: false,
  delayOpenTime: 0,
  idleHoldTime: 1,
  idleHoldTimeMax: 60,
  automaticRestart: true,
};

export interface FsmState {
  readonly name: FsmStateName;
  /** RFC 4271 ConnectRetryCounter: consecutive failures; drives the idle-hold backoff. */
  readonly connectRetryCounter: number;
  readonly delayOpenRunning: boolean;
  /** Negotiated at OPEN; 0 until then. */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Clock reading (ms) of the last state change, for uptime. */
  readonly since: number;
  /** Set by ManualStop: no automatic restart until the next start event. */
  readonly stopped: boolean;
}

export interface StepResult {
  readonly state: FsmState;
  readonly actions: readonly FsmAction[];
  /** One line for the log: which cell fired and why. */
  readonly reason: string;
}

/** The large hold time used while waiting for an OPEN (RFC 4271 §8.2.2 suggests 4 minutes). */
export const LARGE_HOLD_TIME = 240;

// NOTIFICATION codes (RFC 4271 §4.5, RFC 6608 FSM subcodes, RFC 4486 Cease subcodes).
export const NOTIFY = {
  holdTimerExpired: { code: 4, subcode: 0 },
  fsmErrorInOpenSent: { code: 5, subcode: 1 },
  fsmErrorInOpenConfirm: { code: 5, subcode: 2 },
  fsmErrorInEstablished: { code: 5, subcode: 3 },
  ceaseAdminShutdown: { code: 6, subcode: 2 },
  ceaseOtherConfigChange: { code: 6, subcode: 6 },
  ceaseCollision: { code: 6, subcode: 7 },
  /** RFC 9384: the session went down because BFD said the path is down. */
  ceaseBfdDown: { code: 6, subcode: 10 },
} as const;
