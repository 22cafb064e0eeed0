// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) through tabby-sockopt (src/bgp/sockopt, C), because
// Node.js cannot set TCP_MD5SIG, IP_TTL on TCP or IP_MINTTL.
//
// - A socket the speaker owns (the listener, an accepted connection) is handed to
//   `tabby-sockopt apply` as the child's fd 3: the child shares the open file description, so
//   its setsockopt lands on the speaker's own socket. Keys go on stdin as hex, never in argv.
// - An outgoing session must have its options before connect(), on a socket Node never sees:
//   `tabby-sockopt connect` makes it, connects, and relays bytes between it and a stream socket
//   pair whose other end (child.stdio[3]) is the session's transport. Connect failures arrive as
//   the transport closing, with the reason from the helper's stderr; the helper dies with us
//   (PR_SET_PDEATHSIG) and when its transport end closes.
//
// Invariant: no key text leaves this module except on a helper's stdin.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { type IPAddr, formatIP, tryParseIP } from '../../ip/index.js';
import type { Password } from '../config.js';

export class SockoptError extends Error {
  override readonly name = 'SockoptError';
  readonly code = 'SockoptError';
  /** The helper's exit status; 3 = a GTSM check refused the connection (not a failure). */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** dist/bin/tabby-sockopt as seen from the running entry point (bundle in dist/bin, or dist/src/…). */
export function findSockoptBinary(entry: string = process.argv[1] ?? ''): string | undefined {
  const here = dirname(entry);
  for (const dir of [here, join(here, '..', '..', 'bin'), join(here, '..', 'bin'), join(here, '..', '..', '..', 'bin')]) {
    const p = join(dir, 'tabby-sockopt');
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function requireSockoptBinary(binary?: string): string {
  const b = binary ?? findSockoptBinary();
  if (b === undefined) throw new SockoptError('tabby-sockopt (needed for BGP peers with password or ttlSecurity) is not beside the entry point (dist/bin): run make build');
  return b;
}

/** The minimum TTL GTSM accepts from a peer `hops` hops away (RFC 5082 §3: 255 - hops + 1). */
export const minTtlFor = (hops: number): number => 256 - hops;

// ---- options on sockets the speaker owns ---------------------------------------------------

/** One line of `tabby-sockopt apply`'s stdin. */
export type SockoptCommand =
  | { readonly kind: 'md5'; readonly peer: IPAddr; readonly password: Password | undefined }
  | { readonly kind: 'ttl'; readonly value: number }
  | { readonly kind: 'minttl'; readonly value: number }
  /** On a listener: keep each accepted connection's SYN, for `synttl`. */
  | { readonly kind: 'savesyn' }
  /** On an accepted connection: fail when its SYN came with a TTL below `value`. */
  | { readonly kind: 'synttl'; readonly value: number };

const commandLine = (c: SockoptCommand): string =>
  c.kind === 'md5' ? `md5 ${formatIP(c.peer)} ${c.password ? Buffer.from(c.password.reveal(), 'utf8').toString('hex') : '-'}`
    : c.kind === 'savesyn' ? 'savesyn' : `${c.kind} ${c.value}`;

/** Applies `commands` to the socket whose file descriptor is `fd` in this process. */
export function applySocketOptions(binary: string, fd: number, commands: readonly SockoptCommand[]): Promise<void> {
  if (commands.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['apply'], { stdio: ['pipe', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    child.stdin!.on('error', () => {});
    child.stdin!.end(commands.map(commandLine).join('\n') + '\n');
    child.on('error', (e) => reject(new SockoptError(`cannot run ${binary}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new SockoptError(stderr.trim().replace(/^tabby-sockopt: /, '') || `${binary} apply ended with ${signal ?? `status ${code}`}`, code ?? undefined));
    });
  });
}

/**
 * The file descriptor of a listening or connected TCP socket of this process. Node gives no
 * public accessor: the handle's `fd` (libuv's, on Linux) is used when present, else the socket is
 * found by its inode through /proc/net/tcp{,6} and /proc/self/fd, so a Node without `_handle.fd`
 * still works; a clear error when neither finds it.
 */
export function socketFd(s: Server | Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) return fd;
  const found = socketFdFromProc(s);
  if (found === undefined) throw new SockoptError('cannot find the file descriptor of the BGP socket (neither the handle nor /proc/self/fd shows it)');
  return found;
}

/** /proc lookup of socketFd: local (and, for a connection, remote) address and port → inode → fd. */
export function socketFdFromProc(s: Server | Socket): number | undefined {
  const isServer = typeof (s as Server).listen === 'function';
  const local = isServer ? (s as Server).address() : { address: (s as Socket).localAddress ?? '', port: (s as Socket).localPort ?? 0 };
  if (!local || typeof local === 'string') return undefined;
  const remote = isServer ? undefined : { address: (s as Socket).remoteAddress ?? '', port: (s as Socket).remotePort ?? 0 };
  const want = (text: string, port: number): string | undefined => {
    const a = tryParseIP(text.replace(/^::ffff:(?=\d+\.)/, ''));
    if (!a) return undefined;
    return `${a.family}/${a.value}/${port}`;
  };
  const localKey = want(local.address, local.port);
  const remoteKey = remote ? want(remote.address, remote.port) : undefined;
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [l, r, st, inode] = [f[1]!, f[2]!, f[3]!, f[9]!];
      if (isServer !== (st === '0A')) continue;
      if (procAddrKey(l) !== localKey && !(isServer && procAddrKey(l, true) === localKey)) continue;
      if (remoteKey !== undefined && procAddrKey(r) !== remoteKey) continue;
      inodes.add(inode);
    }
  }
  if (inodes.size !== 1) return undefined;
  const target = `socket:[${[...inodes][0]}]`;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) return Number(name);
    } catch {
      /* closed meanwhile */
    }
  }
  return undefined;
}

/** "0100007F:0CFA" / 32-hex-digit IPv6 → "family/value/port" (IPv4-mapped IPv6 as IPv4). */
function procAddrKey(field: string, anyAsUnspecified = false): string | undefined {
  const [hex, portHex] = field.split(':');
  if (!hex || !portHex) return undefined;
  const port = parseInt(portHex, 16);
  const words = hex.match(/.{8}/g) ?? [];
  // /proc prints each 32-bit word in host (little-endian) order.
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return `4/${BigInt(bytes.reduce((n, b) => n * 256 + b, 0))}/${port}`;
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (isMapped) return `4/${BigInt(bytes.slice(12).reduce((n, b) => n * 256 + b, 0))}/${port}`;
  const v = bytes.reduce((n, b) => n * 256n + BigInt(b), 0n);
  if (anyAsUnspecified && v === 0n) return `6/0/${port}`;
  return `6/${v}/${port}`;
}

// ---- outgoing connections through the relay ---------------------------------------------------

export interface RelayOptions {
  readonly peer: IPAddr;
  readonly port: number;
  readonly source?: IPAddr;
  readonly password?: Password;
  /** GTSM: the peer's distance in hops; we send with TTL 255 and accept 256 - hops or more. */
  readonly ttlSecurityHops?: number;
}

export interface RelayConnection {
  /** The session's transport: bytes written here go to the peer, the peer's bytes come out. */
  readonly socket: Socket;
  /** Resolves with our address once the TCP connection is up; rejects with the reason it failed. */
  readonly connected: Promise<{ localAddress: string; localPort: number }>;
  readonly child: ChildProcess;
}

export function connectThroughRelay(binary: string, o: RelayOptions): RelayConnection {
  const args = ['connect', '--peer', formatIP(o.peer), '--port', String(o.port)];
  if (o.source) args.push('--source', formatIP(o.source));
  if (o.ttlSecurityHops !== undefined) args.push('--ttl', '255', '--min-ttl', String(minTtlFor(o.ttlSecurityHops)));
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const socket = child.stdio[3] as Socket;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  child.stdin!.on('error', () => {});
  child.stdin!.end(o.password ? `${Buffer.from(o.password.reveal(), 'utf8').toString('hex')}\n` : '\n');
  // The transport closing ends the relay's attempt or session; make sure it is gone.
  socket.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  const connected = new Promise<{ localAddress: string; localPort: number }>((resolve, reject) => {
    let out = '';
    let done = false;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /^connected (\S+) (\d+)\n/.exec(out);
      if (m && !done) {
        done = true;
        resolve({ localAddress: m[1]!, localPort: Number(m[2]) });
      }
    });
    child.on('error', (e) => {
      if (!done) (done = true), reject(new SockoptError(`cannot run ${binary}: ${e.message}`));
      socket.destroy();
    });
    child.on('close', (code, signal) => {
      if (done) return;
      done = true;
      reject(new SockoptError(stderr.trim().replace(/^tabby-sockopt: /, '') || `the connection helper ended with ${signal ?? `status ${code}`}`));
    });
  });
  connected.catch(() => {});
  return { socket, connected, child };
}
