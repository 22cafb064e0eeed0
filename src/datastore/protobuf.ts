// Protobuf wire codec driven by descriptor tables: one generic encoder and decoder for messages
// described as data (etcd-proto.ts holds etcd's), instead of generated code or a dependency.
// Pure: bytes in, plain objects out.
//
// Wire rules (protobuf encoding spec): a field is a varint tag (number << 3 | wire type) then a
// varint (type 0), 8 bytes (1), a varint length and that many bytes (2), or 4 bytes (5).
// Invariants:
// - Field numbers are etcd's own; a field we do not describe is skipped by its wire type, so
//   newer etcd versions may add fields freely.
// - proto3 defaults: a scalar at its zero value is not written and reads back as zero; a
//   `presence` field (a member of a proto oneof) is written whenever it is set, even at zero,
//   and reads back as undefined when absent.
// - int64 fields decode to JS numbers; a value at or beyond 2^53 (or negative, which the wire
//   carries as 2^64 - n) throws rather than silently rounding. Revisions never get near it.
// - Malformed input (truncated varint, length past the end, a group or unknown wire type)
//   throws a ProtoDecodeError naming the message and the byte offset; decoding is one forward
//   pass, so it always terminates.

export type ScalarType = 'bytes' | 'string' | 'int64' | 'bool' | 'enum';

export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly type: ScalarType | MessageSpec;
  readonly repeated?: true;
  /** A proto3 oneof member: written when set even at its zero value; absent reads as undefined. */
  readonly presence?: true;
}

export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
  readonly code = 'ProtoDecode';
  constructor(
    readonly messageName: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`cannot decode ${messageName} at byte ${offset}: ${detail}`);
  }
}

const EMPTY = new Uint8Array(0);
const TWO_POW_53 = 2 ** 53;
const utf8Decoder = new TextDecoder('utf-8');

// ---- encoding ------------------------------------------------------------------------------
//
// Two passes over the message: the first sizes every nested message and string (their lengths
// prefix them on the wire) and records the sizes in visiting order; the second writes into one
// buffer of exactly that size, taking the sizes back in the same order. One allocation and no
// intermediate copies, whatever the nesting: an IPAM block of ~11 KB is written once, as the
// UTF-8 of its JSON text, straight into the request.

/** A `bytes` field takes bytes, or a string meaning its UTF-8. */
export type BytesValue = Uint8Array | string;

