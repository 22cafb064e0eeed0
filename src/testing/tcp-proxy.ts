// Test fixture: a TCP proxy on 127.0.0.1 that a test can cut and heal, to take a client's
// connections away from a server that keeps running (e.g. to make a watch fall behind while
// other clients write and compact). Transparent to TLS: it forwards bytes only.

import net from 'node:net';
import { joinSockets } from '../util/join-sockets.js';

export interface TcpProxy {
  /** "127.0.0.1:<port>" to connect to instead of the target. */
  readonly address: string;
  readonly port: number;
  /** Drop every open connection and reset new ones until heal(). */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let isCut = false;
  const server = net.createServer((client) => {
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    open.add(client).add(upstream);
    joinSockets(client, upstream, () => {
      open.delete(client);
      open.delete(upstream);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    cut() {
      isCut = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    heal() {
      isCut = false;
    },
    async close() {
      for (const s of open) s.destroy();
      open.clear();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
