// Test support for tabbyctl: run it in-process against a MemoryDatastore that outlives each
// command (the CLI closes its datastore when a command ends), or run the built binary with a
// clean environment; either way the exit code and both output streams come back.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Datastore } from '../datastore/index.js';
import { EtcdDatastore } from '../datastore/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { type EtcdFixture, startEtcd } from '../testing/etcd.js';
import { runTabbyctl } from './program.js';

export interface CtlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A view of one MemoryDatastore whose close() does nothing, so it survives each command. */
export function sharedDatastore(ds: MemoryDatastore): Datastore {
  return new Proxy(ds, {
    get: (t, p) => (p === 'close' ? async () => undefined : typeof (t as never)[p] === 'function' ? ((t as never)[p] as (...a: unknown[]) => unknown).bind(t) : (t as never)[p]),
  }) as Datastore;
}

/** tabbyctl in this process, against `ds` (a fresh one if not given). */
export async function runCtlInProcess(args: readonly string[], opts: { ds?: MemoryDatastore; stdin?: string } = {}): Promise<CtlRun> {
  let stdout = '';
  let stderr = '';
  const ds = opts.ds ?? new MemoryDatastore();
  const code = await runTabbyctl(
    [...args],
    {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
      readStdin: () => opts.stdin ?? '',
    },
    async () => sharedDatastore(ds),
  );
  return { code, stdout, stderr };
}

/** The built launchers in the checkout (`make build` first). */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TABBYCTL = join(repo, 'bin', 'tabbyctl');
export const TABBY = join(repo, 'bin', 'tabby');

/** Run a built executable with only PATH and `env` in its environment. */
export function runBinary(bin: string, args: readonly string[], env: Record<string, string>, stdin?: string): Promise<CtlRun> {
  return new Promise((done) => {
    const child = execFile(bin, [...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
    child.stdin!.end(stdin ?? '');
  });
}

/** Assert exit 0, showing both streams when it is not. */
export function assertOk(r: CtlRun): void {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** A real etcd, a client on it and a scratch directory, for one test file. */
export interface EtcdForFile {
  readonly etcd: EtcdFixture;
  readonly ds: EtcdDatastore;
  readonly work: string;
}

/**
 * Registers before/after hooks that start etcd (with a client) before the file's tests and stop
 * it, and remove the scratch directory, after them. `etcd` and `ds` are set once the hook ran.
 */
export function etcdForFile(workPrefix: string): EtcdForFile {
  const fx = { work: mkdtempSync(join(tmpdir(), workPrefix)) } as { etcd: EtcdFixture; ds: EtcdDatastore; work: string };
  before(async () => {
    fx.etcd = await startEtcd();
    fx.ds = new EtcdDatastore({ endpoints: fx.etcd.endpoints });
  });
  after(async () => {
    await fx.ds?.close();
    await fx.etcd?.stop();
    rmSync(fx.work, { recursive: true, force: true });
  });
  return fx;
}
