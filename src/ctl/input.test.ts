import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError, STDIN_SOURCE, readSources } from './input.js';

const dir = mkdtempSync(join(tmpdir(), 'tabbyctl-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const noStdin = () => assert.fail('stdin must not be read');

describe('readSources (-f FILE|DIR|-)', () => {
  it('reads a directory as its .yaml/.yml/.json files in name order, skipping others and subdirectories', () => {
    const d = join(dir, 'manifests');
    mkdirSync(d);
    mkdirSync(join(d, 'sub.yaml'));
    for (const [n, t] of [['b.yml', 'B'], ['a.yaml', 'A'], ['c.json', 'C'], ['README.md', 'no'], ['D.YAML', 'D']]) writeFileSync(join(d, n!), t!);
    assert.deepEqual(readSources([d], noStdin).map((s) => [s.source, s.text]), [
      [join(d, 'D.YAML'), 'D'],
      [join(d, 'a.yaml'), 'A'],
      [join(d, 'b.yml'), 'B'],
      [join(d, 'c.json'), 'C'],
    ]);
  });
  it('reads files and stdin in the order given', () => {
    const f = join(dir, 'one.yaml');
    writeFileSync(f, 'x');
    assert.deepEqual(readSources([f, '-'], () => 'from stdin'), [{ source: f, text: 'x' }, { source: STDIN_SOURCE, text: 'from stdin' }]);
  });
  it('says which path is wrong and why', () => {
    assert.throws(() => readSources([join(dir, 'missing.yaml')], noStdin), (e: unknown) => e instanceof InputError && e.message === `cannot read ${join(dir, 'missing.yaml')}: no such file or directory`);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(() => readSources([empty], noStdin), /holds no \.yaml, \.yml or \.json files/);
    assert.throws(() => readSources([], noStdin), /no input: give -f FILE/);
    assert.throws(() => readSources(['-', '-'], () => ''), /only once/);
  });
});
