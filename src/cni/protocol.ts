// The shim ↔ agent wire protocol "TABBY-CNI/1" (the C shim's header, src/cni/shim/shim.c, is
// the normative description; this is the agent's side and the TypeScript forwarder's).
//
// Frames are a 4-byte big-endian length and that many bytes, at most 16 MiB. A request is three
// frames: "TABBY-CNI/1 <plugin>", the CNI_* environment as NUL-terminated "NAME=value" entries,
// and stdin. A response is three frames: "TABBY-CNI/1 <exit code>", stdout, stderr.
// Decoding is incremental (FrameReader) because a unix socket delivers bytes in arbitrary chunks.

export const PROTOCOL = 'TABBY-CNI/1';
export const MAX_FRAME = 16 * 1024 * 1024;

export interface CniRequest {
  /** The name the plugin executable was run as, e.g. "tabby" or "tabby-ipam". */
  readonly plugin: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Buffer;
}

export interface CniReply {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code = 'Protocol';
}

export function encodeFrames(frames: readonly (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const body = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
    if (body.length > MAX_FRAME) throw new ProtocolError(`frame of ${body.length} bytes exceeds the ${MAX_FRAME}-byte limit`);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length, 0);
    parts.push(len, body);
  }
  return Buffer.concat(parts);
}

/** Accumulates socket chunks and yields complete frames in order. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  readonly frames: Buffer[] = [];

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len > MAX_FRAME) throw new ProtocolError(`peer announced a frame of ${len} bytes; the limit is ${MAX_FRAME}`);
      if (buf.length < 4 + len) break;
      this.frames.push(buf.subarray(4, 4 + len));
      buf = buf.subarray(4 + len);
    }
    this.pending = buf.length > 0 ? [buf] : [];
    this.pendingBytes = buf.length;
  }

  /** Bytes received that do not yet form a whole frame. */
  get partialBytes(): number {
    return this.pendingBytes;
  }
}

export function encodeRequest(req: CniRequest): Buffer {
  const env = Object.entries(req.env)
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');
  return encodeFrames([`${PROTOCOL} ${req.plugin}`, env, req.stdin]);
}

export function decodeRequest(frames: readonly Buffer[]): CniRequest {
  if (frames.length !== 3) throw new ProtocolError(`a request has 3 frames, got ${frames.length}`);
  const header = frames[0]!.toString('utf8');
  if (!header.startsWith(`${PROTOCOL} `)) {
    throw new ProtocolError(`request header ${JSON.stringify(header.slice(0, 40))} does not start with "${PROTOCOL} "`);
  }
  const env: Record<string, string> = {};
  for (const entry of frames[1]!.toString('utf8').split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`environment entry ${JSON.stringify(entry.slice(0, 40))} is not NAME=value`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { plugin: header.slice(PROTOCOL.length + 1), env, stdin: frames[2]! };
}

export function encodeReply(reply: CniReply): Buffer {
  return encodeFrames([`${PROTOCOL} ${reply.exitCode}`, reply.stdout, reply.stderr]);
}

export function decodeReply(frames: readonly Buffer[]): CniReply {
  if (frames.length !== 3) throw new ProtocolError(`a reply has 3 frames, got ${frames.length}`);
  const header = frames[0]!.toString('utf8');
  const m = /^TABBY-CNI\/1 (\d{1,3})$/.exec(header);
  if (!m || Number(m[1]) > 255) throw new ProtocolError(`reply header ${JSON.stringify(header.slice(0, 40))} is not "${PROTOCOL} <exit code>"`);
  return { exitCode: Number(m[1]), stdout: frames[1]!.toString('utf8'), stderr: frames[2]!.toString('utf8') };
}
