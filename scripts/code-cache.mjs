// Writes dist/bin/tabby-bgp.cjs.cache, the V8 code cache dist/bin/tabby.cjs (scripts/launcher.cjs)
// compiles the BGP speaker's bundle with. Called by scripts/bundle.mjs after bundling.
//
// A cache made right after compiling would hold only the bundle's top level; V8 compiles every
// other function the first time it runs. So this runs the speaker for real, the way it starts on
// a node: two `tabby bgp run` daemons on the loopback (127.0.0.1 and 127.0.0.2, free ports, no
// kernel routes, so neither root nor `ip` is needed), each reading a YAML configuration, listening,
// peering with the other and exchanging one block. When they are Established and hold each
// other's block, they are stopped (SIGTERM) and the first writes the code of every function it
// compiled (TABBY_CODE_CACHE_OUT, see the launcher). Nothing leaves the loopback; the temporary
// directory goes in every case. A failed training leaves no cache: the launcher then compiles
// from source, which is slower to start but otherwise the same.

import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const TRAINING_TIMEOUT_MS = 60_000;

/** A TCP port free on the loopback right now. */
function freePort(host) {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** One status-socket request (the daemon's protocol: a JSON line in, a JSON line out). */
function ask(socket, req) {
  return new Promise((res) => {
    const c = createConnection(socket);
    let buf = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify(req) + '\n'));
    c.on('data', (d) => (buf += d));
    c.on('end', () => {
      try {
        res(JSON.parse(buf));
      } catch {
        res(undefined);
      }
    });
    c.on('error', () => res(undefined));
  });
}

/** Runs the training; returns the path of the cache written, or throws saying what failed. */
export async function writeSpeakerCodeCache(binDir) {
  binDir = resolve(binDir);
  const dir = mkdtempSync(join(tmpdir(), 'tabby-code-cache-'));
  const procs = [];
  try {
    const hosts = ['127.0.0.1', '127.0.0.2'];
    const ports = [await freePort(hosts[0]), await freePort(hosts[1])];
    const speakers = hosts.map((host, i) => {
      const other = 1 - i;
      const config = join(dir, `speaker-${i}.yaml`);
      writeFileSync(config, [
        `asNumber: 64512`, `routerID: ${host}`, `listenAddress: ${host}`, `listenPort: ${ports[i]}`,
        `statusSocket: ${join(dir, `speaker-${i}.sock`)}`, 'kernel: none', 'logLevel: warn',
        'gracefulRestart: { enabled: true }', `originate: [10.244.${i}.0/26]`,
        'peers:', `  - name: node-${other + 1}`, `    peerIP: ${hosts[other]}`, `    port: ${ports[other]}`, '    asNumber: 64512',
        `    passive: ${i === 1}`, `    localAddress: ${host}`, '    connectRetryTime: 1', '    families: [ipv4]',
      ].join('\n') + '\n');
      return { config, socket: join(dir, `speaker-${i}.sock`) };
    });
    const out = join(dir, 'tabby-bgp.cjs.cache');
    let failed;
    speakers.forEach((s, i) => {
      const p = spawn(process.execPath, [join(binDir, 'tabby.cjs'), 'bgp', 'run', '--config', s.config], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...(i === 0 ? { TABBY_CODE_CACHE_OUT: out } : {}) },
      });
      let stderr = '';
      p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      p.exited = new Promise((res) => p.once('exit', (code, signal) => {
        if (!p.stopping) failed = `training speaker ${i} exited early (${signal ?? code}): ${stderr.trim().slice(0, 500)}`;
        res();
      }));
      procs.push(p);
    });
    const t0 = Date.now();
    for (;;) {
      if (failed) throw new Error(failed);
      if (Date.now() - t0 > TRAINING_TIMEOUT_MS) throw new Error(`the training speakers did not exchange their blocks within ${TRAINING_TIMEOUT_MS / 1000} s`);
      const st = await Promise.all(speakers.map((s) => ask(s.socket, { command: 'status' })));
      if (st.every((s) => s?.peers?.[0]?.state === 'Established' && s.routes?.ipv4 >= 2)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The status-socket answers the node's tooling asks for, so their code is in the cache too.
    await ask(speakers[0].socket, { command: 'routes' });
    await ask(speakers[0].socket, { command: 'metrics' });
    for (const p of procs) {
      p.stopping = true;
      p.kill('SIGTERM');
    }
    await Promise.all(procs.map((p) => p.exited));
    const target = join(binDir, 'tabby-bgp.cjs.cache');
    copyFileSync(out, target);
    return target;
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
