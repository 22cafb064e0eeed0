// Splices two sockets: bytes flow both ways, and when either side closes or fails, both go.
// Used by every byte-forwarding bridge (the lab's etcd bridge, the test TCP proxy, the CNI test
// bridges), so they all tear down the same way.

import type { Socket } from 'node:net';

export function joinSockets(a: Socket, b: Socket, onClosed?: () => void): void {
  let closed = false;
  const drop = () => {
    if (closed) return;
    closed = true;
    a.destroy();
    b.destroy();
    onClosed?.();
  };
  a.on('error', drop).on('close', drop);
  b.on('error', drop).on('close', drop);
  a.pipe(b);
  b.pipe(a);
}
