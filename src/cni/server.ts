// The CNI socket (default /run/tabby/cni.sock): accepts shim connections, decodes one
// TABBY-CNI/1 request per connection, hands it to the CniHandler and writes the reply.
//
// Invariants: the socket file is created fresh (a stale one from a crashed agent is removed, but
// a live agent's socket is never stolen), readable and writable by root only, and removed on
// close. A malformed request gets a CNI error reply (code 6), not a dropped connection, so the
// runtime sees why.

import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../util/log.js';
import { CniCode, CniError } from './errors.js';
import { FrameReader, ProtocolError, decodeRequest, encodeReply } from './protocol.js';
import type { CniReply, CniRequest } from './protocol.js';

export interface CniSocketServer {
  readonly path: string;
  close(): Promise<void>;
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function serveCniSocket(path: string, handle: (req: CniRequest) => Promise<CniReply>, log: Logger): Promise<CniSocketServer> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (await probe(path)) throw new Error(`another agent is already serving ${path}; stop it first (only one Tabby agent may run per node)`);
  rmSync(path, { force: true });

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => log.debug('CNI connection error', { error: err }));
    const reader = new FrameReader();
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      if (started) return;
      try {
        reader.push(chunk);
      } catch (err) {
        started = true;
        reply(socket, malformed(err));
        return;
      }
      if (reader.frames.length < 3) return;
      started = true;
      let req: CniRequest;
      try {
        req = decodeRequest(reader.frames.slice(0, 3));
      } catch (err) {
        reply(socket, malformed(err));
        return;
      }
      handle(req).then(
        (r) => reply(socket, r),
        (err: unknown) => reply(socket, malformed(err)),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  log.info('serving CNI socket', { path });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        rmSync(path, { force: true });
      }),
  };
}

function reply(socket: net.Socket, r: CniReply): void {
  if (!socket.writable) return;
  socket.end(encodeReply(r));
}

function malformed(err: unknown): CniReply {
  const e =
    err instanceof ProtocolError
      ? new CniError(CniCode.DecodingFailure, `malformed request from the CNI shim: ${err.message}`)
      : new CniError(CniCode.Internal, (err as Error)?.message ?? String(err));
  return { exitCode: 1, stdout: JSON.stringify(e.toJSON('1.1.0')) + '\n', stderr: '' };
}