function checkVarint(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode ${n} as a protobuf varint: expected a non-negative safe integer`);
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Bytes `msg` takes (without its own tag and length); pushes nested sizes in visiting order. */
function sizeMessage(spec: MessageSpec, msg: Record<string, unknown>, sizes: number[]): number {
  const slot = sizes.length;
  sizes.push(0);
  let n = 0;
  for (const f of spec.fields) {
    const v = msg[f.name];
    if (v === undefined) continue;
    if (f.repeated) for (const item of v as unknown[]) n += sizeField(f, item, sizes, true);
    else n += sizeField(f, v, sizes, f.presence === true);
  }
  sizes[slot] = n;
  return n;
}

function sizeField(f: FieldSpec, v: unknown, sizes: number[], always: boolean): number {
  const t = f.type;
  const tag = varintSize(f.no * 8);
  if (typeof t === 'object') {
    const len = sizeMessage(t, v as Record<string, unknown>, sizes);
    return tag + varintSize(len) + len;
  }
  switch (t) {
    case 'bytes':
    case 'string': {
      let len: number;
      if (typeof v === 'string') {
        len = utf8Length(v);
        sizes.push(len);
      } else {
        len = (v as Uint8Array).length;
      }
      if (len === 0 && !always) return 0;
      return tag + varintSize(len) + len;
    }
    case 'int64':
    case 'enum': {
      const n = v as number;
      checkVarint(n);
      if (n === 0 && !always) return 0;
      return tag + varintSize(n);
    }
    case 'bool':
      if (v !== true && !always) return 0;
      return tag + 1;
  }
}

interface Out {
  readonly buf: Buffer;
  at: number;
  readonly sizes: number[];
  next: number;
}

function putVarint(o: Out, n: number): void {
  const buf = o.buf;
  while (n > 0x7f) {
    buf[o.at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[o.at++] = n;
}

function writeMessage(spec: MessageSpec, msg: Record<string, unknown>, o: Out): void {
  o.next++; // this message's own size, already written by whoever wrote its length
  for (const f of spec.fields) {
    const v = msg[f.name];
    if (v === undefined) continue;
    if (f.repeated) for (const item of v as unknown[]) writeField(f, item, o, true);
    else writeField(f, v, o, f.presence === true);
  }
}

function writeField(f: FieldSpec, v: unknown, o: Out, always: boolean): void {
  const t = f.type;
  if (typeof t === 'object') {
    putVarint(o, f.no * 8 + 2);
    putVarint(o, o.sizes[o.next]!);
    writeMessage(t, v as Record<string, unknown>, o);
    return;
  }
  switch (t) {
    case 'bytes':
    case 'string': {
      const bytes = v instanceof Uint8Array;
      const len = bytes ? v.length : o.sizes[o.next++]!;
      if (len === 0 && !always) return;
      putVarint(o, f.no * 8 + 2);
      putVarint(o, len);
      if (bytes) o.buf.set(v, o.at);
      else o.buf.write(v as string, o.at, len, 'utf8');
      o.at += len;
      return;
    }
    case 'int64':
    case 'enum': {
      const n = v as number;
      if (n === 0 && !always) return;
      putVarint(o, f.no * 8);
      putVarint(o, n);
      return;
    }
    case 'bool':
      if (v !== true && !always) return;
      putVarint(o, f.no * 8);
      putVarint(o, v === true ? 1 : 0);
      return;
  }
}

/**
 * Encode `msg` as `spec`. With `reserve`, the message starts that many bytes into the buffer,
 * the first bytes left for the caller (gRPC's 5-byte frame header).
 */
export function encodeMessage(spec: MessageSpec, msg: object, reserve = 0): Uint8Array {
  const sizes: number[] = [];
  const size = sizeMessage(spec, msg as Record<string, unknown>, sizes);
  const o: Out = { buf: Buffer.allocUnsafe(reserve + size), at: reserve, sizes, next: 0 };
  o.buf.fill(0, 0, reserve);
  writeMessage(spec, msg as Record<string, unknown>, o);
  if (o.at !== reserve + size) throw new Error(`internal: ${spec.name} encoded to ${o.at - reserve} bytes, sized ${size}`);
  return new Uint8Array(o.buf.buffer, o.buf.byteOffset, o.buf.length);
}

// ---- decoding ------------------------------------------------------------------------------

interface Cursor {
  readonly buf: Uint8Array;
  pos: number;
}

/** A varint as a number; `safe` demands it below 2^53 (int64 fields), otherwise it is only skipped. */
function readVarint(c: Cursor, end: number, what: string, safe: boolean): number {
  const start = c.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= end) throw new ProtoDecodeError(what, start, 'varint runs past the end of the message');
    const b = c.buf[c.pos++]!;
    result += (b & 0x7f) * scale;
    scale *= 0x80;
    if (b < 0x80) {
      if (safe && result >= TWO_POW_53) {
        throw new ProtoDecodeError(what, start, `integer ${result} is beyond 2^53 (or negative) and cannot be held exactly as a number`);
      }
      return result;
    }
  }
  throw new ProtoDecodeError(what, start, 'varint longer than 10 bytes');
}

function readLength(c: Cursor, end: number, what: string): number {
  const at = c.pos;
  const len = readVarint(c, end, what, true);
  if (len > end - c.pos) throw new ProtoDecodeError(what, at, `length ${len} runs past the end of the message (${end - c.pos} bytes left)`);
  return len;
}

function defaults(spec: MessageSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec.fields) {
    if (f.repeated) out[f.name] = [];
    else if (f.presence || typeof f.type === 'object') continue;
    else out[f.name] = f.type === 'bytes' ? EMPTY : f.type === 'string' ? '' : f.type === 'bool' ? false : 0;
  }
  return out;
}

// layer: memo — each message spec's field table, derived from the (constant) spec on first use.
const fieldIndex = new WeakMap<MessageSpec, Map<number, FieldSpec>>();
function fieldsOf(spec: MessageSpec): Map<number, FieldSpec> {
  let m = fieldIndex.get(spec);
  if (!m) {
    m = new Map(spec.fields.map((f) => [f.no, f]));
    fieldIndex.set(spec, m);
  }
  return m;
}

function readMessage(spec: MessageSpec, c: Cursor, end: number): Record<string, unknown> {
  const out = defaults(spec);
  const fields = fieldsOf(spec);
  while (c.pos < end) {
    const tagAt = c.pos;
    const tag = readVarint(c, end, spec.name, true);
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (no === 0) throw new ProtoDecodeError(spec.name, tagAt, 'field number 0 is not allowed');
    const f = fields.get(no);
    const expected = f === undefined ? wire : typeof f.type === 'object' || f.type === 'bytes' || f.type === 'string' ? 2 : 0;
    if (wire !== expected) {
      throw new ProtoDecodeError(spec.name, tagAt, `field ${no}${f ? ` (${f.name})` : ''} has wire type ${wire}, expected ${expected}`);
    }
    const what = f ? `${spec.name}.${f.name}` : spec.name;
    let value: unknown;
    switch (wire) {
      case 0:
        value = readVarint(c, end, what, f !== undefined && f.type === 'int64');
        if (f?.type === 'bool') value = value !== 0;
        break;
      case 1:
      case 5: {
        const size = wire === 1 ? 8 : 4;
        if (end - c.pos < size) throw new ProtoDecodeError(what, tagAt, `fixed${size * 8} field runs past the end of the message`);
        c.pos += size;
        break;
      }
      case 2: {
        const len = readLength(c, end, what);
        const start = c.pos;
        c.pos += len;
        if (f === undefined) break;
        if (typeof f.type === 'object') {
          const sub: Cursor = { buf: c.buf, pos: start };
          value = readMessage(f.type, sub, start + len);
        } else if (f.type === 'string') {
          value = utf8Decoder.decode(c.buf.subarray(start, start + len));
        } else {
          value = c.buf.subarray(start, start + len);
        }
        break;
      }
      default:
        throw new ProtoDecodeError(spec.name, tagAt, `field ${no} has wire type ${wire}, which proto3 does not use`);
    }
    if (f === undefined) continue;
    if (f.repeated) (out[f.name] as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

/** Decode `bytes` as `spec`. Byte fields are views into `bytes`, not copies. */
export function decodeMessage(spec: MessageSpec, bytes: Uint8Array): Record<string, unknown> {
  return readMessage(spec, { buf: bytes, pos: 0 }, bytes.length);
}
