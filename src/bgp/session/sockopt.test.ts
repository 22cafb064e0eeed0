// tabby-sockopt as the speaker drives it, in a network namespace the test makes (loopback only):
// the /proc fallback finds the same fds as the handle; options land on Node's own listener
// (read back by the kernel's behaviour: an MD5 key on it makes an unsigned connect fail and a
// signed one pass); the relay keeps delivering the peer's bytes while the peer reads none of
// ours; a connect failure reaches the caller with the helper's reason; bad commands are named. The checks run in a child process inside the namespace (Node cannot enter one).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { minTtlFor } from './sockopt.js';

const NS = `tbmd5u-${process.pid % 100000}`;
const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '../../../bin/tabby-sockopt');

function run(cmd: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    c.stdin.on('error', () => {});
    c.stdin.end(input);
    c.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

/** Runs an ES module body in the namespace; it gets `m` (sockopt.js), `net` and `BIN`, and prints one JSON line. */
async function inNs(body: string): Promise<Record<string, unknown>> {
  const code = `import * as m from ${JSON.stringify(join(here, 'sockopt.js'))}; import net from 'node:net'; import { Password } from ${JSON.stringify(join(here, '../config.js'))};
const BIN = ${JSON.stringify(BIN)}; const out = {};
${body}
process.stdout.write(JSON.stringify(out) + '\\n'); process.exit(0);`;
  const r = await run('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', code]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('tabby-sockopt driver', () => {
  before(async () => {
    await run('ip', ['netns', 'del', NS]);
    assert.equal((await run('ip', ['netns', 'add', NS])).code, 0);
    assert.equal((await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])).code, 0);
  });
  after(async () => {
    await run('ip', ['netns', 'del', NS]);
  });

  it('GTSM hop counts map to RFC 5082 minimum TTLs', () => {
    assert.equal(minTtlFor(1), 255);
    assert.equal(minTtlFor(2), 254);
  });

  it('finds the listener\'s and an accepted socket\'s fd through /proc as the handle has it', async () => {
    const out = await inNs(`
const srv = net.createServer({ pauseOnConnect: true });
await new Promise((r) => srv.listen({ host: '::', port: 1790 }, r));
const accepted = new Promise((r) => srv.once('connection', r));
const c = net.connect({ host: '127.0.0.1', port: 1790 });
const s = await accepted;
out.listener = [m.socketFdFromProc(srv), srv._handle.fd];
out.accepted = [m.socketFdFromProc(s), s._handle.fd];
c.destroy(); srv.close();`);
    assert.equal((out.listener as number[])[0], (out.listener as number[])[1]);
    assert.equal((out.accepted as number[])[0], (out.accepted as number[])[1]);
  });

  it('an MD5 key set on Node\'s own listener: the relay with the key connects and carries bytes, without it the connect never completes', async () => {
    const out = await inNs(`
const srv = net.createServer((s) => s.on('data', (d) => s.write('echo:' + d)));
await new Promise((r) => srv.listen({ host: '::', port: 1791 }, r));
await m.applySocketOptions(BIN, m.socketFd(srv), [{ kind: 'md5', peer: { family: 4, value: 0x7f000001n }, password: new Password('k3y') }, { kind: 'ttl', value: 255 }]);
const attempt = (password, ms) => new Promise((resolve) => {
  const r = m.connectThroughRelay(BIN, { peer: { family: 4, value: 0x7f000001n }, port: 1791, ...(password ? { password: new Password(password) } : {}) });
  const timer = setTimeout(() => { r.socket.destroy(); resolve('no connection'); }, ms);
  r.connected.then((ep) => { r.socket.write('hi'); r.socket.once('data', (d) => { clearTimeout(timer); r.socket.destroy(); resolve(ep.localAddress + ' ' + d); }); }, (e) => { clearTimeout(timer); resolve('failed: ' + e.message); });
});
out.signed = await attempt('k3y', 20000);
out.unsigned = await attempt(undefined, 2000);
out.wrong = await attempt('other', 2000);
await m.applySocketOptions(BIN, m.socketFd(srv), [{ kind: 'md5', peer: { family: 4, value: 0x7f000001n }, password: undefined }]);
out.afterRemoval = await attempt(undefined, 20000);
srv.close();`);
    assert.equal(out.signed, '127.0.0.1 echo:hi');
    assert.equal(out.unsigned, 'no connection');
    assert.equal(out.wrong, 'no connection');
    assert.equal(out.afterRemoval, '127.0.0.1 echo:hi', 'removing the key lets unsigned connections in again');
  });

  it('the relay still delivers what the peer sends while the peer reads nothing of ours (its KEEPALIVEs must reach the session)', async () => {
    const out = await inNs(`
const srv = net.createServer({ pauseOnConnect: true }, (s) => { setTimeout(() => s.write('late'), 1000); });
await new Promise((r) => srv.listen({ host: '127.0.0.1', port: 1793 }, r));
const r = m.connectThroughRelay(BIN, { peer: { family: 4, value: 0x7f000001n }, port: 1793 });
await r.connected;
let got = '';
r.socket.on('data', (d) => (got += d));
r.socket.write(Buffer.alloc(64 * 1024 * 1024));
out.got = await new Promise((res) => {
  const t = setInterval(() => { if (got) { clearInterval(t); res(got); } }, 50);
  setTimeout(() => { clearInterval(t); res(got || 'nothing within 15 s'); }, 15000);
});
r.socket.destroy(); srv.close();`);
    assert.equal(out.got, 'late');
  });

  it('a refused connect reaches the caller as a failure with the helper\'s reason, and the transport ends', async () => {
    const out = await inNs(`
const r = m.connectThroughRelay(BIN, { peer: { family: 4, value: 0x7f000001n }, port: 1799 });
const ended = new Promise((res) => r.socket.once('close', () => res(true)));
out.reason = await r.connected.then(() => 'connected', (e) => e.message);
out.ended = await ended;`);
    assert.equal(out.reason, 'connect: Connection refused');
    assert.equal(out.ended, true);
  });

  it('bad commands and keys are refused, naming the line and never echoing the key', async () => {
    const out = await inNs(`
const srv = net.createServer();
await new Promise((r) => srv.listen({ host: '127.0.0.1', port: 1792 }, r));
const fail = (cmds) => m.applySocketOptions(BIN, m.socketFd(srv), cmds).then(() => 'ok', (e) => e.message);
out.v6OnV4 = await fail([{ kind: 'md5', peer: { family: 6, value: 1n }, password: new Password('abc') }]);
out.long = await fail([{ kind: 'md5', peer: { family: 4, value: 0x7f000002n }, password: new Password('z'.repeat(81)) }]);
out.ttl = await fail([{ kind: 'ttl', value: 0 }]);
srv.close();`);
    assert.equal(out.v6OnV4, 'stdin line 1: TCP_MD5SIG for peer ::1: Invalid argument');
    assert.equal(out.long, 'stdin line 1: the key of peer 127.0.0.2 must be 1..80 bytes as hex');
    assert.equal(out.ttl, 'stdin line 1: ttl wants a number 1..255');
  });
});
