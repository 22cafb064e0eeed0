// The package's main export, as a project that depends on Tabby sees it (DESIGN.md §9): after
// `make build`, `import { parseSelector } from 'tabby'` loads and works.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'tabby-pkg-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('the package main export', () => {
  it('resolves to a file the build produced, and parseSelector works through it', async () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string };
    mkdirSync(join(work, 'node_modules'));
    symlinkSync(repo, join(work, 'node_modules', pkg.name), 'dir');
    writeFileSync(
      join(work, 'use.mjs'),
      `import { parseSelector, SelectorParseError } from '${pkg.name}';\n` +
        `const s = parseSelector("role == 'db' && has(zone)");\n` +
        `let err; try { parseSelector('a ==') } catch (e) { err = e }\n` +
        `console.log(JSON.stringify({ text: s.toString(), match: s.matches({ role: 'db', zone: 'a' }), error: err instanceof SelectorParseError }));\n`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [join(work, 'use.mjs')], { cwd: work });
    assert.deepEqual(JSON.parse(stdout), { text: '(role == "db" && has(zone))', match: true, error: true });
  });
});
