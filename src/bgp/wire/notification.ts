// NOTIFICATION (RFC 4271 §4.5) with the shutdown communication of RFC 8203 / RFC 9003: for Cease
// subcodes Administrative Shutdown (2) and Administrative Reset (4), the data may be a length
// octet followed by that many octets of UTF-8 (at most 255 since RFC 9003; RFC 8203 said 128).
//
// Decoding keeps `data` exactly; `shutdownCommunication` is added only when the data is such a
// well-formed message, so a malformed one is still shown (as bytes) but never misread.

import { Writer } from './bytes.js';
import type { NotificationMessage } from './types.js';
import { BgpEncodeError, CEASE_SUBCODE, ERROR_CODE } from './types.js';

const carriesShutdownText = (code: number, subcode: number): boolean =>
  code === ERROR_CODE.CEASE && (subcode === CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN || subcode === CEASE_SUBCODE.ADMINISTRATIVE_RESET);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const toUtf8 = new TextEncoder();

export function decodeNotificationBody(body: Uint8Array): NotificationMessage {
  const code = body[0]!;
  const subcode = body[1]!;
  const data = body.slice(2);
  if (carriesShutdownText(code, subcode) && data.length >= 1 && data[0] === data.length - 1) {
    try {
      return { type: 'NOTIFICATION', code, subcode, data, shutdownCommunication: utf8.decode(data.subarray(1)) };
    } catch {
      // Not UTF-8: keep only the bytes.
    }
  }
  return { type: 'NOTIFICATION', code, subcode, data };
}

export function encodeNotificationBody(msg: NotificationMessage, w: Writer): void {
  w.u8(msg.code).u8(msg.subcode);
  if (msg.shutdownCommunication !== undefined && carriesShutdownText(msg.code, msg.subcode)) {
    const text = toUtf8.encode(msg.shutdownCommunication);
    if (text.length > 255) throw new BgpEncodeError('NOTIFICATION', `shutdown communication is ${text.length} octets of UTF-8, at most 255 fit (RFC 9003)`);
    w.u8(text.length).bytes(text);
    return;
  }
  w.bytes(msg.data);
}

/** A Cease NOTIFICATION with a shutdown communication (RFC 9003). */
export function shutdownNotification(text: string, subcode: number = CEASE_SUBCODE.ADMINISTRATIVE_SHUTDOWN): NotificationMessage {
  const bytes = toUtf8.encode(text);
  const data = new Uint8Array(bytes.length + 1);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return { type: 'NOTIFICATION', code: ERROR_CODE.CEASE, subcode, data, shutdownCommunication: text };
}

const NAMES: Record<number, [string, Record<number, string>]> = {
  1: ['Message Header Error', { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' }],
  2: ['OPEN Message Error', { 1: 'Unsupported Version Number', 2: 'Bad Peer AS', 3: 'Bad BGP Identifier', 4: 'Unsupported Optional Parameter', 6: 'Unacceptable Hold Time', 7: 'Unsupported Capability', 11: 'Role Mismatch' }],
  3: ['UPDATE Message Error', { 1: 'Malformed Attribute List', 2: 'Unrecognized Well-known Attribute', 3: 'Missing Well-known Attribute', 4: 'Attribute Flags Error', 5: 'Attribute Length Error', 6: 'Invalid ORIGIN Attribute', 8: 'Invalid NEXT_HOP Attribute', 9: 'Optional Attribute Error', 10: 'Invalid Network Field', 11: 'Malformed AS_PATH' }],
  4: ['Hold Timer Expired', {}],
  5: ['Finite State Machine Error', { 1: 'Unexpected Message in OpenSent', 2: 'Unexpected Message in OpenConfirm', 3: 'Unexpected Message in Established' }],
  6: ['Cease', { 1: 'Maximum Number of Prefixes Reached', 2: 'Administrative Shutdown', 3: 'Peer De-configured', 4: 'Administrative Reset', 5: 'Connection Rejected', 6: 'Other Configuration Change', 7: 'Connection Collision Resolution', 8: 'Out of Resources', 9: 'Hard Reset', 10: 'BFD Down' }],
  7: ['ROUTE-REFRESH Message Error', { 1: 'Invalid Message Length' }],
};

/** "Cease / Administrative Shutdown", for logs and status output. */
export function notificationName(code: number, subcode: number): string {
  const entry = NAMES[code];
  if (!entry) return `error code ${code} / subcode ${subcode}`;
  const sub = subcode === 0 ? 'Unspecific' : (entry[1][subcode] ?? `subcode ${subcode}`);
  return `${entry[0]} / ${sub}`;
}
