// HTTP transport to etcd's v3 JSON gateway: keep-alive agents, TLS with client certificates,
// several endpoints with failover, unary JSON calls and newline-delimited JSON streams (watch).
//
// Failover rule: a request moves to the next endpoint only when it certainly did not reach etcd
// (refused, unreachable, TLS handshake rejected) or when it is a read. A write that failed after
// being sent has an unknown outcome and is reported as Unavailable rather than silently retried
// elsewhere, where a second attempt could misreport (e.g. a create that in fact succeeded).
// The endpoint that answered last is preferred next time.

import http from 'node:http';
import https from 'node:https';
import { DatastoreError, type DatastoreErrorCode } from './datastore.js';

export interface EtcdTlsOptions {
  /** PEM: CA bundle to verify etcd's server certificate. */
  ca?: string | Buffer;
  /** PEM: client certificate and key, for etcd's --client-cert-auth. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface EtcdTransportOptions extends EtcdTlsOptions {
  endpoints: readonly string[];
  /** Per-request deadline for unary calls (default 10 s). */
  requestTimeoutMs?: number;
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

interface Endpoint {
  url: URL;
  agent: http.Agent;
}

export interface StreamHandle {
  /** Settles when the stream ends: resolves on a clean end, rejects on a transport error. */
  readonly done: Promise<void>;
  abort(): void;
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
    this.endpoints = opts.endpoints.map((text) => {
      const url = parseEndpoint(text);
      const agent =
        url.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, ...tlsFields(opts) })
          : new http.Agent({ keepAlive: true });
      return { url, agent };
    });
  }

  get endpointList(): string[] {
    return this.endpoints.map((e) => e.url.origin);
  }

  /** POST a JSON request; `idempotent` requests (reads) may be retried on another endpoint. */
  async call<T>(path: string, body: unknown, idempotent: boolean): Promise<T> {
    const payload = JSON.stringify(body);
    const failures: string[] = [];
    let last: EtcdUnavailableError | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
      const ep = this.endpoints[index]!;
      try {
        const result = await this.once<T>(ep, path, payload, idempotent);
        this.preferred = index;
        return result;
      } catch (err) {
        // etcd answered but cannot serve (no leader, shutting down): a read may ask another member.
        if (idempotent && err instanceof DatastoreError && err.code === 'Unavailable' && i + 1 < this.endpoints.length) {
          failures.push(err.message);
          continue;
        }
        if (!(err instanceof TransportFailure)) throw err;
        last = new EtcdUnavailableError(ep.url.origin, describeFailure(ep.url.origin, path, err.cause, this.hasClientCert), err.cause);
        failures.push(last.message);
        if (err.maybeApplied && !idempotent) {
          throw new EtcdUnavailableError(ep.url.origin, `${last.message}; the write may or may not have been applied`, err.cause);
        }
      }
    }
    if (failures.length === 1) throw last!;
    throw new EtcdUnavailableError(last!.endpoint, `no etcd endpoint answered: ${failures.join('; ')}`, last!.cause);
  }

  /**
   * Open a streaming POST (the gateway's server-streaming RPCs) on the preferred endpoint. Each
   * `{"result":...}` line goes to onResult; a `{"error":...}` line ends the stream with an error.
   * A connection failure moves the preference on, so the caller's retry tries the next endpoint.
   */
  stream(path: string, body: unknown, onResult: (result: unknown) => void): StreamHandle {
    const index = this.preferred;
    const ep = this.endpoints[index]!;
    let req: http.ClientRequest | undefined;
    let aborted = false;
    const done = new Promise<void>((resolve, reject) => {
      const fail = (cause: unknown) => {
        if (aborted) return resolve();
        this.preferred = (index + 1) % this.endpoints.length;
        reject(new EtcdUnavailableError(ep.url.origin, describeFailure(ep.url.origin, path, cause, this.hasClientCert), cause));
      };
      const payload = JSON.stringify(body);
      req = request(ep, path, payload);
      // Until the stream's headers arrive, the unary deadline applies (an unreachable host must
      // not hang a watch forever); afterwards the stream may stay quiet for as long as it likes.
      const r = req;
      const timer = setTimeout(() => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        if (res.statusCode !== 200) {
          collect(res).then((text) => reject(gatewayError(ep.url.origin, path, res.statusCode ?? 0, text)), fail);
          return;
        }
        res.setEncoding('utf8');
        let buffered = '';
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '' || aborted) continue;
            let msg: { result?: unknown; error?: { message?: string; grpc_code?: number; http_code?: number } };
            try {
              msg = JSON.parse(line) as typeof msg;
            } catch (err) {
              res.destroy();
              return fail(new Error(`unparsable line from ${path}: ${line.slice(0, 200)}`, { cause: err }));
            }
            if (msg.error) {
              res.destroy();
              return fail(new Error(`${path} stream error: ${msg.error.message ?? JSON.stringify(msg.error)}`));
            }
            onResult(msg.result);
          }
        });
        res.on('end', () => (aborted ? resolve() : fail(new Error(`${path} stream ended by the server`))));
        res.on('error', fail);
        res.on('close', () => (aborted ? resolve() : fail(new Error(`${path} stream closed`))));
      });
      // The gateway starts streaming only once the request body is complete.
      req.end(payload);
    });
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      },
    };
  }

  close(): void {
    for (const ep of this.endpoints) ep.agent.destroy();
  }

  private once<T>(ep: Endpoint, path: string, payload: string, idempotent: boolean, retried = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(ep, path, payload);
      let sent = false;
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('finish', () => (sent = true));
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // A kept-alive socket the server had already closed: the request never reached etcd
        // (Node's documented retry case), so one fresh attempt is safe even for writes.
        if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) {
          this.once<T>(ep, path, payload, idempotent, true).then(resolve, reject);
          return;
        }
        reject(new TransportFailure(err, sent && !notDelivered(err)));
      });
      req.on('response', (res) => {
        collect(res).then(
          (text) => {
            clearTimeout(timer);
            if (res.statusCode !== 200) return reject(gatewayError(ep.url.origin, path, res.statusCode ?? 0, text));
            try {
              resolve(JSON.parse(text) as T);
            } catch (err) {
              reject(new EtcdUnavailableError(ep.url.origin, `etcd at ${ep.url.origin} sent unparsable JSON for ${path}: ${text.slice(0, 200)}`, err));
            }
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(new TransportFailure(err, true));
          },
        );
      });
      req.end(payload);
    });
  }
}

class TransportFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly maybeApplied: boolean,
  ) {
    super('transport failure');
  }
}

function request(ep: Endpoint, path: string, payload: string): http.ClientRequest {
  const options: http.RequestOptions = {
    method: 'POST',
    host: ep.url.hostname.replace(/^\[|\]$/g, ''),
    port: ep.url.port || (ep.url.protocol === 'https:' ? 443 : 80),
    path,
    agent: ep.agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
  };
  return ep.url.protocol === 'https:' ? https.request(options) : http.request(options);
}

function collect(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
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

function tlsFields(opts: EtcdTlsOptions): https.AgentOptions {
  const o: https.AgentOptions = {};
  if (opts.ca !== undefined) o.ca = opts.ca;
  if (opts.cert !== undefined) o.cert = opts.cert;
  if (opts.key !== undefined) o.key = opts.key;
  return o;
}

/** Errors raised before the request could reach etcd's request handling. */
function notDelivered(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code);
}

function describeFailure(origin: string, path: string, cause: unknown, hasClientCert: boolean): string {
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
  if (code === 'ECONNRESET' && origin.startsWith('http:')) {
    return `etcd at ${origin} reset the connection during ${path} (if etcd serves TLS, use an https:// endpoint)`;
  }
  return `etcd at ${origin} failed during ${path}: ${code ? code + ' ' : ''}${msg}`;
}

/** A non-200 answer from the gateway: `{"error","code","message"}` with a gRPC status code. */
export function gatewayError(origin: string, path: string, status: number, text: string): DatastoreError {
  let message = text.trim();
  let grpcCode = -1;
  try {
    const body = JSON.parse(text) as { message?: string; error?: string; code?: number };
    message = body.message ?? body.error ?? message;
    grpcCode = body.code ?? -1;
  } catch {
    // not JSON: keep the raw text
  }
  const full = `etcd at ${origin} failed ${path} (HTTP ${status}, gRPC code ${grpcCode}): ${message}`;
  let code: DatastoreErrorCode;
  if (/compacted/.test(message)) code = 'Compacted';
  else if (/too large|too many operations|larger than max/.test(message)) code = 'TooLarge';
  else if (grpcCode === 3 || status === 404) code = 'Invalid';
  else return new EtcdUnavailableError(origin, full);
  return new DatastoreError(code, full);
}
