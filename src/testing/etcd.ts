// Test fixture: a real, throwaway etcd 3.4 (`/usr/bin/etcd`) for integration tests and benchmarks.
//
// `startEtcd()` runs one single-member etcd in a fresh temp dir (on /dev/shm when available, so
// fsync costs nothing) on free 127.0.0.1 ports, waits until its JSON gateway answers, and returns
// a handle to restart it on the same ports and data, compact it, and stop it. With `tls: true` it
// first makes a throwaway CA, a server certificate (SAN 127.0.0.1, localhost) and a client
// certificate with `openssl`, and runs etcd with `--client-cert-auth`.
//
// Invariants:
// - Nothing outlives the test process: etcd runs under a small shell watchdog that kills it and
//   removes the temp dir when our stdin pipe closes without a word, which happens however this
//   process ends (SIGTERM from a test runner, even SIGKILL); a process.on('exit') hook does the
//   same on ordinary exits. stop() and restart() say "keep" first, and restart() keeps the dir.
// - Several test files may start etcds at once: ports come from a kernel probe, and a start that
//   loses a port race ("address already in use") is retried on fresh ports.
// - stop() is idempotent and always removes the temp dir.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ETCD_BINARY = process.env.TABBY_TEST_ETCD ?? '/usr/bin/etcd';

export interface EtcdTlsFiles {
  /** CA that signed both the server and the client certificate. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface EtcdFixture {
  /** Client URLs, e.g. ["http://127.0.0.1:41234"]. */
  readonly endpoints: string[];
  /** Temp dir holding data/, pki/ and etcd.log; removed by stop(). */
  readonly dataDir: string;
  /** Client certificate and CA, in TLS mode. */
  readonly tls?: EtcdTlsFiles;
  /** Kill etcd (like a crash) and start it again on the same ports and data. */
  restart(opts?: { whileDown?: () => Promise<void> }): Promise<void>;
  /** Compact history at and below `revision`, physically, through the gateway. */
  compact(revision: number): Promise<void>;
  /** The current store revision. */
  revision(): Promise<number>;
  /** Kill etcd and remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  tls?: boolean;
  /** Milliseconds to wait for etcd to become healthy (default 30000). */
  startTimeoutMs?: number;
}

