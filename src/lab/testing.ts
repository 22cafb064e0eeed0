// Test support for the lab's integration tests: the built `tabby` run as a user runs it.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The bundled `tabby` executable (`make build` first). */
export const TABBY_CJS = join(repo, 'dist/bin/tabby.cjs');

export interface TabbyRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tabby ARGS`, killed after `timeoutMs`; resolves with its exit code and output. */
export function runTabby(args: readonly string[], timeoutMs: number): Promise<TabbyRun> {
  return new Promise((done) => {
    execFile(process.execPath, [TABBY_CJS, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `tabby ARGS`, asserts exit 0 (showing both streams otherwise) and returns stdout. */
export async function tabbyOk(args: readonly string[], timeoutMs: number): Promise<string> {
  const r = await runTabby(args, timeoutMs);
  assert.equal(r.code, 0, `tabby ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** One end of a checked TCP stream between two pods (see `checkedStream`). */
export interface StreamEnd {
  readonly proc: ChildProcess;
  /** What the end printed so far: "listening" / "connected", then a JSON line `{n, bad}` or `{error}`. */
  readonly out: () => string;
  readonly exited: Promise<number>;
}

/**
 * A byte-checked TCP stream on port 9000 for "survives a restart" tests: the server checks every
 * byte against a pattern and prints `{"n":…,"bad":…}` (bad = first wrong offset, -1 for none);
 * the client sends `totalBytes` in 16 KiB chunks every `everyMs`. Returns a starter
 * `(netns, ["server"] | ["client", host])`; the script is written to `dir`.
 */
export function checkedStream(dir: string, totalBytes: number, everyMs: number): (netns: string, args: string[]) => StreamEnd {
  const script = join(dir, 'stream.cjs');
  writeFileSync(script, `
const net = require('node:net');
const [mode, host] = process.argv.slice(2);
const TOTAL = ${totalBytes}, CHUNK = 16 * 1024;
const byte = (i) => (i * 7 + 3) % 251;
if (mode === 'server') {
  net.createServer((s) => {
    let n = 0, bad = -1;
    s.on('data', (b) => { for (let i = 0; i < b.length; i++) if (bad < 0 && b[i] !== byte(n + i)) bad = n + i; n += b.length; });
    s.on('error', (e) => { console.log(JSON.stringify({ error: e.code || e.message, n, bad })); process.exit(0); });
    s.on('end', () => { console.log(JSON.stringify({ n, bad })); process.exit(0); });
  }).listen(9000, () => console.log('listening'));
} else {
  const s = net.connect(9000, host, () => {
    let sent = 0;
    console.log('connected');
    const tick = setInterval(() => {
      const len = Math.min(CHUNK, TOTAL - sent);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = byte(sent + i);
      s.write(b);
      sent += len;
      if (sent >= TOTAL) { clearInterval(tick); s.end(); }
    }, ${everyMs});
  });
  s.on('error', (e) => { console.log(JSON.stringify({ error: e.code || e.message })); process.exit(1); });
  s.on('close', () => process.exit(0));
}`);
  return (netns, args) => {
    const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    return { proc, out: () => out, exited: new Promise((r) => proc.on('exit', (c) => r(c ?? 1))) };
  };
}

/** A lab Pod document on `node` declaring TCP 80 and UDP 53 (what `tabby lab probe` tries). */
export const podYaml = (name: string, node: string): string => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: ${node}
  containers:
  - {name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}
`;
