// A loopback bridge from `tabby lab` to the lab etcd's unix socket.
//
// The host has no route into the lab, and the datastore client speaks TCP URLs, so a lab command
// that needs the datastore opens this bridge for as long as it runs: a listener on 127.0.0.1 with
// a kernel-chosen port whose every connection is piped to `<state dir>/etcd.sock:2379`. It carries
// only this process's own datastore requests and closes (connections included) with the command.

import net from 'node:net';
import { joinSockets } from '../util/join-sockets.js';

export interface EtcdBridge {
  /** http://127.0.0.1:<port>, for EtcdDatastore. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export function openEtcdBridge(socketPath: string): Promise<EtcdBridge> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(socketPath);
    sockets.add(client).add(upstream);
    joinSockets(client, upstream, () => {
      sockets.delete(client);
      sockets.delete(upstream);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      const { port } = server.address() as net.AddressInfo;
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
