// Malformed messages against a live session (RFC 4271 §6, RFC 7606): a raw peer in its own
// namespace sends each corrupt message to a running Tabby; the right NOTIFICATION comes back or
// the UPDATE is treated as withdraw / its attribute discarded; then a seeded fuzz run of mutated
// UPDATEs. Throughout, Tabby's session with BIRD stays up and the daemon keeps answering.

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { NetLab, waitFor } from './testing/netlab.js';
import { type CaseResult, type Plan, header, openMessage } from './testing/raw-peer.js';
import { BirdRouter, TabbyRouter } from './testing/routers.js';

const LAB = 14;
const RAW_AS = 65009;
const RAW_ID = `198.18.${LAB}.3`;
const RAW_PEER = join(dirname(fileURLToPath(import.meta.url)), 'testing/raw-peer.js');

const b = (...parts: (string | Buffer)[]): string => parts.map((p) => (typeof p === 'string' ? p.replace(/\s+/g, '') : p.toString('hex'))).join('');
const attr = (flags: number, code: number, value: string): string => {
  const v = value.replace(/\s+/g, '');
  return b(Buffer.from([flags, code, v.length / 2])) + v;
};
const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '02 01 0000fdf1'); // AS_SEQUENCE [65009], 4-octet ASNs
const NEXT_HOP = attr(0x40, 3, Buffer.from([198, 18, LAB, 3]).toString('hex'));
const NLRI_98 = '18 0a 62 00'; // 10.98.0.0/24
function update(withdrawn: string, attrs: string, nlri: string): string {
  const w = withdrawn.replace(/\s+/g, '');
  const a = attrs.replace(/\s+/g, '');
  const body = Buffer.concat([u16(w.length / 2), Buffer.from(w, 'hex'), u16(a.length / 2), Buffer.from(a, 'hex'), Buffer.from(nlri.replace(/\s+/g, ''), 'hex')]);
  return header(2, body).toString('hex');
}
function u16(n: number): Buffer {
  const x = Buffer.alloc(2);
  x.writeUInt16BE(n);
  return x;
}
const VALID = update('', ORIGIN + AS_PATH + NEXT_HOP, NLRI_98);
const MARKER = 'ff'.repeat(16);

/** A case that announces 10.98.0.0/24 validly, then sends `bad` for it: the route must go, the session stay. */
const withdrawnBy = (name: string, bad: string) => ({
  name,
  steps: [{ send: VALID }, { wait: 300 }, { checkPrefix: '10.98.0.0/24' }, { send: bad }, { wait: 400 }, { checkPrefix: '10.98.0.0/24' }],
});

