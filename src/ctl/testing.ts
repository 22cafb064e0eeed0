// Test support for tabbyctl: run it in-process against a MemoryDatastore that outlives each
// command (the CLI closes its datastore when a command ends), or run the built binary with a
// clean environment; either way the exit code and both output streams come back.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Datastore } from '../datastore/datastore.js';
import { MemoryDatastore } from '../datastore/memory.js';
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
