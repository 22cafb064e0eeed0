// BFD Control packets (RFC 5880 §4.1): encode and decode, pure. Decoding applies the reception
// checks of §6.8.6 that need only the packet itself (version, lengths, Detect Mult, M bit, My
// Discriminator, Your Discriminator vs. State); the checks that need a session (which one it is,
// whether it uses authentication) belong to the demultiplexer and the session machine.
//
// Authentication (§4.2–4.4) is recognised — the A bit and the section's type and length are
// decoded and length-checked — but never used: Tabby's sessions run without authentication, and
// §6.8.6 says a packet with the A bit set for a session without authentication is discarded. So
// every packet with A set is refused here, naming the authentication type it carried.
//
// Wire format (all big-endian, intervals in microseconds):
//   byte 0: Vers(3) Diag(5)   byte 1: Sta(2) P F C A D M   byte 2: Detect Mult   byte 3: Length
//   My Discriminator, Your Discriminator, Desired Min TX, Required Min RX, Required Min Echo RX

export const BFD_VERSION = 1;
/** The mandatory section's length; a packet without authentication is exactly this long. */
export const BFD_HEADER_LENGTH = 24;

export type BfdState = 'AdminDown' | 'Down' | 'Init' | 'Up';
export const BFD_STATES: readonly BfdState[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** Diagnostic codes (§4.1). */
export const BfdDiag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
const DIAG_NAMES = ['No Diagnostic', 'Control Detection Time Expired', 'Echo Function Failed', 'Neighbor Signaled Session Down', 'Forwarding Plane Reset', 'Path Down', 'Concatenated Path Down', 'Administratively Down', 'Reverse Concatenated Path Down'];
export const diagName = (d: number): string => DIAG_NAMES[d] ?? `diagnostic ${d}`;

const AUTH_TYPES = ['Reserved', 'Simple Password', 'Keyed MD5', 'Meticulous Keyed MD5', 'Keyed SHA1', 'Meticulous Keyed SHA1'];

export interface BfdControlPacket {
  readonly diag: number;
  readonly state: BfdState;
  readonly poll: boolean;
  readonly final: boolean;
  /** Control Plane Independent. */
  readonly cpi: boolean;
  readonly demand: boolean;
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  /** Microseconds. */
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
}

export type BfdDecodeResult = { readonly ok: true; readonly packet: BfdControlPacket } | { readonly ok: false; readonly reason: string };

const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
};

/** Encodes a Control packet without authentication (24 octets). Fields out of range throw:
 *  they are programming errors, not input. */
export function encodeBfdControl(p: BfdControlPacket): Uint8Array {
  if (!Number.isInteger(p.diag) || p.diag < 0 || p.diag > 31) throw new RangeError(`BFD diag ${p.diag} is not 0..31`);
  if (!Number.isInteger(p.detectMult) || p.detectMult < 1 || p.detectMult > 255) throw new RangeError(`BFD detect mult ${p.detectMult} is not 1..255`);
  if (p.poll && p.final) throw new RangeError('BFD packet with both Poll and Final set (RFC 5880 §6.5)');
  const b = new Uint8Array(BFD_HEADER_LENGTH);
  b[0] = (BFD_VERSION << 5) | p.diag;
  b[1] = (BFD_STATES.indexOf(p.state) << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.cpi ? 0x08 : 0) | (p.demand ? 0x02 : 0);
  b[2] = p.detectMult;
  b[3] = BFD_HEADER_LENGTH;
  put32(b, 4, p.myDiscriminator);
  put32(b, 8, p.yourDiscriminator);
  put32(b, 12, p.desiredMinTxUs);
  put32(b, 16, p.requiredMinRxUs);
  put32(b, 20, p.requiredMinEchoRxUs);
  return b;
}

/** Decodes one UDP payload; a refused packet says which §6.8.6 rule refused it. */
export function decodeBfdControl(b: Uint8Array): BfdDecodeResult {
  const no = (reason: string): BfdDecodeResult => ({ ok: false, reason });
  if (b.length < BFD_HEADER_LENGTH) return no(`packet of ${b.length} octets is shorter than the ${BFD_HEADER_LENGTH}-octet mandatory section`);
  const version = b[0]! >>> 5;
  if (version !== BFD_VERSION) return no(`version ${version}, not ${BFD_VERSION}`);
  const flags = b[1]!;
  const auth = (flags & 0x04) !== 0;
  const length = b[3]!;
  if (length < BFD_HEADER_LENGTH + (auth ? 2 : 0)) return no(`Length field ${length} is below the minimum of ${BFD_HEADER_LENGTH + (auth ? 2 : 0)}${auth ? ' with the A bit set' : ''}`);
  if (length > b.length) return no(`Length field ${length} is longer than the ${b.length}-octet payload`);
  const detectMult = b[2]!;
  if (detectMult === 0) return no('Detect Mult is zero');
  if ((flags & 0x01) !== 0) return no('Multipoint (M) bit is set');
  const myDiscriminator = u32(b, 4);
  if (myDiscriminator === 0) return no('My Discriminator is zero');
  const yourDiscriminator = u32(b, 8);
  const state = BFD_STATES[flags >>> 6]!;
  if (yourDiscriminator === 0 && state !== 'Down' && state !== 'AdminDown') return no(`Your Discriminator is zero while State is ${state}`);
  const poll = (flags & 0x20) !== 0;
  const final = (flags & 0x10) !== 0;
  if (poll && final) return no('both Poll and Final are set');
  if (auth) {
    const type = b[BFD_HEADER_LENGTH]!;
    const authLen = b[BFD_HEADER_LENGTH + 1]!;
    if (BFD_HEADER_LENGTH + authLen > length) return no(`authentication section of ${authLen} octets runs past the Length field ${length}`);
    return no(`authentication (${AUTH_TYPES[type] ?? `type ${type}`}) is present but Tabby's BFD sessions use none (RFC 5880 §6.8.6: discard)`);
  }
  return {
    ok: true,
    packet: {
      diag: b[0]! & 0x1f,
      state,
      poll,
      final,
      cpi: (flags & 0x08) !== 0,
      demand: (flags & 0x02) !== 0,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxUs: u32(b, 12),
      requiredMinRxUs: u32(b, 16),
      requiredMinEchoRxUs: u32(b, 20),
    },
  };
}
