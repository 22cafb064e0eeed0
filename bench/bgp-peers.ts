// The BGP benchmark's own peers: packed-UPDATE injectors and prefix-counting receivers, all in
// one process inside the peers' network namespace, speaking to the speaker under test over
// node:net with Tabby's wire codec.
//
// Run by bench/bgp.bench.ts as `node bgp-peers.js '<json Plan>'`; prints one JSON line (Result).
// Every peer is an iBGP neighbour that connects actively (the speaker is passive). Injectors are
// plain iBGP peers, receivers are route-reflector clients, so the speaker reflects every injected
// route to every receiver and nothing back to the injectors. The clock starts when the first
// UPDATE is written (the UPDATEs are packed beforehand) and stops when the last receiver holds
// every prefix.

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseIP } from '../src/ip/index.js';
import { MessageFramer, decodeMessage, encodeMessage, notificationName, packUpdates, type CodecContext, type Nlri } from '../src/bgp/wire/index.js';

export interface Plan {
  readonly speaker: string;
  readonly port: number;
  readonly asn: number;
  readonly injectors: readonly string[];
  readonly receivers: readonly string[];
  readonly prefixes: number;
  readonly timeoutMs: number;
}

export interface Result {
  readonly ok: boolean;
  readonly error?: string;
  /** From the first connection attempt until every session is Established. */
  readonly establishMs: number;
  /** From the first UPDATE written until every injector has handed all its UPDATEs to TCP. */
  readonly sendMs: number;
  /** From the first UPDATE written until the last receiver holds every prefix. */
  readonly doneMs: number;
  readonly receiverMs: readonly number[];
  readonly updatesSent: number;
  readonly receivedCounts: readonly number[];
}

const ctx: CodecContext = { as4: true, addPath: new Set(), extendedMessage: false };
const HOLD_TIME = 90;

/** One BGP session from a local address to the speaker; just enough FSM for a benchmark peer. */
class Session {
  private socket?: Socket;
  private readonly framer = new MessageFramer();
  private keepalive?: NodeJS.Timeout;
  private established = false;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private failed!: (e: Error) => void;
  /** Called with each UPDATE's bytes (receivers count prefixes from them). */
  onUpdate?: (msg: Uint8Array) => void;

  constructor(private readonly local: string, private readonly plan: Plan) {
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
  }

