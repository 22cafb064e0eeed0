// A raw BGP peer for the malformed-message tests, run inside a lab namespace:
//   node raw-peer.js '<json plan>'
// For each case it opens a TCP connection to the speaker, optionally completes the OPEN exchange
// with a valid OPEN, then performs the case's steps (send bytes, wait, ask the speaker's status
// socket whether a prefix is in its RIB), and records the first NOTIFICATION the speaker sends
// and whether it closed the connection. Prints one JSON array of results.
//
// Messages are built by hand (bytes), not with our codec, so a codec bug cannot hide itself.

import { connect, type Socket } from 'node:net';
import { queryDaemon } from '../daemon.js';
import { unitRandom } from '../../util/index.js';

export type Step = { send: string } | { wait: number } | { checkPrefix: string } | { fuzz: { seed: number; count: number; base: string } };

export interface Case {
  readonly name: string;
  /** Complete the OPEN exchange first (default true); 'confirm' stops before our KEEPALIVE. */
  readonly open?: boolean | 'confirm';
  readonly steps: readonly Step[];
}

export interface Plan {
  readonly host: string;
  readonly port: number;
  readonly as: number;
  readonly id: string;
  readonly statusSocket: string;
  readonly cases: readonly Case[];
}

export interface CaseResult {
  name: string;
  notification: { code: number; subcode: number } | null;
  closed: boolean;
  checks: boolean[];
  /** For fuzz steps: how many mutated messages ended the session with a NOTIFICATION, and how many were survived. */
  fuzz?: { notified: number; survived: number; codes: Record<string, number> };
}

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

export function header(type: number, body: Buffer, length = 19 + body.length): Buffer {
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(length, 16);
  h[18] = type;
  return Buffer.concat([h, body]);
}

export function openMessage(as: number, id: string, opts: { version?: number; holdTime?: number; myAs?: number } = {}): Buffer {
  const caps = Buffer.concat([
    hex('01 04 0001 00 01'), // multiprotocol IPv4 unicast
    Buffer.from([65, 4, (as >>> 24) & 255, (as >>> 16) & 255, (as >>> 8) & 255, as & 255]), // four-octet AS
  ]);
  const params = Buffer.concat([Buffer.from([2, caps.length]), caps]);
  const body = Buffer.alloc(10);
  body[0] = opts.version ?? 4;
  body.writeUInt16BE(opts.myAs ?? (as > 65535 ? 23456 : as), 1);
  body.writeUInt16BE(opts.holdTime ?? 30, 3);
  id.split('.').forEach((o, i) => (body[5 + i] = Number(o)));
  body[9] = params.length;
  return header(1, Buffer.concat([body, params]));
}

class Reader {
  private buf = Buffer.alloc(0);
  notification: { code: number; subcode: number } | null = null;
  closed = false;
  received = 0;
  private waiters: (() => void)[] = [];
  constructor(sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 19) {
        const len = this.buf.readUInt16BE(16);
        if (len < 19 || this.buf.length < len) break;
        const type = this.buf[18];
        if (type === 3 && !this.notification) this.notification = { code: this.buf[19]!, subcode: this.buf[20]! };
        this.received++;
        this.buf = this.buf.subarray(len);
      }
      this.wake();
    });
    const end = () => {
      this.closed = true;
      this.wake();
    };
    sock.on('close', end);
    sock.on('error', end);
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Waits until `cond` holds or `ms` pass. */
  async until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }
}

async function session(plan: Plan, c: Case): Promise<{ sock: Socket; reader: Reader }> {
  const sock = connect({ host: plan.host, port: plan.port });
  await new Promise<void>((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  const reader = new Reader(sock);
  if (c.open !== false) {
    sock.write(openMessage(plan.as, plan.id));
    await reader.until(() => reader.received >= 2 || reader.closed, 5000); // its OPEN and KEEPALIVE
    if (c.open !== 'confirm') {
      sock.write(header(4, Buffer.alloc(0)));
      // Established once the speaker sends its first UPDATE (its table, then End-of-RIB).
      await reader.until(() => reader.received >= 3 || reader.closed, 2000);
    }
  }
  return { sock, reader };
}

async function runCase(plan: Plan, c: Case): Promise<CaseResult> {
  const fuzzStep = c.steps.find((s): s is Extract<Step, { fuzz: unknown }> => 'fuzz' in s);
  // A fuzz step makes its own sessions, one per mutant.
  if (fuzzStep) return { name: c.name, notification: null, closed: false, checks: [], fuzz: await runFuzz(plan, fuzzStep.fuzz) };
  const { sock, reader } = await session(plan, c);
  const checks: boolean[] = [];
  for (const step of c.steps) {
    if ('send' in step) sock.write(hex(step.send));
    else if ('wait' in step) await reader.until(() => reader.closed, step.wait);
    else if ('checkPrefix' in step) {
      const r = (await queryDaemon(plan.statusSocket, { command: 'routes', family: step.checkPrefix.includes(':') ? 6 : 4 })) as { routes: { prefix: string; best: boolean }[] };
      checks.push(r.routes.some((x) => x.prefix === step.checkPrefix && x.best));
    }
  }
  await reader.until(() => reader.notification !== null || reader.closed, c.steps.some((s) => 'send' in s) ? 1500 : 0);
  // A NOTIFICATION is followed by the close: give it the time to arrive.
  if (reader.notification) await reader.until(() => reader.closed, 1000);
  const result: CaseResult = { name: c.name, notification: reader.notification, closed: reader.closed, checks };
  sock.destroy();
  await new Promise((r) => setTimeout(r, 100));
  return result;
}

/** Mutates a valid UPDATE at random (seeded) and sends each mutant on a fresh session. */
async function runFuzz(plan: Plan, f: { seed: number; count: number; base: string }): Promise<NonNullable<CaseResult['fuzz']>> {
  const rnd = unitRandom(f.seed);
  const base = hex(f.base);
  const out = { notified: 0, survived: 0, codes: {} as Record<string, number> };
  for (let i = 0; i < f.count; i++) {
    const m = Buffer.from(base);
    const flips = 1 + Math.floor(rnd() * 4);
    // Mutate the body only, so most mutants reach the UPDATE decoder instead of failing the header.
    for (let k = 0; k < flips; k++) m[19 + Math.floor(rnd() * (m.length - 19))] = Math.floor(rnd() * 256);
    const { sock, reader } = await session(plan, { name: 'fuzz', steps: [] });
    sock.write(m);
    await reader.until(() => reader.notification !== null || reader.closed, 250);
    if (reader.notification) {
      out.notified++;
      const k = `${reader.notification.code}/${reader.notification.subcode}`;
      out.codes[k] = (out.codes[k] ?? 0) + 1;
    } else if (!reader.closed) out.survived++;
    sock.destroy();
    // Let the speaker see this session end before the next one starts (else: a collision, Cease 6/7).
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
  const results: CaseResult[] = [];
  for (const c of plan.cases) results.push(await runCase(plan, c));
  process.stdout.write(JSON.stringify(results) + '\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e) => {
    process.stderr.write(`raw-peer: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}
