// One TCP connection carrying BGP: cuts the byte stream into messages, decodes them with the
// receive context and hands each to its owner; encodes and writes outgoing messages, reporting
// backpressure. It makes no protocol decisions: decode errors go to the owner, which decides the
// NOTIFICATION (the FSM's job). The transport is a TCP socket, or the stream end of a
// tabby-sockopt relay (TCP-MD5 / GTSM peers), which has no addresses of its own: the relay's
// addresses are given with `setEndpoints`.

import type { Socket } from 'node:net';
import { type BgpMessage, BgpDecodeError, type CodecContext, MessageFramer, decodeMessage, encodeMessage } from '../wire/index.js';

export interface ConnectionHandlers {
  message(msg: BgpMessage): void;
  decodeError(err: BgpDecodeError): void;
  closed(reason: string): void;
  drained(): void;
}

export const INITIAL_CONTEXT: CodecContext = { as4: false, addPath: new Set(), extendedMessage: false };

export class BgpConnection {
  private readonly framer = new MessageFramer();
  rx: CodecContext = INITIAL_CONTEXT;
  tx: CodecContext = INITIAL_CONTEXT;
  private dead = false;
  messagesIn = 0;
  messagesOut = 0;
  /** Set once the socket reported backpressure; cleared on 'drain'. */
  blocked = false;

  constructor(readonly socket: Socket, readonly direction: 'outgoing' | 'incoming', private readonly h: ConnectionHandlers) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.blocked = false;
      if (!this.dead) this.h.drained();
    });
    socket.on('error', (e) => this.lost(`socket error: ${e.message}`));
    socket.on('close', () => this.lost('connection closed by the peer'));
    socket.on('end', () => this.lost('connection closed by the peer'));
  }

  private endpoints: { localAddress: string; remote: string } | undefined;

  get remote(): string {
    return this.endpoints?.remote ?? `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Our address on the TCP connection (next hop self). */
  get localAddress(): string | undefined {
    return this.endpoints?.localAddress ?? this.socket.localAddress;
  }

  setEndpoints(localAddress: string, remote: string): void {
    this.endpoints = { localAddress, remote };
  }

  setContexts(rx: CodecContext, tx: CodecContext): void {
    this.rx = rx;
    this.tx = tx;
    this.framer.extendedMessage = rx.extendedMessage;
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      if (e instanceof BgpDecodeError) this.h.decodeError(e);
      else this.h.decodeError(new BgpDecodeError({ code: 1, subcode: 0, data: new Uint8Array() }, 'session-reset', 'message header', String(e)));
      return;
    }
    for (const frame of frames) {
      if (this.dead) return;
      this.messagesIn++;
      let msg: BgpMessage;
      try {
        msg = decodeMessage(frame, this.rx);
      } catch (e) {
        if (e instanceof BgpDecodeError) this.h.decodeError(e);
        else this.h.decodeError(new BgpDecodeError({ code: 3, subcode: 1, data: new Uint8Array() }, 'session-reset', 'message', `decoder failed: ${String(e)}`));
        return;
      }
      this.h.message(msg);
    }
  }

  send(msg: BgpMessage): boolean {
    return this.write(encodeMessage(msg, this.tx));
  }

  /** Writes encoded message(s); false when the socket is backpressured. */
  write(bytes: Uint8Array): boolean {
    if (this.dead) return false;
    this.messagesOut++;
    const ok = this.socket.write(bytes);
    if (!ok) this.blocked = true;
    return ok;
  }

  writeMany(list: readonly Uint8Array[]): boolean {
    if (this.dead || list.length === 0) return !this.dead;
    this.messagesOut += list.length;
    // Corked writes go out as one writev: no copy of the messages into one buffer.
    this.socket.cork();
    let ok = true;
    for (const m of list) ok = this.socket.write(m) && ok;
    this.socket.uncork();
    if (!ok) this.blocked = true;
    return ok;
  }

  /** The owner closes: after flushing what was written when `flush` (a NOTIFICATION must reach
   *  the peer). No `closed` callback: the owner knows. */
  close(flush = false): void {
    if (this.dead) return;
    this.dead = true;
    if (flush) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else this.socket.destroy();
  }

  private lost(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.h.closed(reason);
  }

  get closed(): boolean {
    return this.dead;
  }
}
