// gRPC transport to etcd v3 over node:http2: one HTTP/2 session per endpoint (cleartext with
// prior knowledge for http://, TLS with ALPN h2 and client certificates for https://), unary
// calls, and one bidirectional stream per watch. Messages are opaque bytes here (etcd-proto.ts
// encodes them); framing and header values come from grpc-wire.ts.
//
// Failover rule: a call moves to the next endpoint only when it certainly did not reach etcd —
// the connection was refused or never established, TLS rejected us, or etcd refused the stream
// (RST_STREAM REFUSED_STREAM, or a GOAWAY whose last-stream-id is below ours) — or when it is a
// read. A write that failed after being sent has an unknown outcome and is reported as
// Unavailable ("may or may not have been applied") rather than silently retried elsewhere, where
// a second attempt could misreport (e.g. a create that in fact succeeded).
// The endpoint that answered last is preferred next time.
//
// Sessions: a session that closes, errors or receives GOAWAY is dropped and the next call opens a
// fresh one. While a session carries streams it is PINGed every keepaliveIntervalMs; no ack
// within keepaliveTimeoutMs destroys it, so a silently dead path fails its calls and watches
// instead of hanging them. (etcd's server treats PINGs on an idle connection as abuse, so idle
// sessions are not pinged.) Idle sessions do not keep the process alive. Flow-control windows
// are 16 MiB, so multi-MB list pages stream without waiting on window updates.

import http2 from 'node:http2';
import { DatastoreError, type DatastoreErrorCode } from './datastore.js';
import { Deframer, GRPC_STATUS_NAMES, GrpcStatus, decodeGrpcMessage, frame, grpcTimeout } from './grpc-wire.js';

export interface EtcdTlsOptions {
  /** PEM: CA bundle to verify etcd's server certificate. */
  ca?: string | Buffer;
  /** PEM: client certificate and key, for etcd's --client-cert-auth. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface EtcdTransportOptions extends EtcdTlsOptions {
  endpoints: readonly string[];
  /** Per-call deadline for unary calls, and for a watch until etcd answers it (default 10 s). */
  requestTimeoutMs?: number;
  /** PING period on a session with streams open (default 10 s). */
  keepaliveIntervalMs?: number;
  /** How long a PING may go unanswered before the session is declared dead (default 5 s). */
  keepaliveTimeoutMs?: number;
}

/** etcd could not be reached or did not answer: carries the endpoint and the cause. */
export class EtcdUnavailableError extends DatastoreError {
  constructor(
    readonly endpoint: string,
    message: string,
    cause?: unknown,
  ) {
    super('Unavailable', message, undefined, undefined, { cause });
  }
}

export interface StreamHandle {
  /** Settles when the stream ends: resolves when aborted, rejects on any other end. */
  readonly done: Promise<void>;
  abort(): void;
}

const WINDOW_BYTES = 16 * 1024 * 1024;
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** One HTTP/2 session to an endpoint and what we learned about it. */
interface Connection {
  readonly session: http2.ClientHttp2Session;
  /** The session was established (TLS handshake done): requests after this were sent. */
  connected: boolean;
  /** Set once the session failed; the most specific cause for its streams' failures. */
  error?: Error;
  /** last-stream-id of a GOAWAY: streams above it were never processed. */
  goawayLastStreamId?: number;
  active: number;
}

class Endpoint {
  readonly origin: string;
  private conn: Connection | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly url: URL,
    private readonly opts: EtcdTransportOptions,
  ) {
    this.origin = url.origin;
  }

  /** The live session, or a new one. */
  connection(): Connection {
    const c = this.conn;
    if (c && !c.session.closed && !c.session.destroyed && c.goawayLastStreamId === undefined) return c;
    return (this.conn = this.connect());
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    this.conn?.session.destroy();
    this.conn = undefined;
  }

  /** Count a stream in or out: sessions with streams are referenced and pinged. */
  track(c: Connection, delta: 1 | -1): void {
    c.active += delta;
    if (c.session.destroyed) return;
    if (delta === 1 && c.active === 1) c.session.ref();
    if (delta === -1 && c.active === 0) c.session.unref();
  }

  private connect(): Connection {
    const o = this.opts;
    const tls: http2.SecureClientSessionOptions = {};
    if (this.url.protocol === 'https:') {
      if (o.ca !== undefined) tls.ca = o.ca;
      if (o.cert !== undefined) tls.cert = o.cert;
      if (o.key !== undefined) tls.key = o.key;
    }
    const session = http2.connect(this.url.origin, {
      ...tls,
      settings: { initialWindowSize: WINDOW_BYTES, enablePush: false },
      maxSessionMemory: 64,
    });
    const c: Connection = { session, connected: false, active: 0 };
    session.unref();
    const drop = () => {
      if (this.conn === c) this.conn = undefined;
    };
    session.on('connect', () => {
      c.connected = true;
      session.setLocalWindowSize(WINDOW_BYTES);
    });
    session.on('error', (err: Error) => {
      c.error ??= err;
      drop();
    });
    session.on('goaway', (_code: number, lastStreamID: number) => {
      c.goawayLastStreamId = lastStreamID;
      drop();
    });
    const interval = o.keepaliveIntervalMs ?? 10_000;
    const timeout = o.keepaliveTimeoutMs ?? 5_000;
    let awaiting = false;
    const pinger = setInterval(() => {
      if (awaiting || !c.connected || c.active === 0 || session.destroyed) return;
      awaiting = true;
      const dead = setTimeout(() => {
        const err = new Error(`etcd at ${this.origin} did not answer an HTTP/2 PING within ${timeout} ms; the connection is dead`);
        c.error ??= err;
        session.destroy(err);
      }, timeout);
      dead.unref();
      const sent = session.ping(() => {
        clearTimeout(dead);
        awaiting = false;
      });
      if (!sent) {
        clearTimeout(dead);
        awaiting = false;
      }
    }, interval);
    pinger.unref();
    this.timers.add(pinger);
    session.on('close', () => {
      clearInterval(pinger);
      this.timers.delete(pinger);
      drop();
    });
    return c;
  }
}

