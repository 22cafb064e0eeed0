// Test support for the lab's integration tests: the built `tabby` run as a user runs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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
