import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { joinSockets } from './join-sockets.js';

/** An echo server on loopback, and a bridge listener whose connections are joined to it. */
async function setup() {
  const echo = net.createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  let closedPairs = 0;
  const upstreams: net.Socket[] = [];
  const bridge = net.createServer((client) => {
    const up = net.connect((echo.address() as net.AddressInfo).port, '127.0.0.1');
    upstreams.push(up);
    joinSockets(client, up, () => closedPairs++);
  });
  bridge.listen(0, '127.0.0.1');
  await once(bridge, 'listening');
  const port = (bridge.address() as net.AddressInfo).port;
  return {
    port,
    upstreams,
    closedPairs: () => closedPairs,
    close: () => Promise.all([new Promise((r) => echo.close(r)), new Promise((r) => bridge.close(r))]),
  };
}

describe('joinSockets', () => {
  it('carries bytes both ways', async () => {
    const env = await setup();
    const c = net.connect(env.port, '127.0.0.1');
    c.write('ping');
    const [data] = await once(c, 'data');
    assert.equal(String(data), 'ping');
    c.destroy();
    await env.close();
  });
  it('tears down both sides, once, when one side goes', async () => {
    const env = await setup();
    const c = net.connect(env.port, '127.0.0.1');
    c.write('x');
    await once(c, 'data');
    c.destroy();
    while (env.closedPairs() === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(env.upstreams[0]!.destroyed, true);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(env.closedPairs(), 1);
    await env.close();
  });
});