/** How a call's stream ended, before interpretation. */
interface Outcome {
  headers?: http2.IncomingHttpHeaders;
  trailers?: http2.IncomingHttpHeaders;
  body: Uint8Array[];
  error?: Error;
  timedOut: boolean;
}

export class EtcdTransport {
  private readonly endpoints: Endpoint[];
  private preferred = 0;
  private readonly timeoutMs: number;
  private readonly hasClientCert: boolean;

  constructor(opts: EtcdTransportOptions) {
    if (opts.endpoints.length === 0) throw new DatastoreError('Invalid', 'no etcd endpoints given; expected e.g. http://127.0.0.1:2379');
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.hasClientCert = opts.cert !== undefined;
    this.endpoints = opts.endpoints.map((text) => new Endpoint(parseEndpoint(text), opts));
  }

  get endpointList(): string[] {
    return this.endpoints.map((e) => e.origin);
  }

  /**
   * One unary call; `idempotent` calls (reads) may be retried on another endpoint. `request` is
   * the message already framed (grpc-wire `frame`, or a codec's `frame`), so it is sent as it is.
   */
  async call(method: string, request: Uint8Array, idempotent: boolean): Promise<Uint8Array> {
    const failures: string[] = [];
    let last: EtcdUnavailableError | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
      const ep = this.endpoints[index]!;
      try {
        const result = await this.once(ep, method, request);
        this.preferred = index;
        return result;
      } catch (err) {
        // etcd answered but cannot serve (no leader, shutting down): a read may ask another member.
        if (idempotent && err instanceof DatastoreError && err.code === 'Unavailable' && i + 1 < this.endpoints.length) {
          failures.push(err.message);
          continue;
        }
        if (!(err instanceof TransportFailure)) throw err;
        last = new EtcdUnavailableError(ep.origin, describeFailure(ep.origin, method, err.cause, this.hasClientCert), err.cause);
        failures.push(last.message);
        if (err.maybeApplied && !idempotent) {
          throw new EtcdUnavailableError(ep.origin, `${last.message}; the write may or may not have been applied`, err.cause);
        }
      }
    }
    if (failures.length === 1) throw last!;
    throw new EtcdUnavailableError(last!.endpoint, `no etcd endpoint answered: ${failures.join('; ')}`, last!.cause);
  }

  /**
   * Open a bidirectional stream on the preferred endpoint, send `first`, and hand every message
   * etcd sends to onMessage. Until the first message arrives the unary deadline applies (an
   * unreachable etcd must not hang a watch forever); afterwards the stream may stay quiet as long
   * as it likes — the session's PINGs notice a dead path. A failure moves the preference on, so
   * the caller's retry tries the next endpoint.
   */
  stream(method: string, first: Uint8Array, onMessage: (message: Uint8Array) => void): StreamHandle {
    const index = this.preferred;
    const ep = this.endpoints[index]!;
    let aborted = false;
    let abort: () => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      const fail = (err: DatastoreError) => {
        this.preferred = (index + 1) % this.endpoints.length;
        reject(err);
      };
      const unavailable = (cause: unknown) => new EtcdUnavailableError(ep.origin, describeFailure(ep.origin, method, cause, this.hasClientCert), cause);
      let conn: Connection;
      let s: http2.ClientHttp2Stream;
      try {
        conn = ep.connection();
        s = conn.session.request(requestHeaders(method), { endStream: false });
      } catch (err) {
        fail(unavailable(err));
        return;
      }
      ep.track(conn, 1);
      const deframer = new Deframer();
      const outcome: Outcome = { body: [], timedOut: false };
      let answered = false;
      const timer = setTimeout(() => {
        outcome.timedOut = true;
        s.close(NGHTTP2_CANCEL);
      }, this.timeoutMs);
      abort = () => {
        aborted = true;
        s.close(NGHTTP2_CANCEL);
      };
      s.on('response', (h) => (outcome.headers = h));
      s.on('trailers', (t) => (outcome.trailers = t));
      s.on('error', (err: Error) => (outcome.error ??= err));
      s.on('data', (chunk: Buffer) => {
        if (aborted) return;
        try {
          for (const message of deframer.push(chunk)) {
            if (!answered) {
              answered = true;
              clearTimeout(timer);
            }
            onMessage(message);
            if (aborted) return;
          }
        } catch (err) {
          outcome.error ??= err as Error;
          s.close(NGHTTP2_CANCEL);
        }
      });
      s.on('close', () => {
        clearTimeout(timer);
        ep.track(conn, -1);
        if (aborted) return resolve();
        const status = grpcStatusOf(outcome);
        if (status !== undefined && status.code !== GrpcStatus.OK) return fail(grpcError(ep.origin, method, status.code, status.message));
        if (status !== undefined) return fail(new EtcdUnavailableError(ep.origin, `etcd at ${ep.origin} ended the ${method} stream`));
        if (outcome.timedOut) return fail(unavailable(new Error(`no answer within ${this.timeoutMs} ms`)));
        const httpStatus = outcome.headers?.[':status'] === undefined ? undefined : Number(outcome.headers[':status']);
        if (httpStatus !== undefined && httpStatus !== 200) return fail(httpError(ep.origin, method, httpStatus));
        fail(unavailable(failureCause(conn, s, outcome.error)));
      });
      // The request side stays open (no end()): it is how further requests would reach etcd.
      s.write(frame(first));
    });
    return {
      done,
      abort: () => {
        aborted = true;
        abort();
      },
    };
  }

  close(): void {
    for (const ep of this.endpoints) ep.close();
  }

  private once(ep: Endpoint, method: string, request: Uint8Array): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      let conn: Connection;
      let s: http2.ClientHttp2Stream;
      try {
        conn = ep.connection();
        s = conn.session.request(requestHeaders(method, this.timeoutMs), { endStream: false });
      } catch (err) {
        // The session was already closing: nothing was sent.
        reject(new TransportFailure(err, false));
        return;
      }
      ep.track(conn, 1);
      const outcome: Outcome = { body: [], timedOut: false };
      const timer = setTimeout(() => {
        outcome.timedOut = true;
        s.close(NGHTTP2_CANCEL);
      }, this.timeoutMs);
      s.on('response', (h) => (outcome.headers = h));
      s.on('trailers', (t) => (outcome.trailers = t));
      s.on('data', (chunk: Buffer) => outcome.body.push(chunk));
      s.on('error', (err: Error) => (outcome.error ??= err));
      s.on('close', () => {
        clearTimeout(timer);
        ep.track(conn, -1);
        const status = grpcStatusOf(outcome);
        if (status === undefined) {
          const httpStatus = outcome.headers?.[':status'] === undefined ? undefined : Number(outcome.headers[':status']);
          if (httpStatus !== undefined && httpStatus !== 200) return reject(httpError(ep.origin, method, httpStatus));
          if (outcome.timedOut) return reject(new TransportFailure(new Error(`no answer within ${this.timeoutMs} ms`), conn.connected));
          const cause = failureCause(conn, s, outcome.error);
          return reject(new TransportFailure(cause, mayHaveReached(conn, s, cause)));
        }
        if (status.code !== GrpcStatus.OK) return reject(grpcError(ep.origin, method, status.code, status.message));
        let messages: Uint8Array[];
        try {
          const deframer = new Deframer();
          messages = outcome.body.flatMap((chunk) => deframer.push(chunk));
          if (messages.length !== 1 || deframer.pending !== 0) throw new Error(`expected one message, got ${messages.length} and ${deframer.pending} stray bytes`);
        } catch (err) {
          return reject(new EtcdUnavailableError(ep.origin, `etcd at ${ep.origin} sent a malformed answer to ${method}: ${(err as Error).message}`, err));
        }
        resolve(messages[0]!);
      });
      s.end(request);
    });
  }
}

