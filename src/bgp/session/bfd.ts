// The BFD shell (RFC 5881, single hop over UDP): sockets, timers and demultiplexing around the
// pure session machine of `../bfd/`. One owner per session: every event for a session goes
// through `BfdLink.feed`, which steps the machine, performs its actions and re-arms the one timer.
//
// Sockets:
// - receive: one socket per address family bound to the wildcard address, UDP port 3784;
// - send: one socket per local address (a peer's configured `localAddress`, else the family's
//   wildcard so the kernel picks the source address as it does for the BGP connection), bound to
//   a source port drawn from 49152–65535 and kept for the life of the speaker (§4: one source port
//   per session), with the TTL / hop limit set to 255 (§5).
// Node.js cannot read a received packet's TTL (no IP_RECVTTL / recvmsg ancillary data), so the
// GTSM check of §5 (discard unless the TTL is 255) is not done on receipt; our own packets carry
// 255, so peers that check (BIRD, FRR) accept them.
//
// A timer's expiry is fed to the machine only after the sockets were read in the same loop turn,
// so a stall of our own process is not taken for silence of the peer.
//
// Demultiplexing (§3): a packet with Your Discriminator is for the session with that local
// discriminator, and must come from that session's peer address; a packet without (the first
// ones of a handshake) is matched by its source address.

