// gRPC over HTTP/2 as bytes and header values (gRPC's PROTOCOL-HTTP2.md), pure:
// - message framing ("Length-Prefixed-Message"): a 1-byte compressed flag, a 4-byte big-endian
//   length, then the message. Tabby never asks for compression (no grpc-accept-encoding), so a
//   compressed frame is an error; so is a frame over the caller's limit, before it is buffered.
// - the grpc-timeout request header, the percent-encoded grpc-message, and status code names.

export class GrpcFramingError extends Error {
  override readonly name = 'GrpcFramingError';
  readonly code = 'GrpcFraming';
}

/** Bytes before each message: the compressed flag and the length. */
export const FRAME_HEADER_BYTES = 5;

/** A message behind its 5-byte prefix, in one buffer. */
export function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + message.length);
  out.set(message, FRAME_HEADER_BYTES);
  return frameInPlace(out);
}

/**
 * The same for a message encoded FRAME_HEADER_BYTES into its buffer (protobuf.ts `reserve`):
 * writes the prefix there, without copying the message.
 */
export function frameInPlace(buf: Uint8Array): Uint8Array {
  const length = buf.length - FRAME_HEADER_BYTES;
  if (length < 0) throw new RangeError('a framed message needs room for its 5-byte prefix');
  buf[0] = 0;
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(1, length);
  return buf;
}

/** Splits a byte stream into messages, whatever the chunk boundaries. */
export class Deframer {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** The default limit is 2 GiB - 1, like etcd's own Go client (MaxCallRecvMsgSize). */
  constructor(private readonly maxMessageBytes: number = 0x7fffffff) {}

  /** Bytes held that do not yet make a whole message. */
  get pending(): number {
    return this.buffered;
  }

  /** Add a chunk; returns every message it completed, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Uint8Array[] = [];
    while (this.buffered >= 5) {
      const head = this.peek(5);
      if (head[0] !== 0) {
        throw new GrpcFramingError(head[0] === 1 ? 'gRPC message is compressed, but no compression was negotiated' : `gRPC frame has flag byte ${head[0]}, expected 0`);
      }
      const length = new DataView(head.buffer, head.byteOffset, 5).getUint32(1);
      if (length > this.maxMessageBytes) throw new GrpcFramingError(`gRPC message of ${length} bytes is over the ${this.maxMessageBytes}-byte limit`);
      if (this.buffered < 5 + length) break;
      out.push(this.take(5 + length).subarray(5));
    }
    return out;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.merge().subarray(0, n);
  }

  private take(n: number): Uint8Array {
    let first = this.chunks[0]!;
    if (first.length < n) first = this.merge();
    this.buffered -= n;
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }

  private merge(): Uint8Array {
    const all = new Uint8Array(this.buffered);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.chunks = [all];
    return all;
  }
}

/** The grpc-timeout header value: at most 8 digits, in the finest unit that fits. */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole <= 99_999_999) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds <= 99_999_999) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

/** grpc-message is percent-encoded UTF-8; a malformed escape is kept as it came. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (ch === 0x25 && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x80) {
      bytes.push(ch);
    } else {
      bytes.push(...new TextEncoder().encode(value[i]!));
    }
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** gRPC status codes by number (grpc/doc/statuscodes.md). */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export const GrpcStatus = { OK: 0, INVALID_ARGUMENT: 3, UNIMPLEMENTED: 12 } as const;
