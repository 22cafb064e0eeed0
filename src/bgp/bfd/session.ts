// One BFD session's state machine (RFC 5880 §6.8), asynchronous mode, Active role, pure:
// `stepBfd(session, event, env)` returns the new session and the actions its shell performs
// (send a packet, report a state change). The clock (`env.now`, milliseconds) and the random
// source for jitter (`env.random`, [0, 1)) are injected; the shell arms one timer for
// `nextWake(session)` and feeds `{ type: 'timer' }` when it fires.
//
// - States AdminDown/Down/Init/Up with the three-way handshake of §6.2 and §6.8.6.
// - Detection time (§6.8.4) = the remote's Detect Mult × max(our Required Min RX, the remote's
//   Desired Min TX); armed by each valid packet, and on expiry Init/Up fall to Down with
//   diagnostic 1 and the remote discriminator is forgotten.
// - While not Up we advertise a Desired Min TX of at least one second (§6.8.3).
// - A change of our intervals while Up runs a Poll sequence (§6.5, §6.8.3): packets carry P
//   until a packet with F comes back; meanwhile a longer TX interval and a shorter RX interval
//   do not take effect yet (their old values stay in `inEffect`), the safe directions do at once.
// - A packet with P is answered at once with F (§6.8.7).
// - Periodic transmission at max(our Desired Min TX, the remote's Required Min RX), reduced by
//   a random 0–25 % (0–10 % extra when Detect Mult is 1) (§6.8.7); none while the remote asks for
//   no packets (Required Min RX 0) or runs Demand mode with both ends Up. We never ask for Demand
//   mode ourselves, have no Echo function (Required Min Echo RX is 0) and never set C.
// - A state change is sent at once rather than at the next periodic slot, which speeds up the
//   handshake; the periodic schedule continues from there.

import { type BfdControlPacket, BfdDiag, type BfdState, diagName } from './packet.js';

export interface BfdTimers {
  /** Our Desired Min TX interval once Up, microseconds. */
  readonly desiredMinTxUs: number;
  /** Our Required Min RX interval, microseconds. */
  readonly requiredMinRxUs: number;
  readonly detectMult: number;
}

/** The slow rate of §6.8.3 while the session is not Up. */
export const BFD_SLOW_TX_US = 1_000_000;

export interface BfdSession {
  readonly state: BfdState;
  readonly remoteState: BfdState;
  readonly localDiscr: number;
  readonly remoteDiscr: number;
  readonly localDiag: number;
  /** What the operator asked for. */
  readonly timers: BfdTimers;
  /** bfd.DesiredMinTxInterval as we advertise it now (≥ 1 s unless Up). */
  readonly desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval as we advertise it now. */
  readonly requiredMinRxUs: number;
  /** The values our own timing uses: lag the advertised ones during a Poll sequence. */
  readonly inEffect: { readonly txUs: number; readonly rxUs: number };
  readonly pollActive: boolean;
  readonly remoteMinRxUs: number;
  readonly remoteDesiredMinTxUs: number;
  readonly remoteDetectMult: number;
  readonly remoteDemand: boolean;
  /** Clock readings (ms). */
  readonly nextTxAt: number;
  readonly detectAt: number | undefined;
  readonly since: number;
}

export type BfdEvent =
  | { readonly type: 'received'; readonly packet: BfdControlPacket }
  | { readonly type: 'timer' }
  | { readonly type: 'adminDown' }
  | { readonly type: 'adminUp' }
  | { readonly type: 'configure'; readonly timers: BfdTimers };

export type BfdAction =
  | { readonly kind: 'send'; readonly packet: BfdControlPacket }
  | {
      readonly kind: 'stateChanged';
      readonly from: BfdState;
      readonly to: BfdState;
      readonly diag: number;
      /** The remote said AdminDown: RFC 5882 §3.2 says its clients must not treat this as a failure. */
      readonly remoteAdminDown: boolean;
      readonly reason: string;
    };

export interface BfdEnv {
  readonly now: number;
  readonly random: () => number;
}

export interface BfdStepResult {
  readonly session: BfdSession;
  readonly actions: readonly BfdAction[];
}

const slow = (s: BfdState, t: BfdTimers): number => (s === 'Up' ? t.desiredMinTxUs : Math.max(t.desiredMinTxUs, BFD_SLOW_TX_US));

export function initialBfdSession(localDiscr: number, timers: BfdTimers, now: number): BfdSession {
  if (localDiscr <= 0 || localDiscr > 0xffffffff) throw new RangeError(`BFD local discriminator ${localDiscr} must be 1..2^32-1`);
  const tx = slow('Down', timers);
  return {
    state: 'Down', remoteState: 'Down', localDiscr, remoteDiscr: 0, localDiag: BfdDiag.None, timers,
    desiredMinTxUs: tx, requiredMinRxUs: timers.requiredMinRxUs, inEffect: { txUs: tx, rxUs: timers.requiredMinRxUs }, pollActive: false,
    remoteMinRxUs: 1, remoteDesiredMinTxUs: 0, remoteDetectMult: 0, remoteDemand: false,
    nextTxAt: now, detectAt: undefined, since: now,
  };
}

/** When the shell must next feed `{ type: 'timer' }`. */
export function nextWake(s: BfdSession): number {
  return s.detectAt === undefined ? s.nextTxAt : Math.min(s.nextTxAt, s.detectAt);
}

/** The agreed detection time (ms) while packets arrive: 0 before the first one. */
export function detectionTimeMs(s: BfdSession): number {
  return (s.remoteDetectMult * Math.max(s.inEffect.rxUs, s.remoteDesiredMinTxUs)) / 1000;
}

