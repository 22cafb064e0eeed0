// The compiled matchers: generated code for a few shapes, hostile values, the fallback when code
// generation is disallowed, and property tests over seeded random selectors — compiled
// matchers (plain-object and Map) agree with the reference tree walker on every input,
// canonical text keeps the meaning, and mangled text only fails with a positioned
// SelectorParseError.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import { generatedSource } from './compile.js';
import { SelectorParseError } from './errors.js';
import { evaluateTree } from './interpret.js';
import { parseSelector } from './selector.js';
import { unitRandom as prng } from '../util/index.js';


const LABELS = ['a', 'b', 'app', 'x/y', 'k8s-app', 'constructor'];
const VALUES = ['', 'v', 'w', 'web', 'we', 'b"c', "it's", 'é'];

function generator(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const ws = (): string => pick(['', ' ', '  ', '\t', ' \t ']);
  const quoted = (v: string): string => (v.includes('"') ? `'${v}'` : v.includes("'") ? `"${v}"` : pick([`'${v}'`, `"${v}"`]));
  const term = (depth: number): string => {
    const nots = pick(['', '', '', '!', '! ', '!!', '!!!']);
    const label = pick(LABELS);
    const r = random();
    let body: string;
    if (depth < 3 && r < 0.15) body = `(${ws()}${expr(depth + 1)}${ws()})`;
    else if (r < 0.25) body = `has(${ws()}${label}${ws()})`;
    else if (r < 0.28) body = pick(['all()', 'all( )', 'global()']);
    else if (r < 0.55) body = `${label}${ws()}${pick(['==', '!='])}${ws()}${quoted(pick(VALUES))}`;
    else if (r < 0.8) {
      const n = Math.floor(random() * 4);
      const items = Array.from({ length: n }, () => quoted(pick(VALUES))).join(`${ws()},${ws()}`);
      body = `${label} ${pick(['in', 'not in', 'notin', 'not  in'])}${ws()}{${ws()}${items}${ws()}}`;
    } else body = `${label} ${pick(['contains', 'starts with', 'startswith', 'ends with', 'endswith'])} ${quoted(pick(VALUES))}`;
    return `${nots}${ws()}${body}`;
  };
  const expr = (depth: number): string => {
    const n = 1 + Math.floor(random() * (depth === 0 ? 4 : 3));
    return Array.from({ length: n }, () => term(depth)).join(`${ws()}${pick(['&&', '||'])}${ws()}`);
  };
  const labels = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const label of LABELS) if (random() < 0.5) out[label] = pick(VALUES);
    return out;
  };
  return { selectorText: () => `${ws()}${expr(0)}${ws()}`, labels };
}

describe('compiled matchers', () => {
  it('agree with the reference tree walker, for objects and Maps, on 3,000 random selectors × 40 label sets', () => {
    const random = prng(20240611);
    const gen = generator(random);
    const labelSets = Array.from({ length: 40 }, gen.labels);
    const maps = labelSets.map((l) => new Map(Object.entries(l)));
    for (let i = 0; i < 3000; i++) {
      const text = gen.selectorText();
      const sel = parseSelector(text);
      labelSets.forEach((labels, j) => {
        const expected = evaluateTree(sel.tree, labels);
        assert.equal(sel.matches(labels), expected, `${text} on ${JSON.stringify(labels)}`);
        assert.equal(sel.matches(maps[j]!), expected, `${text} on Map ${JSON.stringify(labels)}`);
      });
    }
  });
});

describe('canonical text', () => {
  it('keeps the meaning and is a fixed point from the second round on, on 3,000 random selectors', () => {
    const random = prng(7);
    const gen = generator(random);
    const labelSets = Array.from({ length: 20 }, gen.labels);
    let changedOnSecondRound = 0;
    for (let i = 0; i < 3000; i++) {
      const text = gen.selectorText();
      const sel = parseSelector(text);
      const again = parseSelector(sel.toString());
      const third = parseSelector(again.toString());
      // Only !(!…) — not(not(…)), rendered "!!…" — may change on the second round (as in Calico).
      if (again.toString() !== sel.toString()) {
        changedOnSecondRound++;
        assert.match(sel.toString(), /!!/, `canonical of ${text}`);
      }
      assert.equal(third.toString(), again.toString(), `canonical of ${text}`);
      for (const labels of labelSets) {
        const expected = sel.matches(labels);
        assert.equal(again.matches(labels), expected, `${text} vs ${sel} on ${JSON.stringify(labels)}`);
        assert.equal(third.matches(labels), expected, `${text} vs ${again} on ${JSON.stringify(labels)}`);
      }
    }
    assert.ok(changedOnSecondRound < 300, `most canonical texts are fixed points at once (${changedOnSecondRound} were not)`);
  });
  it('keeps not(not(…)) from !(!…) as Calico does, with its own unique ID', () => {
    const sel = parseSelector('!(!has(a))');
    assert.equal(sel.toString(), '!!has(a)');
    assert.equal(parseSelector(sel.toString()).toString(), 'has(a)');
    assert.notEqual(sel.uniqueId(), parseSelector('has(a)').uniqueId());
    assert.equal(sel.matches({ a: '' }), true);
    assert.equal(sel.matches({}), false);
  });
});