/** A call that failed below gRPC: the connection or the stream broke. */
class TransportFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly maybeApplied: boolean,
  ) {
    super('transport failure');
  }
}

function requestHeaders(method: string, timeoutMs?: number): http2.OutgoingHttpHeaders {
  const h: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' };
  if (timeoutMs !== undefined) h['grpc-timeout'] = grpcTimeout(timeoutMs);
  return h;
}

/** grpc-status from the trailers, or from the headers of a trailers-only response. */
function grpcStatusOf(o: Outcome): { code: number; message: string } | undefined {
  const from = o.trailers?.['grpc-status'] !== undefined ? o.trailers : o.headers?.['grpc-status'] !== undefined ? o.headers : undefined;
  if (!from) return undefined;
  const message = from['grpc-message'];
  return { code: Number(from['grpc-status']), message: decodeGrpcMessage(typeof message === 'string' ? message : '') };
}

/** The most telling cause: the session's own error (refused, TLS) beats the stream's echo of it. */
function failureCause(conn: Connection, s: http2.ClientHttp2Stream, streamError: Error | undefined): unknown {
  if (conn.error) return conn.error;
  let err: unknown = streamError;
  while (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_HTTP2_STREAM_CANCEL' && err.cause) err = err.cause;
  if (err) return err;
  if (s.rstCode === NGHTTP2_REFUSED_STREAM) return new Error('etcd refused the stream (REFUSED_STREAM)');
  return new Error(`stream closed without a gRPC status (HTTP/2 code ${s.rstCode ?? 'none'})`);
}

/** Whether a failed call's request may have reached etcd's request handling. */
function mayHaveReached(conn: Connection, s: http2.ClientHttp2Stream, cause: unknown): boolean {
  if (!conn.connected || s.id === undefined) return false;
  if (s.rstCode === NGHTTP2_REFUSED_STREAM) return false;
  if (conn.goawayLastStreamId !== undefined && s.id > conn.goawayLastStreamId) return false;
  return !notDelivered(cause);
}

export function parseEndpoint(text: string): URL {
  const bad = () =>
    new DatastoreError('Invalid', `etcd endpoint "${text}" must be an http:// or https:// URL with host and port only, e.g. http://127.0.0.1:2379 or https://10.0.0.1:2379`);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw bad();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.pathname.replace(/\/$/, '') !== '' || url.search || url.hash) throw bad();
  return url;
}

