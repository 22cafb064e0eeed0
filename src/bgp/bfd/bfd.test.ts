import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BFD_SLOW_TX_US, type BfdAction, type BfdControlPacket, BfdDiag, type BfdEnv, type BfdSession, type BfdState, type BfdTimers,
  decodeBfdControl, detectionTimeMs, encodeBfdControl, initialBfdSession, nextWake, stepBfd,
} from './index.js';

const base: BfdControlPacket = {
  diag: 0, state: 'Down', poll: false, final: false, cpi: false, demand: false, detectMult: 3,
  myDiscriminator: 0x11223344, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 300_000, requiredMinEchoRxUs: 0,
};
const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));

describe('BFD Control packet codec (RFC 5880 §4.1)', () => {
  it('encodes the fields where §4.1 puts them', () => {
    const b = encodeBfdControl({ ...base, diag: 1, state: 'Up', poll: true, yourDiscriminator: 0xdeadbeef, desiredMinTxUs: 300_000 });
    //                          vers1|diag1  Up|P  mult len  my        your      tx(300000) rx(300000) echo
    assert.deepEqual(b, hex('21 e0 03 18 11223344 deadbeef 000493e0 000493e0 00000000'));
  });

  const cases: [string, BfdControlPacket][] = [
    ['Down, no remote discriminator', base],
    ['Init with F', { ...base, state: 'Init', final: true, yourDiscriminator: 7 }],
    ['Up with P, demand and C', { ...base, state: 'Up', poll: true, demand: true, cpi: true, yourDiscriminator: 0xffffffff, diag: 8 }],
    ['AdminDown, diag 7', { ...base, state: 'AdminDown', diag: BfdDiag.AdministrativelyDown, detectMult: 255, desiredMinTxUs: 0xffffffff, requiredMinRxUs: 0, requiredMinEchoRxUs: 50_000 }],
  ];
  for (const [name, p] of cases) {
    it(`round-trips: ${name}`, () => {
      const r = decodeBfdControl(encodeBfdControl(p));
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.deepEqual(r.packet, p);
    });
  }

  it('decodes a packet with trailing octets beyond Length (UDP padding)', () => {
    const b = new Uint8Array(30);
    b.set(encodeBfdControl(base));
    assert.ok(decodeBfdControl(b).ok);
  });

  const good = () => encodeBfdControl({ ...base, state: 'Up', yourDiscriminator: 9 });
  const mutate = (f: (b: Uint8Array) => Uint8Array | void): Uint8Array => {
    const b = good();
    return f(b) ?? b;
  };
  const malformed: [string, Uint8Array, RegExp][] = [
    ['shorter than 24 octets', good().subarray(0, 23), /shorter than the 24-octet/],
    ['version 0', mutate((b) => void (b[0] = 0x00)), /version 0/],
    ['version 2', mutate((b) => void (b[0] = 0x40)), /version 2/],
    ['Length below 24', mutate((b) => void (b[3] = 20)), /Length field 20 is below/],
    ['Length past the payload', mutate((b) => void (b[3] = 28)), /longer than the 24-octet payload/],
    ['Detect Mult 0', mutate((b) => void (b[2] = 0)), /Detect Mult is zero/],
    ['M bit set', mutate((b) => void (b[1]! |= 0x01)), /Multipoint/],
    ['My Discriminator 0', mutate((b) => void b.fill(0, 4, 8)), /My Discriminator is zero/],
    ['Your Discriminator 0 while Up', mutate((b) => void b.fill(0, 8, 12)), /Your Discriminator is zero while State is Up/],
    ['Your Discriminator 0 while Init', mutate((b) => void ((b[1] = 0x80), b.fill(0, 8, 12))), /while State is Init/],
    ['P and F both set', mutate((b) => void (b[1]! |= 0x30)), /both Poll and Final/],
    ['A bit set with a Length too short for the section', mutate((b) => void (b[1]! |= 0x04)), /below the minimum of 26 with the A bit set/],
  ];
  for (const [name, bytes, why] of malformed) {
    it(`refuses ${name}`, () => {
      const r = decodeBfdControl(bytes);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.reason, why);
    });
  }

  it('recognises an authentication section and refuses it (the sessions use none, §6.8.6)', () => {
    // Keyed SHA1 (type 4), auth len 28: total 52 octets.
    const b = new Uint8Array(52);
    b.set(good());
    b[1]! |= 0x04;
    b[3] = 52;
    b[24] = 4;
    b[25] = 28;
    const r = decodeBfdControl(b);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /authentication \(Keyed SHA1\) is present/);
    b[25] = 40; // the section claims more than Length allows
    const r2 = decodeBfdControl(b);
    assert.match(r2.ok ? '' : r2.reason, /runs past the Length field 52/);
  });

  it('refuses to encode what it could not decode', () => {
    assert.throws(() => encodeBfdControl({ ...base, poll: true, final: true }), /both Poll and Final/);
    assert.throws(() => encodeBfdControl({ ...base, detectMult: 0 }), /detect mult 0/);
    assert.throws(() => encodeBfdControl({ ...base, diag: 32 }), /diag 32/);
  });
});