describe('malformed messages on a live session', { concurrency: false }, () => {
  let lab: NetLab;
  let tabby: TabbyRouter;
  let bird: BirdRouter;
  let birdSince = '';

  before(async () => {
    lab = await NetLab.create(LAB, ['t', 'b', 'r']);
    const T = lab.node('t');
    const B = lab.node('b');
    bird = new BirdRouter(lab, { node: 'b', as: 65002, routerId: B.v4, originate: ['10.2.0.0/24'], neighbors: [{ address: T.v4, as: 65001, family: 'ipv4' }] });
    await bird.start();
    tabby = new TabbyRouter(lab, {
      node: 't', as: 65001, routerId: T.v4, originate: ['10.1.0.0/24'],
      neighbors: [{ address: B.v4, as: 65002, family: 'ipv4' }, { address: RAW_ID, as: RAW_AS, family: 'ipv4', passive: true }],
    });
    await tabby.start();
    await waitFor('the BIRD session', async () => ((await tabby.established(B.v4)) ? true : undefined));
    birdSince = (await tabby.status()).peers.find((p) => p.address === B.v4)!.since;
  });
  after(async () => {
    await lab?.destroy();
  });

  async function run(cases: Plan['cases']): Promise<CaseResult[]> {
    const plan: Plan = { host: lab.node('t').v4, port: 179, as: RAW_AS, id: RAW_ID, statusSocket: tabby.socket, cases };
    const r = await lab.exec('r', process.execPath, [RAW_PEER, JSON.stringify(plan)], undefined, 120_000);
    if (r.code !== 0) throw new Error(`raw peer failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as CaseResult[];
  }

  it('answers header, OPEN, FSM and fatal UPDATE errors with the RFC 4271 §6 NOTIFICATION', async () => {
    const cases: [string, Plan['cases'][number], string][] = [
      ['marker not all ones', { name: 'marker', steps: [{ send: 'fe' + MARKER.slice(2) + '0013 04' }] }, '1/1'],
      ['length below 19', { name: 'short', steps: [{ send: MARKER + '0012 04' }] }, '1/2'],
      ['length above 4096 without extended messages', { name: 'long', steps: [{ send: MARKER + '1388 02' }] }, '1/2'],
      ['unknown message type', { name: 'type', steps: [{ send: MARKER + '0013 09' }] }, '1/3'],
      ['KEEPALIVE with a body', { name: 'ka20', steps: [{ send: MARKER + '0014 04 00' }] }, '1/2'],
      ['OPEN with version 3', { name: 'v3', open: false, steps: [{ send: openMessage(RAW_AS, RAW_ID, { version: 3 }).toString('hex') }] }, '2/1'],
      ['OPEN from the wrong AS', { name: 'as', open: false, steps: [{ send: openMessage(65010, RAW_ID).toString('hex') }] }, '2/2'],
      ['OPEN with hold time 2', { name: 'hold', open: false, steps: [{ send: openMessage(RAW_AS, RAW_ID, { holdTime: 2 }).toString('hex') }] }, '2/6'],
      ['OPEN with BGP identifier 0.0.0.0', { name: 'id0', open: false, steps: [{ send: openMessage(RAW_AS, '0.0.0.0').toString('hex') }] }, '2/3'],
      ['UPDATE before the session is established', { name: 'early', open: 'confirm', steps: [{ send: VALID }] }, '5/2'],
      ['withdrawn routes length past the end', { name: 'wlen', steps: [{ send: header(2, Buffer.from('00ff0000', 'hex')).toString('hex') }] }, '3/1'],
      ['total attribute length past the end of the message', { name: 'tlen', steps: [{ send: header(2, Buffer.from('000000ff40010100', 'hex')).toString('hex') }] }, '3/1'],
      ['unrecognised well-known attribute', { name: 'wk', steps: [{ send: update('', ORIGIN + AS_PATH + NEXT_HOP + attr(0x40, 99, '00'), NLRI_98) }] }, '3/2'],
    ];
    const results = await run(cases.map(([, c]) => c));
    cases.forEach(([what, , want], i) => {
      const r = results[i]!;
      assert.ok(r.notification, `${what}: a NOTIFICATION`);
      assert.equal(`${r.notification.code}/${r.notification.subcode}`, want, what);
      assert.ok(r.closed, `${what}: connection closed`);
    });
    // An NLRI longer than 32 bits: the NLRI field is malformed, the session must end (RFC 7606 §5.3).
    const [nlri] = await run([{ name: 'nlri33', steps: [{ send: update('', ORIGIN + AS_PATH + NEXT_HOP, '21 0a 62 00 00 00') }] }]);
    assert.equal(nlri!.notification?.code, 3);
  });

  it('treats UPDATEs with broken path attributes as withdraws and keeps the session (RFC 7606)', async () => {
    const cases = [
      withdrawnBy('missing ORIGIN', update('', AS_PATH + NEXT_HOP, NLRI_98)),
      withdrawnBy('invalid ORIGIN value', update('', attr(0x40, 1, '07') + AS_PATH + NEXT_HOP, NLRI_98)),
      withdrawnBy('ORIGIN with the optional flag', update('', attr(0xc0, 1, '00') + AS_PATH + NEXT_HOP, NLRI_98)),
      withdrawnBy('AS_PATH segment overrunning its attribute', update('', ORIGIN + attr(0x40, 2, '02 05 0000fdf1') + NEXT_HOP, NLRI_98)),
      withdrawnBy('attribute length past the attribute list', update('', '4001ff00' + AS_PATH + NEXT_HOP, NLRI_98)),
      withdrawnBy('NEXT_HOP of 3 octets', update('', ORIGIN + AS_PATH + attr(0x40, 3, 'c61203'), NLRI_98)),
    ];
    const results = await run(cases);
    for (const r of results) {
      assert.equal(r.notification, null, `${r.name}: no NOTIFICATION`);
      assert.equal(r.closed, false, `${r.name}: session kept`);
      assert.deepEqual(r.checks, [true, false], `${r.name}: announced, then withdrawn by the malformed UPDATE`);
    }
  });

  it('discards LOCAL_PREF from an external peer and keeps the route (attribute discard)', async () => {
    const [r] = await run([{ name: 'lp', steps: [{ send: update('', ORIGIN + AS_PATH + NEXT_HOP + attr(0x40, 5, '000000c8'), NLRI_98) }, { wait: 300 }, { checkPrefix: '10.98.0.0/24' }] }]);
    assert.equal(r!.notification, null);
    assert.deepEqual(r!.checks, [true]);
  });

  it('survives a seeded fuzz run of mutated UPDATEs: every mutant is survived or answered with an UPDATE error', async () => {
    const base = update('', ORIGIN + AS_PATH + NEXT_HOP + attr(0xc0, 8, 'fde90001'), NLRI_98 + '10 0a 63');
    const [r] = await run([{ name: 'fuzz', steps: [{ fuzz: { seed: 11, count: 60, base } }] }]);
    const f = r!.fuzz!;
    assert.equal(f.notified + f.survived, 60, `every mutant notified or survived: ${JSON.stringify(f)}`);
    for (const code of Object.keys(f.codes)) assert.match(code, /^3\//, `only UPDATE errors: ${JSON.stringify(f.codes)}`);
    assert.ok(f.notified > 0 && f.survived > 0, 'the mutants exercise both outcomes');
  });

  it('kept the BIRD session up and the daemon answering throughout', async () => {
    const s = await tabby.status();
    const p = s.peers.find((x) => x.address === lab.node('b').v4)!;
    assert.equal(p.state, 'Established');
    assert.equal(p.since, birdSince, 'no flap');
    assert.ok((await bird.rib('ipv4')).has('10.1.0.0/24'));
  });
});
