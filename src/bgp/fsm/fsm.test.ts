import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_FSM_CONFIG, NOTIFY, type FsmConfig, type FsmEvent, type FsmEventType, type FsmState, type FsmStateName,
  checkOpen, collisionLoser, initialState, negotiateHoldTime, step,
} from './index.js';

const cfg: FsmConfig = { ...DEFAULT_FSM_CONFIG, holdTime: 90, connectRetryTime: 5, idleHoldTime: 1, idleHoldTimeMax: 8 };
const notification = { code: 3, subcode: 1 };
const EVENTS: Record<FsmEventType, FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStart_with_PassiveTcpEstablishment: { type: 'ManualStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_PassiveTcpEstablishment: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails' },
  BGPOpen: { type: 'BGPOpen', holdTime: 30 },
  BGPHeaderErr: { type: 'BGPHeaderErr', notification },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', notification },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr' },
  NotifMsg: { type: 'NotifMsg', code: 6, subcode: 2 },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg' },
  UpdateMsgErr: { type: 'UpdateMsgErr', notification },
  RouteRefreshMsg: { type: 'RouteRefreshMsg' },
};
const STATES: FsmStateName[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
const at = (name: FsmStateName): FsmState => ({ ...initialState(0), name, holdTime: name === 'OpenConfirm' || name === 'Established' ? 30 : 0, keepaliveTime: name === 'OpenConfirm' || name === 'Established' ? 10 : 0 });

// The expected next state of every cell, written independently of table.ts (I = Idle, = stays).
// Columns follow EVENTS' order.
const EXPECTED: Record<FsmStateName, string> = {
  //            MS  MSt AS  MSP ASP ASt CRT HT  KT  DOT IHT TV  TCI TCA TCC TCF OPN HE  OE  CD  NVE NM  KA  UP  UE  RR
  Idle:        'C   =   C   A   A   =   =   =   =   =   C   =   =   =   =   =   =   =   =   =   =   =   =   =   =   =',
  Connect:     'I   I   I   I   I   I   C   I   I   OS  I   =   =   OS  OS  I   I   I   I   I   I   I   I   I   I   I',
  Active:      'I   I   I   I   I   I   C   I   I   OS  I   =   =   OS  OS  I   I   I   I   I   I   I   I   I   I   I',
  OpenSent:    'I   I   I   I   I   I   I   I   I   I   I   =   I   =   =   A   OC  I   I   I   I   I   I   I   I   I',
  OpenConfirm: 'I   I   I   I   I   I   I   I   =   I   I   =   I   I   =   I   I   I   I   I   I   I   E   I   I   I',
  Established: 'I   I   I   I   I   I   I   I   =   I   I   =   I   I   =   I   I   I   I   I   I   I   =   =   I   =',
};
const ABBREV: Record<string, FsmStateName> = { I: 'Idle', C: 'Connect', A: 'Active', OS: 'OpenSent', OC: 'OpenConfirm', E: 'Established' };

describe('BGP FSM table (RFC 4271 §8.2.2)', () => {
  for (const state of STATES) {
    const cols = EXPECTED[state].trim().split(/\s+/);
    (Object.keys(EVENTS) as FsmEventType[]).forEach((ev, i) => {
      const want = cols[i] === '=' ? state : ABBREV[cols[i]!]!;
      it(`${state} × ${ev} → ${want}`, () => {
        const r = step(at(state), EVENTS[ev], 1000, cfg);
        assert.equal(r.state.name, want, r.reason);
        assert.ok(r.reason.length > 0);
        if (want === 'Idle' && state !== 'Idle') {
          for (const t of ['ConnectRetry', 'Hold', 'Keepalive', 'DelayOpen'] as const) {
            assert.ok(r.actions.some((a) => a.kind === 'stopTimer' && a.timer === t), `${t} stopped`);
          }
          assert.equal(r.actions.some((a) => a.kind === 'sessionDown'), state === 'Established', 'sessionDown only when leaving Established');
        }
      });
    });
  }
});

function run(events: FsmEvent[], config = cfg, start = initialState(0)) {
  let s = start;
  const all = [];
  for (const e of events) {
    const r = step(s, e, 0, config);
    s = r.state;
    all.push(r);
  }
  return { state: s, results: all, last: all[all.length - 1]! };
}

describe('BGP FSM behaviour', () => {
  it('walks Idle → Established, sending OPEN then KEEPALIVE, with the negotiated timers', () => {
    const { state, results } = run([EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, { type: 'BGPOpen', holdTime: 30 }, EVENTS.KeepAliveMsg]);
    assert.equal(state.name, 'Established');
    assert.deepEqual(results[0]!.actions.map((a) => a.kind), ['startTimer', 'connect']);
    assert.deepEqual(results[1]!.actions.filter((a) => a.kind !== 'stopTimer').map((a) => a.kind), ['sendOpen', 'startTimer']);
    assert.deepEqual(results[1]!.actions.find((a) => a.kind === 'startTimer'), { kind: 'startTimer', timer: 'Hold', seconds: 240 });
    assert.ok(results[2]!.actions.some((a) => a.kind === 'sendKeepalive'));
    assert.ok(results[2]!.actions.some((a) => a.kind === 'startTimer' && a.timer === 'Keepalive' && a.seconds === 10));
    assert.deepEqual(results[3]!.actions.find((a) => a.kind === 'sessionUp'), { kind: 'sessionUp', holdTime: 30, keepaliveTime: 10 });
  });

  it('negotiates the smaller hold time, a zero hold time disables keepalives, keepalive is at most a third', () => {
    assert.deepEqual(negotiateHoldTime(cfg, 9), { holdTime: 9, keepaliveTime: 3 });
    assert.deepEqual(negotiateHoldTime(cfg, 240), { holdTime: 90, keepaliveTime: 30 });
    assert.deepEqual(negotiateHoldTime(cfg, 0), { holdTime: 0, keepaliveTime: 0 });
    assert.deepEqual(negotiateHoldTime({ ...cfg, keepaliveTime: 5 }, 90), { holdTime: 90, keepaliveTime: 5 });
    const { last } = run([EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, { type: 'BGPOpen', holdTime: 0 }, EVENTS.KeepAliveMsg]);
    assert.ok(last.actions.some((a) => a.kind === 'stopTimer' && a.timer === 'Hold'));
    assert.ok(!last.actions.some((a) => a.kind === 'startTimer'));
  });

  it('restarts after errors with exponential idle-hold backoff, capped, reset once established', () => {
    let s = initialState(0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      s = step(s, EVENTS.AutomaticStart, 0, cfg).state;
      s = step(s, EVENTS.Tcp_CR_Acked, 0, cfg).state;
      const r = step(s, EVENTS.HoldTimer_Expires, 0, cfg);
      s = r.state;
      const t = r.actions.find((a) => a.kind === 'startTimer' && a.timer === 'IdleHold');
      waits.push(t && t.kind === 'startTimer' ? t.seconds : -1);
      s = step(s, EVENTS.IdleHoldTimer_Expires, 0, cfg).state;
      assert.equal(s.name, 'Connect');
      s = { ...s, name: 'Idle' };
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 8, 8]);
    const up = run([EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen, EVENTS.KeepAliveMsg], cfg, { ...s, name: 'Connect' });
    assert.equal(up.state.connectRetryCounter, 0);
  });

  it('a refused connection in Connect is no counted failure (RFC 4271 §8.2.2 event 18): the peer not listening yet is retried after the first idle hold every time', () => {
    let s = initialState(0);
    for (let i = 0; i < 4; i++) {
      s = step(s, EVENTS.AutomaticStart, 0, cfg).state;
      assert.equal(s.name, 'Connect');
      const r = step(s, EVENTS.TcpConnectionFails, 0, cfg);
      const t = r.actions.find((a) => a.kind === 'startTimer' && a.timer === 'IdleHold');
      assert.equal(t && t.kind === 'startTimer' ? t.seconds : -1, 1);
      s = r.state;
      assert.equal(s.connectRetryCounter, 0);
    }
  });

  it('a manual stop sends Cease, stops everything and does not restart', () => {
    const est = run([EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen, EVENTS.KeepAliveMsg]).state;
    const r = step(est, EVENTS.ManualStop, 5, cfg);
    assert.equal(r.state.name, 'Idle');
    assert.deepEqual(r.actions.find((a) => a.kind === 'sendNotification'), { kind: 'sendNotification', notification: { code: 6, subcode: 2 } });
    assert.deepEqual(r.actions.find((a) => a.kind === 'sessionDown'), { kind: 'sessionDown', cause: 'stopped' });
    assert.ok(!r.actions.some((a) => a.kind === 'startTimer'));
    assert.equal(r.state.since, 5);
  });

  it('an automatic stop sends Cease/6, or the Cease its event names (BFD Down, RFC 9384), and restarts later', () => {
    const est = run([EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.BGPOpen, EVENTS.KeepAliveMsg]).state;
    const plain = step(est, EVENTS.AutomaticStop, 5, cfg);
    assert.deepEqual(plain.actions.find((a) => a.kind === 'sendNotification'), { kind: 'sendNotification', notification: { code: 6, subcode: 6 } });
    const bfd = step(est, { type: 'AutomaticStop', reason: 'BFD session down', cease: NOTIFY.ceaseBfdDown }, 5, cfg);
    assert.equal(bfd.state.name, 'Idle');
    assert.deepEqual(bfd.actions.find((a) => a.kind === 'sendNotification'), { kind: 'sendNotification', notification: { code: 6, subcode: 10 } });
    assert.deepEqual(bfd.actions.find((a) => a.kind === 'sessionDown'), { kind: 'sessionDown', cause: 'notification-sent' });
    assert.ok(bfd.actions.some((a) => a.kind === 'startTimer' && a.timer === 'IdleHold'));
    assert.match(bfd.reason, /BFD session down/);
  });

  it('a passive peer never connects and waits in Active', () => {
    const passive = { ...cfg, passive: true };
    const r = step(initialState(0), EVENTS.ManualStart, 0, passive);
    assert.equal(r.state.name, 'Active');
    assert.deepEqual(r.actions, []);
    const o = step(r.state, EVENTS.TcpConnectionConfirmed, 0, passive);
    assert.equal(o.state.name, 'OpenSent');
    assert.ok(o.actions.some((a) => a.kind === 'sendOpen'));
    assert.ok(!o.actions.some((a) => a.kind === 'connect'));
  });

  it('DelayOpen waits for the peer\'s OPEN and answers with OPEN and KEEPALIVE', () => {
    const delayed = { ...cfg, delayOpenTime: 5 };
    const { state, results } = run([EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, { type: 'BGPOpen', holdTime: 60 }], delayed);
    assert.deepEqual(results[1]!.actions.find((a) => a.kind === 'startTimer'), { kind: 'startTimer', timer: 'DelayOpen', seconds: 5 });
    assert.equal(results[1]!.state.name, 'Connect');
    assert.equal(state.name, 'OpenConfirm');
    assert.deepEqual(results[2]!.actions.filter((a) => a.kind === 'sendOpen' || a.kind === 'sendKeepalive').map((a) => a.kind), ['sendOpen', 'sendKeepalive']);
    const expired = run([EVENTS.ManualStart, EVENTS.Tcp_CR_Acked, EVENTS.DelayOpenTimer_Expires], delayed);
    assert.equal(expired.state.name, 'OpenSent');
    assert.ok(expired.last.actions.some((a) => a.kind === 'sendOpen'));
  });

  it('an OPEN in Connect without DelayOpen is an error, not a shortcut', () => {
    const r = step(at('Connect'), EVENTS.BGPOpen, 0, cfg);
    assert.equal(r.state.name, 'Idle');
  });

  it('errors carry the NOTIFICATION of the event; unexpected messages get the RFC 6608 FSM subcode', () => {
    const e = step(at('Established'), EVENTS.UpdateMsgErr, 0, cfg);
    assert.deepEqual(e.actions.find((a) => a.kind === 'sendNotification'), { kind: 'sendNotification', notification });
    assert.ok(e.reason.includes('code 3/1'));
    const u = step(at('OpenSent'), EVENTS.UpdateMsg, 0, cfg);
    assert.deepEqual(u.actions.find((a) => a.kind === 'sendNotification'), { kind: 'sendNotification', notification: { code: 5, subcode: 1 } });
    const h = step(at('Established'), EVENTS.HoldTimer_Expires, 0, cfg);
    assert.deepEqual(h.actions.find((a) => a.kind === 'sendNotification'), { kind: 'sendNotification', notification: { code: 4, subcode: 0 } });
    assert.deepEqual(h.actions.find((a) => a.kind === 'sessionDown'), { kind: 'sessionDown', cause: 'hold-expired' });
    const t = step(at('Established'), EVENTS.TcpConnectionFails, 0, cfg);
    assert.deepEqual(t.actions.find((a) => a.kind === 'sessionDown'), { kind: 'sessionDown', cause: 'tcp-failure' });
    assert.ok(!t.actions.some((a) => a.kind === 'sendNotification'));
  });

  it('UPDATE, KEEPALIVE and ROUTE-REFRESH in Established restart the hold timer', () => {
    for (const ev of [EVENTS.UpdateMsg, EVENTS.KeepAliveMsg, EVENTS.RouteRefreshMsg]) {
      const r = step(at('Established'), ev, 0, cfg);
      assert.deepEqual(r.actions[0], { kind: 'startTimer', timer: 'Hold', seconds: 30 });
    }
  });
});