// ---- the session machine ------------------------------------------------------------------

const T: BfdTimers = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 };
const env = (now: number, r = 0.5): BfdEnv => ({ now, random: () => r });
const sends = (a: readonly BfdAction[]) => a.filter((x): x is Extract<BfdAction, { kind: 'send' }> => x.kind === 'send').map((x) => x.packet);
const changes = (a: readonly BfdAction[]) => a.filter((x): x is Extract<BfdAction, { kind: 'stateChanged' }> => x.kind === 'stateChanged');
const sessionIn = (state: BfdState): BfdSession => ({ ...initialBfdSession(1, T, 0), state, remoteDiscr: state === 'Down' || state === 'AdminDown' ? 0 : 2 });
const from = (state: BfdState, extra: Partial<BfdControlPacket> = {}): BfdControlPacket => ({
  ...base, myDiscriminator: 2, yourDiscriminator: state === 'Down' || state === 'AdminDown' ? 0 : 1, state, desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, ...extra,
});

describe('BFD session state machine (RFC 5880 §6.8.6)', () => {
  // Local state × received State → next local state (and the diagnostic when it goes Down).
  const TABLE: [BfdState, BfdState, BfdState, number?][] = [
    ['AdminDown', 'AdminDown', 'AdminDown'],
    ['AdminDown', 'Down', 'AdminDown'],
    ['AdminDown', 'Init', 'AdminDown'],
    ['AdminDown', 'Up', 'AdminDown'],
    ['Down', 'AdminDown', 'Down'],
    ['Down', 'Down', 'Init'],
    ['Down', 'Init', 'Up'],
    ['Down', 'Up', 'Down'],
    ['Init', 'AdminDown', 'Down', BfdDiag.NeighborSignaledSessionDown],
    ['Init', 'Down', 'Init'],
    ['Init', 'Init', 'Up'],
    ['Init', 'Up', 'Up'],
    ['Up', 'AdminDown', 'Down', BfdDiag.NeighborSignaledSessionDown],
    ['Up', 'Down', 'Down', BfdDiag.NeighborSignaledSessionDown],
    ['Up', 'Init', 'Up'],
    ['Up', 'Up', 'Up'],
  ];
  for (const [local, remote, want, diag] of TABLE) {
    it(`${local} × received ${remote} → ${want}`, () => {
      const r = stepBfd(sessionIn(local), { type: 'received', packet: from(remote) }, env(10));
      assert.equal(r.session.state, want);
      const ch = changes(r.actions);
      assert.equal(ch.length, want === local ? 0 : 1);
      if (want !== local) {
        assert.deepEqual([ch[0]!.from, ch[0]!.to], [local, want]);
        assert.equal(r.session.localDiag, diag ?? BfdDiag.None);
        assert.equal(ch[0]!.remoteAdminDown, remote === 'AdminDown');
        assert.equal(sends(r.actions)[0]?.state, want, 'a state change is sent at once');
      }
      if (local !== 'AdminDown') assert.equal(r.session.remoteDiscr, 2, 'learns the remote discriminator');
    });
  }

  it('answers a Poll at once with a Final, without P', () => {
    const r = stepBfd(sessionIn('Up'), { type: 'received', packet: from('Up', { poll: true }) }, env(10));
    const [p] = sends(r.actions);
    assert.ok(p);
    assert.equal(p.final, true);
    assert.equal(p.poll, false);
  });

  it('advertises at least 1 s Desired Min TX while not Up and the configured value once Up, with a Poll sequence', () => {
    let s = initialBfdSession(1, T, 0);
    assert.equal(s.desiredMinTxUs, BFD_SLOW_TX_US);
    s = stepBfd(s, { type: 'received', packet: from('Init', { yourDiscriminator: 1 }) }, env(5)).session;
    assert.equal(s.state, 'Up');
    assert.equal(s.desiredMinTxUs, 300_000);
    assert.equal(s.pollActive, true);
    const r = stepBfd(s, { type: 'timer' }, env(s.nextTxAt));
    assert.equal(sends(r.actions)[0]?.poll, true, 'periodic packets carry P until the Final');
    s = stepBfd(r.session, { type: 'received', packet: from('Up', { final: true }) }, env(s.nextTxAt + 1)).session;
    assert.equal(s.pollActive, false);
    const down = stepBfd(s, { type: 'received', packet: from('Down') }, env(s.nextTxAt + 2)).session;
    assert.equal(down.desiredMinTxUs, BFD_SLOW_TX_US, 'back to the slow rate when Down');
    assert.equal(down.pollActive, false);
  });

  it('a longer TX or shorter RX interval while Up takes effect only after the Final (§6.8.3)', () => {
    let s: BfdSession = { ...sessionIn('Up'), desiredMinTxUs: 300_000, inEffect: { txUs: 300_000, rxUs: 300_000 }, remoteDetectMult: 3, remoteDesiredMinTxUs: 100_000, remoteMinRxUs: 100_000 };
    s = stepBfd(s, { type: 'configure', timers: { desiredMinTxUs: 900_000, requiredMinRxUs: 100_000, detectMult: 3 } }, env(0)).session;
    assert.equal(s.pollActive, true);
    assert.deepEqual(s.inEffect, { txUs: 300_000, rxUs: 300_000 }, 'old values while polling');
    assert.equal(detectionTimeMs(s), 900);
    s = stepBfd(s, { type: 'received', packet: from('Up', { final: true, desiredMinTxUs: 100_000 }) }, env(1)).session;
    assert.deepEqual(s.inEffect, { txUs: 900_000, rxUs: 100_000 });
    assert.equal(detectionTimeMs(s), 300);
  });

  it('a shorter TX or longer RX interval while Up takes effect at once', () => {
    let s: BfdSession = { ...sessionIn('Up'), desiredMinTxUs: 300_000, inEffect: { txUs: 300_000, rxUs: 300_000 } };
    s = stepBfd(s, { type: 'configure', timers: { desiredMinTxUs: 100_000, requiredMinRxUs: 500_000, detectMult: 3 } }, env(0)).session;
    assert.deepEqual(s.inEffect, { txUs: 100_000, rxUs: 500_000 });
    assert.equal(s.pollActive, true);
  });

  it('detection time is the remote Detect Mult × max(our Required Min RX, its Desired Min TX); expiry takes Up to Down with diag 1', () => {
    let s = sessionIn('Up');
    s = { ...s, desiredMinTxUs: 300_000, inEffect: { txUs: 300_000, rxUs: 300_000 } };
    s = stepBfd(s, { type: 'received', packet: from('Up', { detectMult: 5, desiredMinTxUs: 400_000 }) }, env(1000)).session;
    assert.equal(detectionTimeMs(s), 2000);
    assert.equal(s.detectAt, 3000);
    const early = stepBfd(s, { type: 'timer' }, env(2999));
    assert.equal(early.session.state, 'Up');
    const late = stepBfd(s, { type: 'timer' }, env(3000));
    assert.equal(late.session.state, 'Down');
    assert.equal(late.session.localDiag, BfdDiag.ControlDetectionTimeExpired);
    assert.equal(late.session.remoteDiscr, 0, 'forgets the remote discriminator');
    assert.equal(changes(late.actions)[0]?.remoteAdminDown, false);
    const [p] = sends(late.actions);
    assert.deepEqual([p?.state, p?.diag, p?.yourDiscriminator], ['Down', 1, 0]);
  });

  it('jitter: periodic packets leave after 75–100 % of the interval (75–90 % with Detect Mult 1)', () => {
    for (const [mult, r, want] of [[3, 0, 750], [3, 0.999999, 1000], [1, 0, 750], [1, 0.999999, 900]] as const) {
      const s = initialBfdSession(1, { ...T, detectMult: mult }, 0);
      const out = stepBfd(s, { type: 'timer' }, env(0, r));
      assert.equal(sends(out.actions).length, 1);
      assert.ok(Math.abs(out.session.nextTxAt - want) < 0.01, `mult ${mult}, random ${r}: ${out.session.nextTxAt} ms, want ${want}`);
    }
  });

  it('sends no periodic packets while the remote asks for none (Required Min RX 0) or runs Demand mode with both Up', () => {
    const quiet = stepBfd(sessionIn('Up'), { type: 'received', packet: from('Up', { requiredMinRxUs: 0 }) }, env(0)).session;
    assert.equal(sends(stepBfd(quiet, { type: 'timer' }, env(quiet.nextTxAt)).actions).length, 0);
    const demand = stepBfd(sessionIn('Up'), { type: 'received', packet: from('Up', { demand: true }) }, env(0)).session;
    assert.equal(sends(stepBfd(demand, { type: 'timer' }, env(demand.nextTxAt)).actions).length, 0);
  });

  it('AdminDown: sent with diag 7, received packets ignored, adminUp returns to Down', () => {
    const a = stepBfd(sessionIn('Up'), { type: 'adminDown' }, env(0));
    assert.equal(a.session.state, 'AdminDown');
    assert.deepEqual([sends(a.actions)[0]?.state, sends(a.actions)[0]?.diag], ['AdminDown', 7]);
    assert.equal(a.session.detectAt, undefined);
    const b = stepBfd(a.session, { type: 'adminUp' }, env(1));
    assert.equal(b.session.state, 'Down');
  });

  it('two sessions wired together: handshake, Poll sequence to the fast rate, then silence detected', () => {
    // A tiny simulated network with a clock: each packet arrives 1 ms after it is sent.
    const sim = { a: initialBfdSession(101, T, 0), b: initialBfdSession(202, { ...T, detectMult: 4 }, 0) };
    type Side = keyof typeof sim;
    const queue: { at: number; to: Side; p: BfdControlPacket }[] = [];
    const log: string[] = [];
    let cut = false;
    const apply = (side: Side, r: ReturnType<typeof stepBfd>, now: number) => {
      sim[side] = r.session;
      for (const x of r.actions) {
        if (x.kind === 'stateChanged') log.push(`${now.toFixed(0)} ${side} ${x.from}->${x.to}`);
        else if (!cut) queue.push({ at: now + 1, to: side === 'a' ? 'b' : 'a', p: x.packet });
      }
    };
    let now = 0;
    let rnd = 0.3;
    const random = () => (rnd = (rnd * 7.77) % 1);
    let downAt = 0;
    while (now < 20_000) {
      const nextPacket = queue.reduce((m, q) => Math.min(m, q.at), Infinity);
      now = Math.min(nextPacket, nextWake(sim.a), nextWake(sim.b));
      if (now === nextPacket) {
        const i = queue.findIndex((q) => q.at === now);
        const { to, p } = queue.splice(i, 1)[0]!;
        apply(to, stepBfd(sim[to], { type: 'received', packet: p }, { now, random }), now);
      } else {
        for (const side of ['a', 'b'] as const) if (nextWake(sim[side]) <= now) apply(side, stepBfd(sim[side], { type: 'timer' }, { now, random }), now);
      }
      if (!cut && now > 10_000) {
        cut = true;
        downAt = now;
      }
      if (cut && sim.a.state === 'Down' && sim.b.state === 'Down') break;
    }
    const first = log.slice(0, 4).map((l) => l.replace(/^\d+ /, ''));
    assert.deepEqual([...first].sort(), ['a Down->Init', 'a Init->Up', 'b Down->Init', 'b Init->Up']);
    assert.ok(Number(log[3]!.split(' ')[0]) <= 3, `three-way handshake within a few packet times: ${log.slice(0, 4).join(', ')}`);
    assert.equal(sim.a.remoteDiscr, 0);
    assert.ok(!sim.a.pollActive && !sim.b.pollActive, 'Poll sequences completed');
    // Both ended Down by detection-time expiry after the cut: a uses b's mult 4 × 300 ms.
    const aDown = Number(log.find((l) => l.includes('a Up->Down'))!.split(' ')[0]);
    const bDown = Number(log.find((l) => l.includes('b Up->Down'))!.split(' ')[0]);
    assert.ok(aDown - downAt <= 1202 && aDown - downAt > 800, `a detected after ${aDown - downAt} ms (4 × 300 ms)`);
    assert.ok(bDown - downAt <= 902 && bDown - downAt > 500, `b detected after ${bDown - downAt} ms (3 × 300 ms)`);
  });
});