// One process 'exit' hook for all fixtures: kill what is still running, remove the temp dirs.
const cleanups = new Set<() => void>();
let exitHookInstalled = false;
function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of cleanups) c();
    });
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdFixture> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'tabby-etcd-'));
  const live = new Set<ChildProcess>();
  const onExit = () => {
    for (const child of live) killWatched(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onProcessExit(onExit);
  try {
    const tls = opts.tls ? await makePki(join(dir, 'pki')) : undefined;
    const timeout = opts.startTimeoutMs ?? 30_000;
    let member: Member | undefined;
    for (let attempt = 1; !member; attempt++) {
      const [clientPort, peerPort] = await freePorts(2);
      try {
        member = await launch(dir, clientPort!, peerPort!, tls, live, timeout);
      } catch (err) {
        if (!(err instanceof PortTakenError) || attempt >= 5) throw err;
      }
    }
    let current: Member | undefined = member;
    const endpoint = member.endpoint;
    let stopped = false;
    const fixture: EtcdFixture = {
      endpoints: [endpoint],
      dataDir: dir,
      ...(tls ? { tls } : {}),
      async restart(o = {}) {
        if (stopped || !current) throw new Error('etcd fixture: restart after stop');
        const { clientPort, peerPort } = current;
        await current.kill();
        current = undefined;
        if (o.whileDown) await o.whileDown();
        // The ports were ours a moment ago; another test grabbing one in between is possible but
        // rare, and the client under test needs the same endpoint, so retry on the same ports.
        for (let attempt = 1; !current; attempt++) {
          try {
            current = await launch(dir, clientPort, peerPort, tls, live, timeout);
          } catch (err) {
            if (!(err instanceof PortTakenError) || attempt >= 20) throw err;
            await sleep(250);
          }
        }
      },
      async compact(revision) {
        await gateway(endpoint, tls, '/v3/kv/compaction', { revision: String(revision), physical: true });
      },
      async revision() {
        const res = (await gateway(endpoint, tls, '/v3/maintenance/status', {})) as { header?: { revision?: string } };
        return Number(res.header?.revision ?? 0);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await current?.kill();
        current = undefined;
        forget();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return fixture;
  } catch (err) {
    onExit();
    forget();
    throw err;
  }
}

class PortTakenError extends Error {}

interface Member {
  endpoint: string;
  clientPort: number;
  peerPort: number;
  kill(): Promise<void>;
}

// The watchdog: etcd runs in the background; its pid goes to stdout; a subshell waits for a line
// or EOF on our stdin pipe, kills etcd, and unless the line was "keep" (we are alive and manage
// the dir ourselves) waits for etcd to be gone and removes the fixture's temp dir.
const WATCHDOG = [
  'exec 3<&0; "$0" "$@" & pid=$!; echo $pid',
  '( read -r word <&3; kill -KILL $pid 2>/dev/null',
  '  if [ "$word" != keep ]; then while kill -0 $pid 2>/dev/null; do sleep 0.05; done',
  '    case "$TABBY_ETCD_FIXTURE_DIR" in */tabby-etcd-*) rm -rf "$TABBY_ETCD_FIXTURE_DIR";; esac; fi ) &',
  'wait $pid',
].join('\n');

async function launch(
  dir: string,
  clientPort: number,
  peerPort: number,
  tls: EtcdTlsFiles | undefined,
  live: Set<ChildProcess>,
  timeoutMs: number,
): Promise<Member> {
  const scheme = tls ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logFile = join(dir, 'etcd.log');
  const args = [
    '--name', 'tabby-test',
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `tabby-test=${peer}`,
    '--initial-cluster-state', existsSync(join(dir, 'data')) ? 'existing' : 'new',
    '--logger', 'zap',
    '--log-outputs', logFile,
    '--log-level', 'warn',
  ];
  if (tls) {
    args.push('--cert-file', join(dir, 'pki', 'server.crt'), '--key-file', join(dir, 'pki', 'server.key'));
    args.push('--client-cert-auth', '--trusted-ca-file', tls.caFile);
  }
  writeFileSync(logFile, '');
  const logFd = openSync(logFile, 'a');
  const child = spawn('/bin/sh', ['-c', WATCHDOG, ETCD_BINARY, ...args], {
    stdio: ['pipe', 'pipe', logFd],
    env: { ...process.env, TABBY_ETCD_FIXTURE_DIR: dir },
  });
  closeSync(logFd);
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => {
    dead = true;
    live.delete(child);
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`etcd watchdog exited before starting ${ETCD_BINARY}`)));
  });
  (child as ChildProcess & { etcdPid?: number }).etcdPid = pid;
  const kill = async () => {
    if (!dead) killWatched(child);
    await exited;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead) {
      const log = readFileSync(logFile, 'utf8');
      if (/address already in use/.test(log)) throw new PortTakenError(log);
      throw new Error(`etcd exited during start-up; its log (${logFile}):\n${tail(log)}`);
    }
    try {
      await gateway(endpoint, tls, '/v3/maintenance/status', {});
      return { endpoint, clientPort, peerPort, kill };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms; its log:\n${tail(readFileSync(logFile, 'utf8'))}`);
    }
    await sleep(50);
  }
}

function killWatched(child: ChildProcess): void {
  const pid = (child as ChildProcess & { etcdPid?: number }).etcdPid;
  try {
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  child.stdin?.end('keep\n');
}

/** Ports the kernel considers free right now (held together so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** One JSON POST to etcd's gateway, minimal on purpose: the fixture must not depend on the client under test. */
function gateway(endpoint: string, tls: EtcdTlsFiles | undefined, path: string, body: unknown): Promise<unknown> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      timeout: 5000,
      agent: false,
    };
    if (tls) {
      options.ca = readFileSync(tls.caFile);
      options.cert = readFileSync(tls.certFile);
      options.key = readFileSync(tls.keyFile);
    }
    const req = (tls ? https : http).request(`${endpoint}${path}`, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`etcd ${path} answered ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`etcd ${path} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** A throwaway PKI: CA, server certificate for 127.0.0.1/localhost, client certificate. */
async function makePki(dir: string): Promise<EtcdTlsFiles> {
  mkdirSync(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2',
    '-subj', '/CN=tabby-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const leaf = async (name: string, cn: string, ext: string) => {
    writeFileSync(p(`${name}.ext`), ext);
    await run('openssl', ['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await run('openssl', ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
      '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`)]);
  };
  // The server certificate also carries clientAuth: etcd 3.4's gateway dials etcd's own gRPC
  // port with it when client-cert-auth is on.
  await leaf('server', 'tabby-test-etcd',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  await leaf('client', 'tabby-test-client', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  return { caFile: p('ca.crt'), certFile: p('client.crt'), keyFile: p('client.key') };
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