  /** Connect, retrying while the speaker is still starting. */
  async start(deadline: number): Promise<void> {
    for (;;) {
      try {
        await this.connectOnce();
        return;
      } catch (e) {
        if (performance.now() > deadline) throw new Error(`peer ${this.local}: cannot connect to ${this.plan.speaker}:${this.plan.port}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private connectOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.plan.speaker, port: this.plan.port, localAddress: this.local });
      s.setNoDelay(true);
      s.once('error', reject);
      s.once('connect', () => {
        s.removeListener('error', reject);
        this.socket = s;
        s.on('error', (e) => this.fail(new Error(`peer ${this.local}: ${e.message}`)));
        s.on('close', () => this.fail(new Error(`peer ${this.local}: the speaker closed the session`)));
        s.on('data', (chunk: Buffer) => this.receive(chunk));
        s.write(
          encodeMessage(
            {
              type: 'OPEN',
              version: 4,
              myAs: this.plan.asn,
              holdTime: HOLD_TIME,
              bgpId: Number(parseIP(this.local).value),
              capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }, { kind: 'four-octet-as', asn: this.plan.asn }],
            },
            ctx,
          ),
        );
        resolve();
      });
    });
  }

  private receive(chunk: Buffer): void {
    let msgs: Uint8Array[];
    try {
      msgs = this.framer.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const m of msgs) {
      switch (m[18]) {
        case 1: // OPEN: accept it
          this.socket!.write(encodeMessage({ type: 'KEEPALIVE' }, ctx));
          this.keepalive = setInterval(() => this.socket?.write(encodeMessage({ type: 'KEEPALIVE' }, ctx)), (HOLD_TIME / 3) * 1000);
          this.keepalive.unref();
          break;
        case 4:
          if (!this.established) {
            this.established = true;
            this.resolveReady();
          }
          break;
        case 2:
          this.onUpdate?.(m);
          break;
        case 3: {
          const n = decodeMessage(m, ctx);
          if (n.type === 'NOTIFICATION') this.fail(new Error(`peer ${this.local}: NOTIFICATION ${notificationName(n.code, n.subcode)}`));
          break;
        }
      }
    }
  }

  private fail(e: Error): void {
    if (this.closing) return;
    this.failed(e);
    onFatal?.(e);
  }

  /** Write every message, waiting for the socket to drain when TCP pushes back. */
  async send(msgs: readonly Uint8Array[]): Promise<void> {
    const s = this.socket!;
    for (const m of msgs) {
      if (!s.write(m)) await new Promise<void>((r) => s.once('drain', () => r()));
    }
  }

  private closing = false;
  close(): void {
    this.closing = true;
    clearInterval(this.keepalive);
    this.socket?.destroy();
  }
}

let onFatal: ((e: Error) => void) | undefined;

/** Count distinct IPv4 NLRI of an UPDATE without building objects (receivers see 10× the load). */
function countNlri(m: Uint8Array, seen: Set<number>): void {
  const wlen = (m[19]! << 8) | m[20]!;
  let p = 21 + wlen;
  const alen = (m[p]! << 8) | m[p + 1]!;
  p += 2 + alen;
  while (p < m.length) {
    const len = m[p++]!;
    const octets = (len + 7) >> 3;
    let v = 0;
    for (let i = 0; i < 4; i++) v = v * 256 + (i < octets ? m[p + i]! : 0);
    p += octets;
    seen.add(v * 64 + len);
  }
}

/** The i-th /24 counting up from 10.0.0.0 (100k of them reach 11.134.159.0/24). */
const prefixAt = (i: number): Nlri => ({ prefix: { family: 4, base: BigInt(0x0a000000 + i * 256), prefix: 24 } });

export async function runPlan(plan: Plan): Promise<Result> {
  const t0 = performance.now();
  const deadline = t0 + plan.timeoutMs;
  const sessions: Session[] = [];
  const counts = plan.receivers.map(() => new Set<number>());
  const receiverMs: number[] = plan.receivers.map(() => -1);
  let sendStart = 0;
  let fatal: Error | undefined;
  const fatalSeen = new Promise<never>((_, reject) => {
    onFatal = (e) => {
      fatal ??= e;
      reject(e);
    };
  });
  fatalSeen.catch(() => {});
  const doneAll = new Promise<void>((resolve) => {
    let left = plan.receivers.length;
    plan.receivers.forEach((addr, i) => {
      const s = new Session(addr, plan);
      s.onUpdate = (m) => {
        const seen = counts[i]!;
        countNlri(m, seen);
        if (receiverMs[i] === -1 && seen.size === plan.prefixes) {
          receiverMs[i] = performance.now() - sendStart;
          if (--left === 0) resolve();
        }
      };
      sessions.push(s);
    });
  });
  const injectors = plan.injectors.map((addr) => new Session(addr, plan));
  sessions.push(...injectors);
  const timeout = (what: string) =>
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${plan.timeoutMs} ms ${what}`)), Math.max(0, deadline - performance.now())).unref());
  const result = (ok: boolean, establishMs: number, sendMs: number, error?: string): Result => ({
    ok,
    ...(error ? { error } : {}),
    establishMs,
    sendMs,
    doneMs: ok ? Math.max(...receiverMs) : -1,
    receiverMs,
    updatesSent,
    receivedCounts: counts.map((c) => c.size),
  });
  let updatesSent = 0;
  let establishMs = -1;
  let sendMs = -1;
  try {
    await Promise.race([Promise.all(sessions.map((s) => s.start(deadline))), fatalSeen, timeout('connecting')]);
    await Promise.race([Promise.all(sessions.map((s) => s.ready)), fatalSeen, timeout('waiting for Established')]);
    establishMs = performance.now() - t0;
    // Pack each injector's share beforehand: the clock measures the speaker, not our encoder.
    const share = Math.ceil(plan.prefixes / injectors.length);
    const batches = injectors.map((_, k) => {
      const first = k * share;
      const list = Array.from({ length: Math.max(0, Math.min(share, plan.prefixes - first)) }, (_, j) => prefixAt(first + j));
      return packUpdates({ origin: 'igp', asPath: [], nextHop: parseIP(plan.injectors[k]!), localPref: 100 }, list, ctx);
    });
    updatesSent = batches.reduce((n, b) => n + b.length, 0);
    sendStart = performance.now();
    const sent = Promise.all(injectors.map((s, k) => s.send(batches[k]!))).then(() => {
      sendMs = performance.now() - sendStart;
    });
    await Promise.race([Promise.all([doneAll, sent]), fatalSeen, timeout('waiting for the receivers')]);
    return result(true, establishMs, sendMs);
  } catch (e) {
    return result(false, establishMs, sendMs, (fatal ?? (e as Error)).message);
  } finally {
    for (const s of sessions) s.close();
  }
}

// Entry point when run as a program (inside the peers' namespace).
if (process.argv[1] && /bgp-peers\.js$/.test(process.argv[1])) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
  runPlan(plan).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(r.ok ? 0 : 1);
    },
    (e: unknown) => {
      process.stdout.write(JSON.stringify({ ok: false, error: String(e) }) + '\n');
      process.exit(1);
    },
  );
}