describe('OPEN checks and collisions', () => {
  const want = { peerAs: 65002, localId: 0x0a000001, internal: false };
  it('accepts a matching OPEN', () => assert.equal(checkOpen({ version: 4, asn: 65002, holdTime: 90, bgpId: 0x0a000002 }, want), undefined));
  it('rejects version, AS, hold time and identifier errors with their subcodes', () => {
    assert.equal(checkOpen({ version: 3, asn: 65002, holdTime: 90, bgpId: 2 }, want)?.subcode, 1);
    assert.equal(checkOpen({ version: 4, asn: 65003, holdTime: 90, bgpId: 2 }, want)?.subcode, 2);
    assert.equal(checkOpen({ version: 4, asn: 65002, holdTime: 2, bgpId: 2 }, want)?.subcode, 6);
    assert.equal(checkOpen({ version: 4, asn: 65002, holdTime: 90, bgpId: 0 }, want)?.subcode, 3);
    assert.equal(checkOpen({ version: 4, asn: 65002, holdTime: 90, bgpId: want.localId }, { ...want, internal: true })?.subcode, 3);
    assert.equal(checkOpen({ version: 4, asn: 65002, holdTime: 90, bgpId: want.localId }, want), undefined);
  });
  it('keeps the connection opened by the higher identifier (unsigned comparison)', () => {
    assert.equal(collisionLoser(1, 2), 'outgoing');
    assert.equal(collisionLoser(2, 1), 'incoming');
    assert.equal(collisionLoser(0xc0000001, 0x0a000001), 'incoming');
  });
});
