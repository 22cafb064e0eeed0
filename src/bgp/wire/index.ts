// BGP wire codec (pure): the message model of RFC 4271 and its extensions (types.ts), and the
// functions that turn bytes into that model and back. No sockets, timers or logs here; the FSM,
// RIBs and session shell import only from this file.
//
// In:  MessageFramer cuts the TCP stream, decodeMessage(bytes, rxContext) gives a BgpMessage or
//      throws BgpDecodeError (send its NOTIFICATION unless disposition says otherwise). UPDATEs
//      that RFC 7606 lets us survive carry `issues` and maybe `treatAsWithdraw`; updateRoutes()
//      applies that for the RIB.
// Out: encodeMessage(msg, txContext), or packUpdates/packWithdrawals for many routes at once.
// negotiate(localOpen, remoteOpen) gives the two contexts.
export * from './types.js';
export { MessageFramer, checkHeader, maxMessageSize, messageTypeName } from './header.js';
export { decodeMessage, encodeMessage } from './message.js';
export { decodeOpenBody, encodeOpenBody, negotiate, openAsn, twoOctetAs, hasCapability, commonFamilies } from './open.js';
export { decodeCapability, decodeCapabilities, capabilityName } from './capabilities.js';
export { decodeUpdateBody, encodeUpdateBody, updateRoutes, endOfRib, endOfRibMessage, type FamilyRoutes } from './update.js';
export { decodeAttributes, encodeAttributes, attributesBytes, prepareForForwarding } from './attributes.js';
export { ATTRIBUTES, attributeName, type AttributeDescriptor } from './attribute-table.js';
export {
  asPathContains,
  confedLength,
  withoutConfedSegments,
  asPathLength,
  asPathBytes,
  decodeAsPath,
  firstAsn,
  formatAsPath,
  prependAsn,
  reconcileAs4,
  as4PathFor,
} from './as-path.js';
export { decodeMpReach, decodeMpUnreach } from './mp-reach.js';
export { afiSafiKey, decodePrefixes, prefixFamily, IPV4_UNICAST, IPV6_UNICAST } from './nlri.js';
export { decodeNotificationBody, shutdownNotification, notificationName } from './notification.js';
export { packUpdates, packWithdrawals } from './pack.js';
export { fromHex, toHex, bytesEqual } from './bytes.js';
export { mutateMessage, fuzzCodec, FuzzFailure, type FuzzReport } from './fuzz.js';
