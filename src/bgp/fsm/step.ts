// The pure step function of the BGP FSM: (state, event, now) → (state, actions, reason).
// It looks the cell up in FSM_TABLE and turns the cell's symbolic operations into concrete
// actions using the configuration and the numbers negotiated so far. No clock, no I/O: `now` is
// only stamped into `since` when the state changes.
//
// Invariants: every transition into Idle stops all timers; a sessionDown action is emitted only
// when leaving Established (only then did the speaker see sessionUp); IdleHold backoff is
// idleHoldTime · 2^(failures−1), capped at idleHoldTimeMax.

import { FSM_TABLE, TCP_UP_WITH_DELAY_OPEN, type Cell, type Op } from './table.js';
import type { FsmAction, FsmConfig, FsmEvent, FsmState, StepResult, TimerName } from './types.js';
import { LARGE_HOLD_TIME } from './types.js';

const ALL_TIMERS: readonly TimerName[] = ['ConnectRetry', 'Hold', 'Keepalive', 'DelayOpen', 'IdleHold'];

export function initialState(now: number): FsmState {
  return { name: 'Idle', connectRetryCounter: 0, delayOpenRunning: false, holdTime: 0, keepaliveTime: 0, since: now, stopped: false };
}

/** The negotiated hold time and keepalive interval (RFC 4271 §4.2, §10). */
export function negotiateHoldTime(config: FsmConfig, peerHoldTime: number): { holdTime: number; keepaliveTime: number } {
  const holdTime = Math.min(config.holdTime, peerHoldTime);
  if (holdTime === 0) return { holdTime: 0, keepaliveTime: 0 };
  const third = Math.max(1, Math.floor(holdTime / 3));
  return { holdTime, keepaliveTime: config.keepaliveTime > 0 ? Math.min(config.keepaliveTime, third) : third };
}

export function idleHoldSeconds(config: FsmConfig, failures: number): number {
  const exp = Math.max(0, failures - 1);
  return Math.min(config.idleHoldTimeMax, config.idleHoldTime * 2 ** Math.min(exp, 20));
}

/** The cell for (state, event), resolving the mapped events and the `otherwise` fallback. */
export function cellFor(state: FsmState, event: FsmEvent, config: FsmConfig): Cell | undefined {
  let type = event.type;
  if (state.name === 'Idle') {
    // Start events honour the peer's passive setting; IdleHold expiry is an automatic start.
    if (type === 'IdleHoldTimer_Expires') type = 'AutomaticStart';
    if (config.passive && type === 'ManualStart') type = 'ManualStart_with_PassiveTcpEstablishment';
    if (config.passive && type === 'AutomaticStart') type = 'AutomaticStart_with_PassiveTcpEstablishment';
    return FSM_TABLE.Idle[type];
  }
  const row = FSM_TABLE[state.name];
  const connecting = state.name === 'Connect' || state.name === 'Active';
  if (connecting && config.delayOpenTime > 0 && (type === 'Tcp_CR_Acked' || type === 'TcpConnectionConfirmed')) return TCP_UP_WITH_DELAY_OPEN;
  // An OPEN in Connect/Active is expected only while DelayOpen runs (event 20 of the RFC).
  if (type === 'BGPOpen' && connecting && !state.delayOpenRunning) return row.otherwise;
  return row[type] ?? row.otherwise;
}

