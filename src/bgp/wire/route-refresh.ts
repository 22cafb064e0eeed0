// ROUTE-REFRESH (RFC 2918 §3) with the Message Subtype of enhanced route refresh (RFC 7313 §3.2:
// 0 normal request, 1 Beginning of RIB Refresh, 2 End of RIB Refresh) in the octet RFC 2918
// reserved.
//
// RFC 7313 §5: a BoRR or EoRR whose body is not exactly 4 octets is a ROUTE-REFRESH Message Error
// / Invalid Message Length carrying the whole message. A normal request may carry ORF entries
// (RFC 5291), kept raw. Unknown subtypes decode; the session ignores them (RFC 7313 §5).

import type { Writer } from './bytes.js';
import type { RouteRefreshMessage } from './types.js';
import { BgpDecodeError, ERROR_CODE, ROUTE_REFRESH_BORR, ROUTE_REFRESH_EORR } from './types.js';

/** `message` is the whole message (header included), for the NOTIFICATION data. */
export function decodeRouteRefreshBody(body: Uint8Array, message: Uint8Array): RouteRefreshMessage {
  const afi = (body[0]! << 8) | body[1]!;
  const subtype = body[2]!;
  const safi = body[3]!;
  if ((subtype === ROUTE_REFRESH_BORR || subtype === ROUTE_REFRESH_EORR) && body.length !== 4) {
    throw new BgpDecodeError(
      { code: ERROR_CODE.ROUTE_REFRESH_MESSAGE, subcode: 1, data: message.slice() },
      'session-reset',
      'ROUTE-REFRESH',
      `subtype ${subtype} message has a ${body.length}-octet body, must be 4 (RFC 7313 §5)`,
    );
  }
  return body.length > 4 ? { type: 'ROUTE-REFRESH', afi, safi, subtype, data: body.slice(4) } : { type: 'ROUTE-REFRESH', afi, safi, subtype };
}

export function encodeRouteRefreshBody(msg: RouteRefreshMessage, w: Writer): void {
  w.u16(msg.afi).u8(msg.subtype).u8(msg.safi);
  if (msg.data) w.bytes(msg.data);
}
