// Big-endian byte reading and writing for the codec.
//
// The reader never reads past its end: a short read throws Truncated, which each decoder turns
// into the NOTIFICATION its RFC asks for (the reader does not know which one that is). The
// writer grows as needed and hands out one Uint8Array at the end.

/** A read past the end of a field; always caught inside the codec and translated. */
export class Truncated extends Error {
  override readonly name = 'Truncated';
  constructor(readonly wanted: number, readonly available: number) {
    super(`needed ${wanted} more octets, ${available} left`);
  }
}

export class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new Truncated(n, this.end - this.pos);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** A view (not a copy) of the next n octets. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A reader over the next n octets, advancing this one past them. */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
}

export class Writer {
  private buf: Uint8Array;
  length = 0;
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf[this.length++] = (v >>> 24) & 0xff;
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** Make room for n octets and hand out the buffer and offset to fill them in place (hot paths:
   *  prefixes). The buffer is only valid until the next write. */
  claim(n: number): { buf: Uint8Array; at: number } {
    this.room(n);
    const at = this.length;
    this.length += n;
    return { buf: this.buf, at };
  }

  /** Reserve a 1- or 2-octet length slot; returns its offset for patch(). */
  slot(size: 1 | 2): number {
    const at = this.length;
    if (size === 1) this.u8(0);
    else this.u16(0);
    return at;
  }

  /** Write the number of octets written since `from` into the slot at `at`. */
  patch(at: number, size: 1 | 2, from: number): number {
    const n = this.length - from;
    if (size === 1) this.buf[at] = n;
    else {
      this.buf[at] = n >>> 8;
      this.buf[at + 1] = n & 0xff;
    }
    return n;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function u32Bytes(v: number): Uint8Array {
  return new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

export function u16Bytes(v: number): Uint8Array {
  return new Uint8Array([(v >>> 8) & 0xff, v & 0xff]);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError(`not an even-length hex string: "${hex.slice(0, 40)}"`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
