// The layer map (DESIGN.md §2, STYLE.md guideline 1), enforced. Every folder of src/ is listed
// with its layer; the test walks every TypeScript file's imports and fails when:
//   - a folder exists that is not listed (classify it: one line in LAYERS), or a listed one is gone;
//   - a pure file (layers `base`, `core`) imports an I/O module, reads a clock, draws randomness or
//     holds module-level mutable state;
//   - a file imports another top-level folder's internals instead of a listed folder's index.ts
//     (or a listed file); test support is a toolbox whose files tests import directly;
//   - a dependency points the wrong way: base ← core ← driver ← entry, test support only from tests;
//   - top-level folders depend on each other in a cycle;
//   - a top-level folder has no index.ts opening with a header that says what it owns.
// Tests (`*.test.ts`, `*.test-suite.ts`) may do I/O and use test support; their imports of other
// folders still go through index files. ARCHITECTURE.md's layer map must name every listed
// top-level folder and file (it already names bgp/, policy/ and dataplane/, which other work adds).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/src/layers.test.js → <repo>/src
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const srcRoot = join(repo, 'src');

/**
 * - base: pure foundations (addresses, selectors, the resource model, pure helpers)
 * - core: pure decisions built on them (allocator core, policy, BGP codec/FSM/RIB, planners)
 * - driver: I/O over the cores (datastore, clients, kernel, sockets, processes)
 * - entry: wiring that parses arguments, calls the libraries and prints
 * - test-support: fixtures and helpers only tests import
 * - data: no TypeScript (C sources, test data, samples)
 */
export type Layer = 'base' | 'core' | 'driver' | 'entry' | 'test-support' | 'data';
const RANK: Record<Layer, number> = { base: 0, core: 1, driver: 2, entry: 3, 'test-support': 4, data: -1 };
const PURE = new Set<Layer>(['base', 'core']);

/**
 * Every folder of src/ ('' is src/ itself) and the files that form a layer of their own. A folder
 * without an entry of its own layer belongs to the folder above (listed, with the same layer).
 * Adding a folder is one line here and one row in ARCHITECTURE.md's layer map.
 */
export const LAYERS: Readonly<Record<string, Layer>> = {
  '': 'entry',
  'version.ts': 'base',
  ip: 'base',
  selector: 'base',
  model: 'base',
  'model/convert': 'base',
  'model/resources': 'base',
  'model/testdata': 'data',
  'model/testdata/calico-docs': 'data',
  util: 'base',
  'util/log.ts': 'driver',
  'util/join-sockets.ts': 'driver',
  'ipam/core': 'core',
  datastore: 'driver',
  'datastore/datastore.ts': 'base',
  'datastore/contract.test-suite.ts': 'test-support',
  client: 'driver',
  ipam: 'driver',
  controllers: 'driver',
  cni: 'driver',
  'cni/shim': 'data',
  'cni/testing': 'test-support',
  agent: 'driver',
  lab: 'driver',
  'lab/probe': 'data',
  'lab/samples': 'data',
  'lab/testdata': 'data',
  'lab/testing.ts': 'test-support',
  policy: 'core',
  'policy/testdata': 'test-support',
  bgp: 'driver',
  'bgp/wire': 'core',
  'bgp/wire/testdata': 'data',
  'bgp/fsm': 'core',
  'bgp/bfd': 'core',
  'bgp/rib': 'core',
  'bgp/cluster': 'core',
  'bgp/session': 'driver',
  'bgp/testing': 'test-support',
  dataplane: 'driver',
  'dataplane/core': 'core',
  'dataplane/nft-policy': 'driver',
  'dataplane/nft-policy/nflog': 'data',
  'bgp/sockopt': 'data',
  'dataplane/nft-policy/testbed.ts': 'test-support',
  ctl: 'entry',
  'ctl/testing.ts': 'test-support',
  tabby: 'entry',
  testing: 'test-support',
};

