// The one rule of dependencies (DESIGN.md §2): pure modules never import I/O.
// This walks the import graph of the TypeScript sources from every file in a pure folder and
// fails if any reachable import is a forbidden built-in or a file outside the pure folders.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/src/purity.test.js → <repo>/src
const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Folders (or single files) whose code must stay pure. */
export const PURE_FOLDERS = ['ip', 'selector', 'model', 'policy', 'bgp/codec', 'bgp/wire', 'bgp/fsm', 'bgp/rib', 'ipam/core', 'util/random.ts', 'datastore/protobuf.ts', 'datastore/etcd-proto.ts', 'datastore/grpc-wire.ts', 'datastore/datastore.ts'];
const FORBIDDEN_BUILTINS = /^(node:)?(child_process|net|fs|fs\/promises|http|https|http2|dgram|tls|dns|cluster|worker_threads)$/;

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

export function violations(root: string, pure: string[]): string[] {
  const isPure = (file: string) => pure.some((f) => relative(join(root, f), file).split('/')[0] !== '..');
  const problems: string[] = [];
  for (const folder of pure) {
    for (const file of tsFiles(join(root, folder))) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const where = relative(root, file);
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
          if (!isPure(target)) problems.push(`${where} imports ${spec}, which is not a pure module`);
        } else if (FORBIDDEN_BUILTINS.test(spec)) {
          problems.push(`${where} imports the I/O module ${spec}`);
        }
      }
    }
  }
  return problems;
}

describe('dependency rule', () => {
  it('finds import specifiers of every form', () => {
    const src = `import { a } from './a.js';\nimport type { B } from "../b.js";\nexport * from './c.js';\nimport 'node:fs';\nconst x = await import('node:net');`;
    assert.deepEqual(importsOf(src).sort(), ['../b.js', './a.js', './c.js', 'node:fs', 'node:net']);
  });
  it('flags a pure module importing node:fs or an impure folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'tabby-purity-'));
    try {
      mkdirSync(join(root, 'pure'));
      mkdirSync(join(root, 'driver'));
      writeFileSync(join(root, 'pure', 'a.ts'), "import { readFileSync } from 'node:fs';\nimport { x } from '../driver/d.js';\n");
      writeFileSync(join(root, 'pure', 'ok.ts'), "import { y } from './a.js';\n");
      writeFileSync(join(root, 'driver', 'd.ts'), "export const x = 1;\n");
      assert.deepEqual(violations(root, ['pure']).sort(), [
        'pure/a.ts imports ../driver/d.js, which is not a pure module',
        'pure/a.ts imports the I/O module node:fs',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('pure folders import no I/O', () => {
    assert.deepEqual(violations(srcRoot, PURE_FOLDERS), []);
  });
});
