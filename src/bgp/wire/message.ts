// Whole messages: header plus body, dispatched on the message type. These are the two functions
// the session shell calls for every message in and out.

import { Writer } from './bytes.js';
import { checkHeader, maxMessageSize, writeHeader } from './header.js';
import { decodeNotificationBody, encodeNotificationBody } from './notification.js';
import { decodeOpenBody, encodeOpenBody } from './open.js';
import { decodeRouteRefreshBody, encodeRouteRefreshBody } from './route-refresh.js';
import type { BgpMessage, CodecContext, DecodeMessage, EncodeMessage } from './types.js';
import { BgpDecodeError, BgpEncodeError, ERROR_CODE, HEADER_SIZE, HEADER_SUBCODE, MESSAGE_TYPE } from './types.js';
import { u16Bytes } from './bytes.js';
import { decodeUpdateBody, encodeUpdateBody } from './update.js';

/** Decode one complete message (as cut by MessageFramer). Throws only BgpDecodeError. */
export const decodeMessage: DecodeMessage = (bytes, ctx) => {
  if (bytes.length < HEADER_SIZE) {
    throw new BgpDecodeError({ code: ERROR_CODE.MESSAGE_HEADER, subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH, data: u16Bytes(bytes.length) }, 'session-reset', 'message header', `${bytes.length} octets, shorter than the 19-octet header`);
  }
  const { type, length } = checkHeader(bytes, 0, ctx.extendedMessage);
  if (length !== bytes.length) {
    throw new BgpDecodeError({ code: ERROR_CODE.MESSAGE_HEADER, subcode: HEADER_SUBCODE.BAD_MESSAGE_LENGTH, data: u16Bytes(length) }, 'session-reset', 'message header', `Length field says ${length} octets, the message has ${bytes.length}`);
  }
  const body = bytes.subarray(HEADER_SIZE);
  switch (type) {
    case MESSAGE_TYPE.OPEN:
      return decodeOpenBody(body);
    case MESSAGE_TYPE.UPDATE:
      return decodeUpdateBody(body, ctx);
    case MESSAGE_TYPE.NOTIFICATION:
      return decodeNotificationBody(body);
    case MESSAGE_TYPE.KEEPALIVE:
      return { type: 'KEEPALIVE' };
    default:
      return decodeRouteRefreshBody(body, bytes);
  }
};

/** Encode one message, header included. Throws BgpEncodeError when it cannot be sent as is
 *  (a value out of range, or larger than the session's message size limit). */
export const encodeMessage: EncodeMessage = (msg: BgpMessage, ctx: CodecContext) => {
  const w = new Writer(msg.type === 'UPDATE' ? 512 : 64);
  w.bytes(new Uint8Array(HEADER_SIZE));
  switch (msg.type) {
    case 'OPEN':
      encodeOpenBody(msg, w);
      break;
    case 'UPDATE':
      encodeUpdateBody(msg, ctx, w);
      break;
    case 'NOTIFICATION':
      encodeNotificationBody(msg, w);
      break;
    case 'KEEPALIVE':
      break;
    case 'ROUTE-REFRESH':
      encodeRouteRefreshBody(msg, w);
      break;
  }
  const out = w.finish();
  const type = MESSAGE_TYPE[msg.type];
  const max = maxMessageSize(type, ctx.extendedMessage);
  if (out.length > max) throw new BgpEncodeError(msg.type, `message is ${out.length} octets, more than the ${max}-octet limit of this session`);
  writeHeader(out, out.length, type);
  return out;
};