/** Files of driver folders that are pure too: the datastore's wire codecs. */
export const PURE_FILES: readonly string[] = ['datastore/protobuf.ts', 'datastore/etcd-proto.ts', 'datastore/grpc-wire.ts'];

const IO_MODULES = /^(node:)?(child_process|net|fs|fs\/promises|http|https|http2|dgram|tls|dns|cluster|worker_threads|os|readline|inspector|v8|vm|process)$/;
/** Clocks, timers and randomness: pure code gets them injected. */
const IMPURE_CALLS: readonly [RegExp, string][] = [
  [/\bDate\.now\s*\(/, 'reads the clock (Date.now)'],
  [/\bnew Date\s*\(\s*\)/, 'reads the clock (new Date())'],
  [/\bperformance\.now\s*\(/, 'reads the clock (performance.now)'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(/, 'starts a timer'],
  [/\bMath\.random\s*\(/, 'draws randomness (Math.random)'],
  [/\b(randomUUID|randomBytes|randomInt|getRandomValues)\s*\(/, 'draws randomness (crypto)'],
  [/\bprocess\.(env|argv|stdout|stderr|stdin|exit|cwd)\b/, 'touches the process (process.*)'],
];
/**
 * Module-level mutable state: a top-level `let`/`var`, or a top-level collection created empty
 * (to be filled later). A collection built whole (`new Set(['a', 'b'])`) is a constant table.
 */
const MUTABLE_STATE = /^(?:export\s+)?(?:(?:let|var)\s+(\w+)|const\s+(\w+)\s*(?::[^=]+)?=\s*(?:new\s+(?:Map|Set|WeakMap|WeakSet|Array)\s*(?:<[^>]*(?:<[^>]*>[^>]*)*>)?\s*\(\s*\)|\[\s*\]|\{\s*\}))/;
/** A reviewed exception says why on the line above: `// layer: memo|frozen — <why>`. */
const ALLOWED_STATE = /\/\/ layer: (memo|frozen)\b/;

const isTest = (file: string) => /\.test(-suite)?\.ts$/.test(file);

function listDirs(root: string, under = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, under))) {
    const rel = under === '' ? name : `${under}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(rel, ...listDirs(root, rel));
  }
  return out;
}

function tsFiles(root: string): string[] {
  return ['', ...listDirs(root)].flatMap((d) =>
    readdirSync(join(root, d))
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts'))
      .map((n) => (d === '' ? n : `${d}/${n}`)),
  );
}

export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

/** Source without comments and string contents, so a word in a comment or message is no call. */
function codeOnly(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
}

const top = (rel: string) => rel.split('/')[0]!;

export interface LayerMap {
  readonly layers: Readonly<Record<string, Layer>>;
  readonly pureFiles?: readonly string[];
}

/** The listed path (file or folder) a file belongs to: the deepest one containing it. */
function unitOf(map: LayerMap, file: string): string | undefined {
  if (map.layers[file] !== undefined) return file;
  for (let d = dirname(file); ; d = dirname(d)) {
    const key = d === '.' ? '' : d;
    if (map.layers[key] !== undefined) return key;
    if (key === '') return undefined;
  }
}

function layerOf(map: LayerMap, file: string): Layer | undefined {
  const u = unitOf(map, file);
  if (u === undefined) return undefined;
  if (map.pureFiles?.includes(file)) return 'base';
  return map.layers[u];
}

/** What may be imported from outside a top-level folder: listed files, and index.ts of listed folders. */
function isPublic(map: LayerMap, file: string): boolean {
  if (map.layers[file] !== undefined) return true;
  const dir = dirname(file) === '.' ? '' : dirname(file);
  return file.endsWith('/index.ts') && map.layers[dir] !== undefined;
}

/** Every broken rule in the tree at `root` under the map. */
export function layerViolations(root: string, map: LayerMap): string[] {
  const problems: string[] = [];
  const dirs = listDirs(root);
  for (const d of dirs) if (map.layers[d] === undefined) problems.push(`folder ${d} is not classified: add it to LAYERS with its layer`);
  for (const d of Object.keys(map.layers)) if (d !== '' && !existsSync(join(root, d))) problems.push(`${d} is classified but does not exist: remove it from LAYERS`);
  for (const d of Object.keys(map.layers)) {
    if (d === '' || d.includes('/') || d.endsWith('.ts') || map.layers[d] === 'data' || !existsSync(join(root, d))) continue;
    const index = join(root, d, 'index.ts');
    if (!existsSync(index) || !readFileSync(index, 'utf8').startsWith('// ')) problems.push(`${d}/index.ts must exist and open with a header saying what ${d}/ owns`);
  }
  const deps = new Map<string, Set<string>>();
  for (const file of tsFiles(root)) {
    const layer = layerOf(map, file);
    if (layer === undefined) continue;
    if (layer === 'data') {
      problems.push(`${file} is TypeScript in a data folder: classify the folder as code`);
      continue;
    }
    const test = isTest(file);
    const source = readFileSync(join(root, file), 'utf8');
    if (PURE.has(layer) && !test) {
      const code = codeOnly(source);
      for (const [re, what] of IMPURE_CALLS) if (re.test(code)) problems.push(`${file} is pure but ${what}`);
      const lines = source.split('\n');
      lines.forEach((line, i) => {
        const m = MUTABLE_STATE.exec(line);
        if (m && !ALLOWED_STATE.test(lines[i - 1] ?? '')) problems.push(`${file}:${i + 1} is pure but holds module-level mutable state (${m[1] ?? m[2]}); inject it, or say why it is safe with "// layer: memo|frozen — why" on the line above`);
      });
    }
    for (const spec of importsOf(source)) {
      if (!spec.startsWith('.')) {
        if (PURE.has(layer) && !test && IO_MODULES.test(spec)) problems.push(`${file} is pure but imports the I/O module ${spec}`);
        continue;
      }
      const target = relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, '.ts')));
      if (target.startsWith('..')) continue; // outside src/ (bench, scripts)
      const targetLayer = layerOf(map, target);
      if (targetLayer === undefined) continue; // reported as an unclassified folder
      // Test support is a toolbox, not a component: tests take any file of it.
      if (top(target) !== top(file) && targetLayer !== 'test-support' && !isPublic(map, target)) {
        problems.push(`${file} imports ${spec}, an internal of ${top(target)}/: import what it exports from ${top(target)}/index.ts`);
      }
      if (targetLayer === 'test-support' && layer !== 'test-support' && !test) {
        problems.push(`${file} imports test support ${spec}: product code may not depend on fixtures`);
        continue;
      }
      if (test || layer === 'test-support') continue;
      if (RANK[targetLayer] > RANK[layer]) problems.push(`${file} (${layer}) imports ${spec} (${targetLayer}): dependencies point ${layer} → ${targetLayer === 'entry' ? 'entry points' : 'lower layers'} only`);
      if (top(target) !== top(file)) {
        if (!deps.has(top(file))) deps.set(top(file), new Set());
        deps.get(top(file))!.add(top(target));
      }
    }
  }
  problems.push(...cycles(deps));
  return problems;
}

/** Top-level folders that depend on each other in a cycle (product code only). */
function cycles(deps: Map<string, Set<string>>): string[] {
  const out: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      out.push(`folders depend on each other in a cycle: ${[...path.slice(path.indexOf(n)), n].join(' → ')}`);
      return;
    }
    state.set(n, 'open');
    for (const m of [...(deps.get(n) ?? [])].sort()) visit(m, [...path, n]);
    state.set(n, 'done');
  };
  for (const n of [...deps.keys()].sort()) visit(n, []);
  return out;
}

describe('layer map', () => {
  it('finds import specifiers of every form', () => {
    const src = `import { a } from './a.js';\nimport type { B } from "../b.js";\nexport * from './c.js';\nimport 'node:fs';\nconst x = await import('node:net');`;
    assert.deepEqual(importsOf(src).sort(), ['../b.js', './a.js', './c.js', 'node:fs', 'node:net']);
  });

  it('fails a fixture tree on each rule it breaks', () => {
    const root = mkdtempSync(join(tmpdir(), 'tbl-layers-'));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      write('pure/index.ts', "// Pure things.\nexport { a } from './a.js';\n");
      write('pure/a.ts', "import { readFileSync } from 'node:fs';\nimport { d } from '../driver/index.js';\nexport const a = Date.now();\nlet count = 0;\n// layer: memo — a cache of a pure function\nconst memo = new Map<string, string>();\n");
      write('driver/index.ts', "// Driver things.\nexport { d } from './d.js';\n");
      write('driver/d.ts', "import { a } from '../pure/a.js';\nimport { f } from '../fixtures/f.js';\nimport { e } from '../entry/index.js';\nexport const d = 1;\n");
      write('driver/d.test.ts', "import { f } from '../fixtures/f.js';\nimport { readFileSync } from 'node:fs';\n");
      write('entry/index.ts', "import { d } from '../driver/index.js';\nexport const e = 1;\n");
      write('fixtures/f.ts', "import { d } from '../driver/d.js';\nexport const f = 1;\n");
      write('newfolder/x.ts', 'export const x = 1;\n');
      const map: LayerMap = { layers: { pure: 'base', driver: 'driver', entry: 'entry', fixtures: 'test-support', gone: 'core' } };
      assert.deepEqual(layerViolations(root, map).sort(), [
        'driver/d.ts (driver) imports ../entry/index.js (entry): dependencies point driver → entry points only',
        'driver/d.ts imports ../pure/a.js, an internal of pure/: import what it exports from pure/index.ts',
        'driver/d.ts imports test support ../fixtures/f.js: product code may not depend on fixtures',
        'fixtures/f.ts imports ../driver/d.js, an internal of driver/: import what it exports from driver/index.ts',
        'folder newfolder is not classified: add it to LAYERS with its layer',
        'entry/index.ts must exist and open with a header saying what entry/ owns',
        'fixtures/index.ts must exist and open with a header saying what fixtures/ owns',
        'folders depend on each other in a cycle: driver → entry → driver',
        'folders depend on each other in a cycle: driver → pure → driver',
        'gone is classified but does not exist: remove it from LAYERS',
        'pure/a.ts (base) imports ../driver/index.js (driver): dependencies point base → lower layers only',
        'pure/a.ts is pure but imports the I/O module node:fs',
        'pure/a.ts is pure but reads the clock (Date.now)',
        'pure/a.ts:4 is pure but holds module-level mutable state (count); inject it, or say why it is safe with "// layer: memo|frozen — why" on the line above',
      ].sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('holds for the tree', () => {
    assert.deepEqual(layerViolations(srcRoot, { layers: LAYERS, pureFiles: PURE_FILES }), []);
  });

  it('is what ARCHITECTURE.md\'s layer map shows', () => {
    const doc = readFileSync(join(repo, 'ARCHITECTURE.md'), 'utf8');
    const map = doc.slice(0, doc.indexOf('\n## ', doc.indexOf('## Layer map') + 1));
    // Top-level folders and listed files; a sub-folder (bgp/wire) is one line in LAYERS alone.
    const named = Object.keys(LAYERS).filter((p) => p !== '' && LAYERS[p] !== 'data' && (p.endsWith('.ts') || !p.includes('/')));
    const missing = named.filter((p) => !map.includes(`\`${p}${p.endsWith('.ts') ? '' : '/'}\``));
    assert.deepEqual(missing, [], 'every classified top-level folder and file appears in ARCHITECTURE.md under "## Layer map" as `folder/`');
  });
});
