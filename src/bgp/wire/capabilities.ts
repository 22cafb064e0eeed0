// OPEN capabilities (RFC 5492) as a descriptor table: one row per capability code with its
// name, the lengths it accepts, and its decode and encode.
//
// Invariants: a capability whose length is wrong for its code is malformed, which RFC 4271
// §6.2 answers with OPEN Message Error / 0 (Unspecific); a capability we do not interpret is kept
// raw (RFC 5492 §3: unknown capabilities are ignored, not errors). Codes we keep raw but whose
// size is fixed by their RFC (ORF, extended next hop, BGP role, long-lived GR) are still checked.

import { Reader, Writer } from './bytes.js';
import type { AddPathFamily, Capability, GracefulRestartFamily, SimpleCapability } from './types.js';
import { BgpDecodeError, BgpEncodeError, CAPABILITY_CODE, ERROR_CODE } from './types.js';

interface CapabilityDescriptor {
  readonly code: number;
  readonly name: string;
  /** Returns a reason when `length` is not acceptable for this code. */
  readonly checkLength: (length: number) => string | undefined;
  /** Absent for codes we only check and keep raw. */
  readonly decode?: (value: Uint8Array) => Capability;
  readonly encode?: (cap: Capability, w: Writer) => void;
}

const exactly = (n: number) => (len: number) => (len === n ? undefined : `length ${len}, must be ${n}`);
const atLeast = (n: number) => (len: number) => (len >= n ? undefined : `length ${len}, must be at least ${n}`);
const entries = (head: number, size: number, min = 1) => (len: number) =>
  len >= head + size * min && (len - head) % size === 0 ? undefined : `length ${len} is not ${head ? `${head} + ` : ''}a${min ? ' non-zero' : ''} multiple of ${size}`;

function simple(kind: SimpleCapability['kind'], name: string): CapabilityDescriptor {
  return {
    code: CAPABILITY_CODE[kind],
    name,
    // These carry no value; padding is tolerated (as FRR does) and kept.
    checkLength: () => undefined,
    decode: (value) => (value.length === 0 ? { kind } : { kind, extra: value.slice() }),
    encode: (cap, w) => {
      if ('extra' in cap && cap.extra) w.bytes(cap.extra);
    },
  };
}

const TABLE: readonly CapabilityDescriptor[] = [
  {
    code: CAPABILITY_CODE.multiprotocol,
    name: 'multiprotocol (RFC 4760)',
    checkLength: exactly(4),
    decode: (v) => ({ kind: 'multiprotocol', afi: (v[0]! << 8) | v[1]!, safi: v[3]! }),
    encode: (cap, w) => {
      if (cap.kind !== 'multiprotocol') return;
      w.u16(cap.afi).u8(0).u8(cap.safi);
    },
  },
  simple('route-refresh', 'route refresh (RFC 2918)'),
  { code: 3, name: 'outbound route filtering (RFC 5291)', checkLength: atLeast(5) },
  { code: 5, name: 'extended next hop (RFC 8950)', checkLength: entries(0, 6) },
  simple('extended-message', 'extended message (RFC 8654)'),
  { code: 9, name: 'BGP role (RFC 9234)', checkLength: exactly(1) },
  {
    code: CAPABILITY_CODE['graceful-restart'],
    name: 'graceful restart (RFC 4724)',
    checkLength: entries(2, 4, 0),
    decode: (v) => {
      const r = new Reader(v);
      const head = r.u16();
      const families: GracefulRestartFamily[] = [];
      while (r.remaining > 0) {
        const afi = r.u16();
        const safi = r.u8();
        const flags = r.u8();
        families.push(flags & 0x7f ? { afi, safi, forwardingPreserved: (flags & 0x80) !== 0, otherFlags: flags & 0x7f } : { afi, safi, forwardingPreserved: (flags & 0x80) !== 0 });
      }
      const flags = head >>> 12;
      const cap = { kind: 'graceful-restart' as const, restarting: (flags & 8) !== 0, notification: (flags & 4) !== 0, restartTime: head & 0xfff, families };
      return flags & 3 ? { ...cap, otherFlags: flags & 3 } : cap;
    },
    encode: (cap, w) => {
      if (cap.kind !== 'graceful-restart') return;
      const flags = (cap.restarting ? 8 : 0) | (cap.notification ? 4 : 0) | ((cap.otherFlags ?? 0) & 3);
      w.u16((flags << 12) | (cap.restartTime & 0xfff));
      for (const f of cap.families) w.u16(f.afi).u8(f.safi).u8((f.forwardingPreserved ? 0x80 : 0) | ((f.otherFlags ?? 0) & 0x7f));
    },
  },
  {
    code: CAPABILITY_CODE['four-octet-as'],
    name: 'four-octet AS (RFC 6793)',
    checkLength: exactly(4),
    decode: (v) => ({ kind: 'four-octet-as', asn: new Reader(v).u32() }),
    encode: (cap, w) => {
      if (cap.kind === 'four-octet-as') w.u32(cap.asn);
    },
  },
  {
    code: CAPABILITY_CODE['add-path'],
    name: 'ADD-PATH (RFC 7911)',
    checkLength: entries(0, 4),
    decode: (v) => {
      const r = new Reader(v);
      const families: AddPathFamily[] = [];
      while (r.remaining > 0) {
        const afi = r.u16();
        const safi = r.u8();
        const mode = r.u8();
        // RFC 7911 §4: any Send/Receive value but 1-3 means the capability is not understood.
        if (mode < 1 || mode > 3) return { kind: 'unknown', code: CAPABILITY_CODE['add-path'], value: v.slice() };
        families.push({ afi, safi, receive: (mode & 1) !== 0, send: (mode & 2) !== 0 });
      }
      return { kind: 'add-path', families };
    },
    encode: (cap, w) => {
      if (cap.kind !== 'add-path') return;
      for (const f of cap.families) w.u16(f.afi).u8(f.safi).u8((f.receive ? 1 : 0) | (f.send ? 2 : 0));
    },
  },
  simple('enhanced-route-refresh', 'enhanced route refresh (RFC 7313)'),
  { code: 71, name: 'long-lived graceful restart (RFC 9494)', checkLength: entries(0, 7, 0) },
  simple('route-refresh-cisco', 'route refresh, pre-standard code 128'),
];