describe('mangled selectors', () => {
  it('either parse or fail with a SelectorParseError positioned inside the input', () => {
    const random = prng(99);
    const gen = generator(random);
    const junk = ['(', ')', '{', '}', ',', '=', '!', '&', '|', '"', "'", ' ', 'in', 'has(', '%', ':', '\n', 'é'];
    let failures = 0;
    for (let i = 0; i < 5000; i++) {
      let text = gen.selectorText();
      const at = Math.floor(random() * (text.length + 1));
      text = random() < 0.5 ? text.slice(0, at) + junk[Math.floor(random() * junk.length)]! + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      try {
        parseSelector(text);
      } catch (err) {
        failures++;
        assert.ok(err instanceof SelectorParseError, `${JSON.stringify(text)} threw ${String(err)}`);
        assert.ok(err.position >= 0 && err.position <= text.length, `${JSON.stringify(text)}: position ${err.position}`);
      }
    }
    assert.ok(failures > 1000, `the mangling produced invalid selectors (${failures})`);
  });
});

describe('generated code', () => {
  it('folds negation into the leaves and drops constant operands', () => {
    assert.equal(generatedSource(parseSelector('!(a == "x" || has(b))').tree), '((l["a"] !== "x") && !(typeof l["b"] === "string"))');
    assert.equal(generatedSource(parseSelector('!(a == "x" || has(b))').tree, 'map'), '((l.get("a") !== "x") && !(l.has("b")))');
    assert.equal(generatedSource(parseSelector('all() && a not in {"p"} && !global()').tree), 'false');
    assert.equal(generatedSource(parseSelector('all() && a not in {"p"}').tree), '!(l["a"] === "p")');
    assert.equal(generatedSource(parseSelector('a in {} || !(b in {})').tree), 'true');
  });

  it('keeps hostile label values inert: they are only ever string literals', () => {
    const values = ['x"; throw new Error("injected"); "', 'back\\slash\\', 'new\nline', '${1+1}', 'line\u2028sep', 'lone\ud800', '`tick`', '*/ /*'];
    for (const value of values) {
      const q = value.includes('"') ? `'${value}'` : `"${value}"`;
      for (const text of [`a == ${q}`, `a in {${q}, "b"}`, `a in {${q}, "1", "2", "3", "4", "5", "6", "7", "8", "9"}`, `a contains ${q}`, `!a ends with ${q}`]) {
        const sel = parseSelector(text);
        const positive = !text.startsWith('!');
        assert.equal(sel.matches({ a: value }), positive, `${text} on the value itself`);
        assert.equal(sel.matches(new Map([['a', value]])), positive, `${text} on a Map`);
        assert.equal(sel.matches({ a: `${value}?` }), text.includes('contains') ? true : !positive, `${text} on another value`);
      }
    }
  });

  it('falls back to the tree walker when the process disallows code generation from strings', () => {
    const index = new URL('./index.js', import.meta.url).href;
    const script = `
      import { parseSelector } from ${JSON.stringify(index)};
      let evalBlocked = false;
      try { new Function('return 1'); } catch (e) { evalBlocked = e instanceof EvalError; }
      const sel = parseSelector('app in {"web", "api"} && !has(canary) && tier starts with "front"');
      const results = [
        sel.matches({ app: 'web', tier: 'frontend' }),
        sel.matches({ app: 'web', tier: 'frontend', canary: '' }),
        sel.matches(new Map([['app', 'api'], ['tier', 'front']])),
        sel.matches({ app: 'db', tier: 'frontend' }),
      ];
      console.log(JSON.stringify({ evalBlocked, results }));
    `;
    const run = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { evalBlocked: true, results: [true, false, true, false] });
  });
});
