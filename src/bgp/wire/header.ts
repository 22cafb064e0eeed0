// The 19-octet message header (RFC 4271 §4.1) and the framer that cuts a TCP byte stream into
// messages.
//
// Header checks follow RFC 4271 §6.1: a marker that is not all ones is Connection Not
// Synchronized; a length below 19, above the limit, or wrong for the message type is Bad Message
// Length with the Length field as data; an unknown type is Bad Message Type with the Type field
// as data. The limit is 4096 octets, or 65535 for UPDATE, NOTIFICATION and ROUTE-REFRESH when
// extended messages were negotiated (RFC 8654 §3: OPEN and KEEPALIVE never grow).

import { u16Bytes } from './bytes.js';
import {
  BgpDecodeError,
  ERROR_CODE,
  HEADER_SIZE,
  HEADER_SUBCODE,
  MAX_EXTENDED_MESSAGE_SIZE,
  MAX_MESSAGE_SIZE,
  MESSAGE_TYPE,
  type Framer,
  type MessageTypeName,
} from './types.js';

const TYPE_NAMES: Record<number, MessageTypeName> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };

/** Smallest legal total length per type (RFC 4271 §4.2-4.5, RFC 2918 §3). */
const MIN_LENGTH: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

export const messageTypeName = (type: number): MessageTypeName | undefined => TYPE_NAMES[type];

export function maxMessageSize(type: number, extendedMessage: boolean): number {
  if (!extendedMessage || type === MESSAGE_TYPE.OPEN || type === MESSAGE_TYPE.KEEPALIVE) return MAX_MESSAGE_SIZE;
  return MAX_EXTENDED_MESSAGE_SIZE;
}

function headerError(subcode: number, data: Uint8Array, reason: string): BgpDecodeError {
  return new BgpDecodeError({ code: ERROR_CODE.MESSAGE_HEADER, subcode, data }, 'session-reset', 'message header', reason);
}

/**
 * Check the header at buf[at..at+19) and return the message's type and total length. The
 * caller guarantees 19 octets are there.
 */
export function checkHeader(buf: Uint8Array, at: number, extendedMessage: boolean): { type: number; length: number } {
  for (let i = 0; i < 16; i++) {
    if (buf[at + i] !== 0xff) throw headerError(HEADER_SUBCODE.CONNECTION_NOT_SYNCHRONIZED, new Uint8Array(0), `marker octet ${i} is 0x${buf[at + i]!.toString(16).padStart(2, '0')}, not 0xff`);
  }
  const length = (buf[at + 16]! << 8) | buf[at + 17]!;
  const type = buf[at + 18]!;
  if (length < HEADER_SIZE) throw headerError(HEADER_SUBCODE.BAD_MESSAGE_LENGTH, u16Bytes(length), `length ${length} is shorter than the 19-octet header`);
  const name = TYPE_NAMES[type];
  if (name === undefined) throw headerError(HEADER_SUBCODE.BAD_MESSAGE_TYPE, new Uint8Array([type]), `message type ${type} is not one of 1-5`);
  const max = maxMessageSize(type, extendedMessage);
  if (length > max) throw headerError(HEADER_SUBCODE.BAD_MESSAGE_LENGTH, u16Bytes(length), `${name} length ${length} exceeds the ${max}-octet limit`);
  const min = MIN_LENGTH[type]!;
  if (length < min || (type === MESSAGE_TYPE.KEEPALIVE && length !== HEADER_SIZE)) {
    throw headerError(HEADER_SUBCODE.BAD_MESSAGE_LENGTH, u16Bytes(length), type === MESSAGE_TYPE.KEEPALIVE ? `KEEPALIVE length ${length} is not 19` : `${name} length ${length} is shorter than its minimum ${min}`);
  }
  return { type, length };
}

export function writeHeader(out: Uint8Array, length: number, type: number): void {
  out.fill(0xff, 0, 16);
  out[16] = length >>> 8;
  out[17] = length & 0xff;
  out[18] = type;
}

/**
 * Splits a byte stream into whole messages, checking each header as soon as it is complete.
 * Messages are returned as views into the pushed chunk where they lie entirely inside it, and
 * as copies otherwise. After a BgpDecodeError the stream is unusable: send the NOTIFICATION and
 * close.
 */
export class MessageFramer implements Framer {
  private held: Uint8Array = new Uint8Array(0);
  private heldLength = 0;
  /** Set once the OPEN exchange has negotiated extended messages (RFC 8654). */
  extendedMessage: boolean;

  constructor(opts: { extendedMessage?: boolean } = {}) {
    this.extendedMessage = opts.extendedMessage ?? false;
  }

  get pending(): number {
    return this.heldLength;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let buf: Uint8Array;
    let end: number;
    if (this.heldLength === 0) {
      buf = chunk;
      end = chunk.length;
    } else {
      this.hold(chunk);
      buf = this.held;
      end = this.heldLength;
    }
    let at = 0;
    while (end - at >= HEADER_SIZE) {
      const { length } = checkHeader(buf, at, this.extendedMessage);
      if (end - at < length) break;
      out.push(buf === chunk ? buf.subarray(at, at + length) : buf.slice(at, at + length));
      at += length;
    }
    // Keep the unfinished tail.
    if (buf === chunk) {
      if (at < end) this.hold(chunk.subarray(at));
    } else if (at > 0) {
      this.held.copyWithin(0, at, end);
      this.heldLength = end - at;
    }
    return out;
  }

  private hold(bytes: Uint8Array): void {
    const need = this.heldLength + bytes.length;
    if (need > this.held.length) {
      const next = new Uint8Array(Math.max(need, this.held.length * 2, 4096));
      next.set(this.held.subarray(0, this.heldLength));
      this.held = next;
    }
    this.held.set(bytes, this.heldLength);
    this.heldLength = need;
  }
}