/** Errors raised before the request could reach etcd's request handling. */
function notDelivered(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  return /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code);
}

function describeFailure(origin: string, method: string, cause: unknown, hasClientCert: boolean): string {
  const err = cause as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  const msg = err?.message ?? String(cause);
  const alert = /alert (certificate required|bad certificate|unknown ca|certificate unknown)/i.exec(msg);
  if (alert || /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)) {
    const given = hasClientCert ? 'the client certificate we sent' : 'the connection: no client certificate was configured';
    return `etcd at ${origin} rejected ${given} (TLS alert "${alert?.[1] ?? code}"); it requires a client certificate signed by a CA it trusts: set ETCD_CERT_FILE and ETCD_KEY_FILE`;
  }
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/.test(code)) {
    return `could not verify etcd's server certificate at ${origin} (${code}): set ETCD_CA_CERT_FILE to the CA that signed it`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `etcd's server certificate does not name ${origin}: ${msg}`;
  if (code === 'ECONNREFUSED') return `etcd at ${origin} refused the connection (is etcd running and listening there?)`;
  if ((code === 'ECONNRESET' || code === 'ERR_HTTP2_ERROR' || code === 'ERR_HTTP2_SESSION_ERROR') && origin.startsWith('http:')) {
    return `etcd at ${origin} broke the connection during ${method}: ${code} ${msg} (if etcd serves TLS, use an https:// endpoint)`;
  }
  return `etcd at ${origin} failed during ${method}: ${code ? code + ' ' : ''}${msg}`;
}

/** A gRPC status other than OK from etcd, as a Datastore error. */
export function grpcError(origin: string, method: string, status: number, message: string): DatastoreError {
  const full = `etcd at ${origin} failed ${method} (gRPC status ${status} ${GRPC_STATUS_NAMES[status] ?? 'UNKNOWN'}): ${message}`;
  let code: DatastoreErrorCode;
  if (/compacted/.test(message)) code = 'Compacted';
  else if (/too large|too many operations|larger than max/.test(message)) code = 'TooLarge';
  else if (status === GrpcStatus.INVALID_ARGUMENT || status === GrpcStatus.UNIMPLEMENTED) code = 'Invalid';
  else return new EtcdUnavailableError(origin, full);
  return new DatastoreError(code, full);
}

/** An HTTP answer without gRPC status: not etcd's gRPC service (or a proxy in the way). */
function httpError(origin: string, method: string, status: number): DatastoreError {
  const full = `${origin} answered ${method} with HTTP ${status} and no gRPC status; is it an etcd v3 client URL?`;
  return status === 404 ? new DatastoreError('Invalid', full) : new EtcdUnavailableError(origin, full);
}