const BY_CODE = new Map(TABLE.map((d) => [d.code, d]));
const KIND_CODE = CAPABILITY_CODE as Readonly<Record<string, number>>;

export function capabilityName(code: number): string {
  return BY_CODE.get(code)?.name ?? `capability ${code}`;
}

function malformed(code: number, reason: string): BgpDecodeError {
  return new BgpDecodeError({ code: ERROR_CODE.OPEN_MESSAGE, subcode: 0, data: new Uint8Array(0) }, 'session-reset', `OPEN ${capabilityName(code)}`, reason);
}

/** Decode one capability value after its code and length. */
export function decodeCapabilityValue(code: number, value: Uint8Array): Capability {
  const d = BY_CODE.get(code);
  if (d) {
    const bad = d.checkLength(value.length);
    if (bad !== undefined) throw malformed(code, bad);
    if (d.decode) return d.decode(value);
  }
  return { kind: 'unknown', code, value: value.slice() };
}

/** Decode the value of a Capabilities optional parameter: a run of (code, length, value). */
export function decodeCapabilities(value: Uint8Array): Capability[] {
  const out: Capability[] = [];
  let p = 0;
  while (p < value.length) {
    if (p + 2 > value.length) throw malformed(value[p]!, `capability header at offset ${p} is cut short (${value.length - p} octet left)`);
    const code = value[p]!;
    const len = value[p + 1]!;
    if (p + 2 + len > value.length) throw malformed(code, `length ${len} at offset ${p} runs past the parameter (${value.length - p - 2} octets left)`);
    out.push(decodeCapabilityValue(code, value.subarray(p + 2, p + 2 + len)));
    p += 2 + len;
  }
  return out;
}

/** One capability TLV (code, length, value). */
export function encodeCapability(cap: Capability, w: Writer): void {
  if (cap.kind === 'unknown') {
    if (cap.value.length > 255) throw new BgpEncodeError('OPEN', `capability ${cap.code} value is ${cap.value.length} octets, more than 255`);
    w.u8(cap.code).u8(cap.value.length).bytes(cap.value);
    return;
  }
  const code = KIND_CODE[cap.kind]!;
  w.u8(code);
  const at = w.slot(1);
  const from = w.length;
  BY_CODE.get(code)!.encode!(cap, w);
  if (w.patch(at, 1, from) > 255) throw new BgpEncodeError('OPEN', `${capabilityName(code)} value is more than 255 octets`);
}

/** Decode a lone capability TLV (tests and tools). */
export function decodeCapability(bytes: Uint8Array): Capability {
  const caps = decodeCapabilities(bytes);
  if (caps.length !== 1) throw malformed(bytes[0] ?? 0, `expected one capability, found ${caps.length}`);
  return caps[0]!;
}