export function step(state: FsmState, event: FsmEvent, now: number, config: FsmConfig): StepResult {
  const cell = cellFor(state, event, config);
  if (!cell) return { state, actions: [], reason: `${event.type} ignored in ${state.name}` };

  const actions: FsmAction[] = [];
  let s: FsmState = state;
  const set = (patch: Partial<FsmState>) => {
    s = { ...s, ...patch };
  };
  if (event.type === 'ManualStop') set({ stopped: true });
  if (event.type === 'ManualStart' || event.type === 'ManualStart_with_PassiveTcpEstablishment') set({ stopped: false });

  for (const op of cell.ops) applyOp(op);

  const next = cell.next === 'same' ? state.name : cell.next;
  if (next === 'Idle' && state.name !== 'Idle') {
    for (const timer of ALL_TIMERS) actions.push({ kind: 'stopTimer', timer });
    set({ delayOpenRunning: false, holdTime: 0, keepaliveTime: 0 });
    if (config.automaticRestart && !s.stopped) {
      actions.push({ kind: 'startTimer', timer: 'IdleHold', seconds: idleHoldSeconds(config, s.connectRetryCounter) });
    }
  }
  if (next !== state.name) set({ name: next, since: now });
  const detail = eventDetail(event);
  return { state: s, actions, reason: `${state.name} → ${next} on ${event.type}: ${cell.why}${detail ? ` (${detail})` : ''}` };

  function applyOp(op: Op): void {
    if (typeof op === 'object') {
      if ('notify' in op) actions.push({ kind: 'sendNotification', notification: (event.type === 'AutomaticStop' && event.cease) || op.notify });
      else if (state.name === 'Established') actions.push({ kind: 'sessionDown', cause: op.release });
      return;
    }
    switch (op) {
      case 'connect':
      case 'drop':
      case 'sendOpen':
      case 'sendKeepalive':
      case 'processUpdate':
      case 'processRouteRefresh':
        actions.push({ kind: op });
        return;
      case 'notifyFromEvent':
        if ('notification' in event) actions.push({ kind: 'sendNotification', notification: event.notification });
        return;
      case 'startConnectRetry':
        if (!config.passive) actions.push({ kind: 'startTimer', timer: 'ConnectRetry', seconds: config.connectRetryTime });
        return;
      case 'stopConnectRetry':
        actions.push({ kind: 'stopTimer', timer: 'ConnectRetry' });
        return;
      case 'startDelayOpen':
        if (config.delayOpenTime > 0) {
          actions.push({ kind: 'startTimer', timer: 'DelayOpen', seconds: config.delayOpenTime });
          set({ delayOpenRunning: true });
        }
        return;
      case 'stopDelayOpen':
        if (s.delayOpenRunning) actions.push({ kind: 'stopTimer', timer: 'DelayOpen' });
        set({ delayOpenRunning: false });
        return;
      case 'startHoldLarge':
        actions.push({ kind: 'startTimer', timer: 'Hold', seconds: LARGE_HOLD_TIME });
        return;
      case 'negotiateHoldTime':
        if (event.type === 'BGPOpen') set(negotiateHoldTime(config, event.holdTime));
        return;
      case 'startHoldNegotiated':
        actions.push(s.holdTime > 0 ? { kind: 'startTimer', timer: 'Hold', seconds: s.holdTime } : { kind: 'stopTimer', timer: 'Hold' });
        return;
      case 'startKeepalive':
        if (s.keepaliveTime > 0) actions.push({ kind: 'startTimer', timer: 'Keepalive', seconds: s.keepaliveTime });
        return;
      case 'sessionUp':
        actions.push({ kind: 'sessionUp', holdTime: s.holdTime, keepaliveTime: s.keepaliveTime });
        return;
      case 'countFailure':
        set({ connectRetryCounter: s.connectRetryCounter + 1 });
        return;
      case 'resetCounter':
        set({ connectRetryCounter: 0 });
        return;
    }
  }
}

function eventDetail(event: FsmEvent): string {
  if ('notification' in event) return `code ${event.notification.code}/${event.notification.subcode}${event.notification.reason ? `: ${event.notification.reason}` : ''}`;
  if (event.type === 'NotifMsg') return `code ${event.code}/${event.subcode}${event.reason ? `: ${event.reason}` : ''}`;
  if ((event.type === 'TcpConnectionFails' || event.type === 'AutomaticStop') && event.reason) return event.reason;
  return '';
}