/** The interval (ms) between our periodic packets before jitter. */
export function txIntervalMs(s: BfdSession): number {
  return Math.max(s.inEffect.txUs, s.remoteMinRxUs) / 1000;
}

function periodicAllowed(s: BfdSession): boolean {
  if (s.remoteMinRxUs === 0) return false;
  return !(s.remoteDemand && s.state === 'Up' && s.remoteState === 'Up');
}

function jittered(s: BfdSession, env: BfdEnv): number {
  const r = Math.min(Math.max(env.random(), 0), 1);
  const f = s.timers.detectMult === 1 ? 0.75 + 0.15 * r : 0.75 + 0.25 * r;
  return txIntervalMs(s) * f;
}

export function stepBfd(s0: BfdSession, ev: BfdEvent, env: BfdEnv): BfdStepResult {
  let s: { -readonly [K in keyof BfdSession]: BfdSession[K] } = { ...s0 };
  const actions: BfdAction[] = [];
  let sendNow = false;
  let final = false;

  const setTimers = (t: BfdTimers): void => {
    const tx = slow(s.state, t);
    const rx = t.requiredMinRxUs;
    const changed = tx !== s.desiredMinTxUs || rx !== s.requiredMinRxUs;
    s.timers = t;
    if (s.state === 'Up' && changed) {
      // §6.8.3: longer TX and shorter RX wait for the Final; the safe directions apply now.
      s.inEffect = { txUs: Math.min(s.inEffect.txUs, tx), rxUs: Math.max(s.inEffect.rxUs, rx) };
      s.pollActive = true;
      sendNow = true;
    } else if (s.state !== 'Up') {
      s.inEffect = { txUs: tx, rxUs: rx };
      s.pollActive = false;
    }
    s.desiredMinTxUs = tx;
    s.requiredMinRxUs = rx;
  };
  const goTo = (to: BfdState, diag: number, reason: string): void => {
    const from = s.state;
    s.state = to;
    s.localDiag = diag;
    s.since = env.now;
    sendNow = true;
    actions.push({ kind: 'stateChanged', from, to, diag, remoteAdminDown: s.remoteState === 'AdminDown', reason });
    setTimers(s.timers);
  };

  switch (ev.type) {
    case 'configure':
      setTimers(ev.timers);
      break;
    case 'adminDown':
      if (s.state !== 'AdminDown') goTo('AdminDown', BfdDiag.AdministrativelyDown, 'administratively down');
      s.detectAt = undefined;
      break;
    case 'adminUp':
      if (s.state === 'AdminDown') goTo('Down', BfdDiag.None, 'administratively up');
      break;
    case 'timer':
      if (s.detectAt !== undefined && env.now >= s.detectAt) {
        s.detectAt = undefined;
        s.remoteDiscr = 0;
        if (s.state === 'Init' || s.state === 'Up') {
          goTo('Down', BfdDiag.ControlDetectionTimeExpired, `no packet within the detection time (${detectionTimeMs(s0)} ms)`);
        }
      }
      if (env.now >= s.nextTxAt && !sendNow) {
        if (periodicAllowed(s)) actions.push({ kind: 'send', packet: packetOf(s, false) });
        s.nextTxAt = env.now + jittered(s, env);
      }
      break;
    case 'received': {
      const p = ev.packet;
      s.remoteDiscr = p.myDiscriminator;
      s.remoteState = p.state;
      s.remoteDemand = p.demand;
      s.remoteMinRxUs = p.requiredMinRxUs;
      s.remoteDesiredMinTxUs = p.desiredMinTxUs;
      s.remoteDetectMult = p.detectMult;
      if (p.final && s.pollActive) {
        s.pollActive = false;
        s.inEffect = { txUs: s.desiredMinTxUs, rxUs: s.requiredMinRxUs };
      }
      // §6.8.7: the remote asking for faster packets is honoured from now, not after a slow slot.
      if (periodicAllowed(s)) s.nextTxAt = Math.min(s.nextTxAt, env.now + txIntervalMs(s));
      if (s.state === 'AdminDown') break;
      s.detectAt = env.now + detectionTimeMs(s);
      if (p.state === 'AdminDown') {
        if (s.state !== 'Down') goTo('Down', BfdDiag.NeighborSignaledSessionDown, 'the remote system is administratively down');
      } else if (s.state === 'Down') {
        if (p.state === 'Down') goTo('Init', BfdDiag.None, 'the remote system is Down: three-way handshake, step 2');
        else if (p.state === 'Init') goTo('Up', BfdDiag.None, 'the remote system is Init: handshake complete');
      } else if (s.state === 'Init') {
        if (p.state === 'Init' || p.state === 'Up') goTo('Up', BfdDiag.None, `the remote system is ${p.state}: handshake complete`);
      } else if (p.state === 'Down') goTo('Down', BfdDiag.NeighborSignaledSessionDown, 'the remote system signalled Down');
      if (p.poll) final = true;
      break;
    }
  }

  if (sendNow || final) {
    actions.push({ kind: 'send', packet: packetOf(s, final) });
    s.nextTxAt = env.now + jittered(s, env);
  }
  return { session: s, actions };
}

function packetOf(s: BfdSession, final: boolean): BfdControlPacket {
  return {
    diag: s.localDiag,
    state: s.state,
    poll: s.pollActive && !final,
    final,
    cpi: false,
    demand: false,
    detectMult: s.timers.detectMult,
    myDiscriminator: s.localDiscr,
    yourDiscriminator: s.remoteDiscr,
    desiredMinTxUs: s.desiredMinTxUs,
    requiredMinRxUs: s.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

/** One line for logs and status: state and why. */
export function describeBfd(s: BfdSession): string {
  return `${s.state}${s.localDiag ? ` (${diagName(s.localDiag)})` : ''}`;
}