import { type Socket, createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { type IPAddr, formatIP, tryParseIP } from '../../ip/index.js';
import type { Logger } from '../../util/log.js';
import {
  type BfdAction, type BfdEvent, type BfdSession, type BfdState, type BfdTimers,
  decodeBfdControl, detectionTimeMs, diagName, encodeBfdControl, initialBfdSession, nextWake, stepBfd, txIntervalMs,
} from '../bfd/index.js';

/** A uniformly random integer in [min, max) from the platform's CSPRNG. Web Crypto rather than
 *  node:crypto: Node loads it on first use, so a speaker without BFD peers does not pay ~4 ms of
 *  start-up for a module it never uses (BENCHMARKS.md "mesh"). */
function randomInt(min: number, max: number): number {
  const range = max - min;
  const limit = Math.floor(0x1_0000_0000 / range) * range; // rejection sampling: no modulo bias
  const word = new Uint32Array(1);
  for (;;) {
    globalThis.crypto.getRandomValues(word);
    if (word[0]! < limit) return min + (word[0]! % range);
  }
}

export const BFD_CONTROL_PORT = 3784;
const SOURCE_PORT_MIN = 49152;
const SOURCE_PORT_MAX = 65535;

export type BfdStateChange = Extract<BfdAction, { kind: 'stateChanged' }>;

export interface BfdStatus {
  state: BfdState;
  remoteState: BfdState;
  diagnostic: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** How long we wait without a packet before declaring the peer down (0 until it sent one). */
  detectionTimeMs: number;
  /** Our current interval between packets, before jitter. */
  txIntervalMs: number;
  since: string;
  upTransitions: number;
  downTransitions: number;
  packetsIn: number;
  packetsOut: number;
}

const addrKey = (a: IPAddr): string => formatIP(a);

/** One BFD session with one peer address. */
export class BfdLink {
  session: BfdSession;
  private timer: NodeJS.Timeout | undefined;
  upTransitions = 0;
  downTransitions = 0;
  packetsIn = 0;
  packetsOut = 0;
  closed = false;

  constructor(
    readonly remote: IPAddr,
    private readonly tx: Socket,
    localDiscr: number,
    timers: BfdTimers,
    private readonly onChange: (change: BfdStateChange) => void,
    private readonly log: Logger,
  ) {
    this.session = initialBfdSession(localDiscr, timers, performance.now());
  }

  feed(ev: BfdEvent): void {
    if (this.closed) return;
    const r = stepBfd(this.session, ev, { now: performance.now(), random: Math.random });
    this.session = r.session;
    for (const a of r.actions) {
      if (a.kind === 'send') this.send(encodeBfdControl(a.packet));
      else {
        if (a.to === 'Up') this.upTransitions++;
        if (a.from === 'Up') this.downTransitions++;
        this.log.info('BFD state changed', { peer: formatIP(this.remote), from: a.from, to: a.to, diagnostic: diagName(a.diag), reason: a.reason });
        this.onChange(a);
      }
    }
    this.arm();
  }

  private send(bytes: Uint8Array): void {
    this.packetsOut++;
    this.tx.send(bytes, BFD_CONTROL_PORT, formatIP(this.remote), (e) => {
      if (e) this.log.debug('BFD send failed', { peer: formatIP(this.remote), error: e });
    });
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const wait = Math.max(0, nextWake(this.session) - performance.now());
    // After a stall of our own event loop, Node runs due timers before it reads the sockets: the
    // detection time would run out with the peer's packets still unread. `setImmediate` runs
    // after this turn's I/O, so those packets count first.
    this.timer = setTimeout(() => setImmediate(() => this.feed({ type: 'timer' })), wait);
  }

  status(): BfdStatus {
    const s = this.session;
    return {
      state: s.state,
      remoteState: s.remoteState,
      diagnostic: diagName(s.localDiag),
      localDiscriminator: s.localDiscr,
      remoteDiscriminator: s.remoteDiscr,
      detectionTimeMs: Math.round(detectionTimeMs(s)),
      txIntervalMs: Math.round(txIntervalMs(s)),
      since: new Date(Date.now() - (performance.now() - s.since)).toISOString(),
      upTransitions: this.upTransitions,
      downTransitions: this.downTransitions,
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
    };
  }

  /** Tells the peer we are going away on purpose (AdminDown), then stops. */
  close(): void {
    this.feed({ type: 'adminDown' });
    this.closed = true;
    clearTimeout(this.timer);
  }
}

export class BfdService {
  private readonly rx = new Map<4 | 6, Socket>();
  private readonly tx = new Map<string, Socket>();
  private readonly byDiscr = new Map<number, BfdLink>();
  private readonly byAddr = new Map<string, BfdLink>();
  /** Sockets being opened: sessions added together (peers added live at once) share one opening. */
  private readonly opening = new Map<string, Promise<unknown>>();
  /** Packets refused before reaching a session (each logged at debug level with its reason). */
  dropped = 0;

  constructor(private readonly log: Logger) {}

  /** Opens the receive socket of a family (UDP 3784 on the wildcard address). */
  private async receiver(family: 4 | 6): Promise<void> {
    if (this.rx.has(family)) return;
    const sock = createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
    sock.on('message', (msg, rinfo) => this.receive(msg, rinfo.address));
    const address = family === 4 ? '0.0.0.0' : '::';
    await new Promise<void>((resolve, reject) => {
      sock.once('error', (e) => reject(new Error(`BFD: cannot listen on UDP ${family === 6 ? `[${address}]` : address}:${BFD_CONTROL_PORT}: ${e.message} (another BFD daemon on this host?)`)));
      sock.bind({ address, port: BFD_CONTROL_PORT }, () => resolve());
    });
    sock.on('error', (e) => this.log.error('BFD receive socket failed', { family, error: e }));
    this.rx.set(family, sock);
  }

  /** The send socket of a local address (or of a family's wildcard), bound to a port in 49152–65535. */
  private async sender(family: 4 | 6, local: IPAddr | undefined): Promise<Socket> {
    const key = local ? addrKey(local) : `any${family}`;
    const have = this.tx.get(key);
    if (have) return have;
    const address = local ? formatIP(local) : family === 4 ? '0.0.0.0' : '::';
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 32; attempt++) {
      const port = randomInt(SOURCE_PORT_MIN, SOURCE_PORT_MAX + 1);
      const sock = createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind({ address, port, exclusive: true }, () => {
            sock.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        lastError = e as Error;
        sock.close();
        continue;
      }
      sock.setTTL(255); // IP_TTL / IPV6_UNICAST_HOPS: RFC 5881 §5
      sock.on('error', (e) => this.log.warn('BFD send socket error', { local: address, error: e }));
      // Packets sent to a send socket's port are not BFD Control packets for us: ignore them.
      sock.on('message', () => {});
      this.tx.set(key, sock);
      return sock;
    }
    throw new Error(`BFD: no free UDP source port in ${SOURCE_PORT_MIN}-${SOURCE_PORT_MAX} on ${address}: ${lastError?.message ?? '?'}`);
  }

  private once<T>(key: string, open: () => Promise<T>): Promise<T> {
    let p = this.opening.get(key) as Promise<T> | undefined;
    if (!p) {
      p = open().finally(() => this.opening.delete(key));
      this.opening.set(key, p);
    }
    return p;
  }

  /** Starts a session with `remote`; its state changes go to `onChange`. */
  async add(remote: IPAddr, local: IPAddr | undefined, timers: BfdTimers, onChange: (c: BfdStateChange) => void): Promise<BfdLink> {
    const key = addrKey(remote);
    if (this.byAddr.has(key)) throw new Error(`BFD: a session with ${key} exists already`);
    await this.once(`rx ${remote.family}`, () => this.receiver(remote.family));
    const tx = await this.once(`tx ${local ? addrKey(local) : remote.family}`, () => this.sender(remote.family, local));
    let discr = 0;
    while (discr === 0 || this.byDiscr.has(discr)) discr = randomInt(1, 0xffffffff);
    const link = new BfdLink(remote, tx, discr, timers, onChange, this.log);
    this.byDiscr.set(discr, link);
    this.byAddr.set(key, link);
    link.feed({ type: 'timer' }); // the first packet now
    return link;
  }

  private receive(msg: Buffer, from: string): void {
    const source = tryParseIP(from.replace(/%.*$/, '').replace(/^::ffff:(?=\d+\.)/, ''));
    const r = decodeBfdControl(msg);
    if (!r.ok) return this.drop(from, r.reason);
    const p = r.packet;
    const link = p.yourDiscriminator !== 0 ? this.byDiscr.get(p.yourDiscriminator) : source ? this.byAddr.get(addrKey(source)) : undefined;
    if (!link) return this.drop(from, p.yourDiscriminator !== 0 ? `no session with discriminator ${p.yourDiscriminator}` : 'no session with this address');
    if (!source || addrKey(source) !== addrKey(link.remote)) return this.drop(from, `discriminator ${p.yourDiscriminator} belongs to ${formatIP(link.remote)}`);
    link.packetsIn++;
    link.feed({ type: 'received', packet: p });
  }

  private drop(from: string, reason: string): void {
    this.dropped++;
    this.log.debug('BFD packet discarded', { from, reason });
  }

  /** Ends one session (its peer was removed): AdminDown to the peer, then it is forgotten. */
  remove(link: BfdLink): void {
    link.close();
    for (const [d, l] of this.byDiscr) if (l === link) this.byDiscr.delete(d);
    const key = addrKey(link.remote);
    if (this.byAddr.get(key) === link) this.byAddr.delete(key);
  }

  /** AdminDown to every peer, then closes the sockets once those packets are out. */
  async stop(): Promise<void> {
    for (const l of this.byDiscr.values()) l.close();
    this.byDiscr.clear();
    this.byAddr.clear();
    const all = [...this.rx.values(), ...this.tx.values()];
    this.rx.clear();
    this.tx.clear();
    // The AdminDown packets were handed to the sockets above; close after they are sent.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all(all.map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}
