// Runs Calico's own selector test tables (calico-cases.ts) through parseSelector and friends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BAD_SELECTORS,
  CANONICAL_CASES,
  K8S_CONVERSION_CASES,
  LABEL_RESTRICTION_CASES,
  PREFIX_VISITOR_CASES,
  SELECTOR_MATCH_CASES,
  TOKENIZER_CASES,
} from './calico-cases.js';
import { evaluateTree } from './interpret.js';
import { k8sLabelSelectorToCalico } from './k8s.js';
import { SelectorParseError } from './errors.js';
import type { LabelRestriction } from './restrictions.js';
import { parseSelector } from './selector.js';
import { tokenize } from './tokenizer.js';

const show = (labels: Record<string, string>): string => JSON.stringify(labels);

describe('Calico parser_test.go selectorTests', () => {
  for (const [i, t] of SELECTOR_MATCH_CASES.entries()) {
    it(`#${i} ${JSON.stringify(t.sel)} matches and rejects the listed label sets, before and after canonicalising`, () => {
      const sel = parseSelector(t.sel);
      const canon = parseSelector(sel.toString());
      assert.equal(canon.toString(), sel.toString(), 'canonical form is a fixed point');
      for (const labels of t.matches) {
        for (const s of [sel, canon]) {
          assert.equal(s.matches(labels), true, `${s} should match ${show(labels)}`);
          assert.equal(s.matches(new Map(Object.entries(labels))), true, `${s} should match Map ${show(labels)}`);
          assert.equal(evaluateTree(s.tree, labels), true, `interpreter: ${s} should match ${show(labels)}`);
        }
      }
      for (const labels of t.nonMatches) {
        for (const s of [sel, canon]) {
          assert.equal(s.matches(labels), false, `${s} should not match ${show(labels)}`);
          assert.equal(s.matches(new Map(Object.entries(labels))), false, `${s} should not match Map ${show(labels)}`);
          assert.equal(evaluateTree(s.tree, labels), false, `interpreter: ${s} should not match ${show(labels)}`);
        }
      }
      assert.equal(sel.uniqueId(), sel.uniqueId());
      assert.equal(canon.uniqueId(), sel.uniqueId());
    });
  }
});

describe('Calico parser_test.go badSelectors', () => {
  for (const text of BAD_SELECTORS) {
    it(`rejects ${JSON.stringify(text)} with a positioned SelectorParseError`, () => {
      assert.throws(
        () => parseSelector(text),
        (err: unknown) => {
          assert.ok(err instanceof SelectorParseError, `expected SelectorParseError, got ${String(err)}`);
          assert.equal(err.code, 'InvalidSelector');
          assert.equal(err.input, text);
          assert.ok(err.position >= 0 && err.position <= text.length, `position ${err.position} inside the input`);
          assert.match(err.message, new RegExp(`at position ${err.position}: `));
          return true;
        },
      );
    });
  }
});

describe('Calico parser_test.go canonicalisationTests', () => {
  for (const t of CANONICAL_CASES) {
    it(`canonicalises ${JSON.stringify(t.input)} as ${t.canonical}${t.uid ? ` with UID ${t.uid}` : ''} and round-trips`, () => {
      const sel = parseSelector(t.input);
      assert.equal(sel.toString(), t.canonical);
      const again = parseSelector(sel.toString());
      assert.equal(again.toString(), t.canonical);
      assert.equal(again.uniqueId(), sel.uniqueId());
      if (t.uid !== undefined) assert.equal(sel.uniqueId(), t.uid);
    });
  }
});

describe('Calico parser_test.go Visitor tests (PrefixVisitor "visited/")', () => {
  for (const t of PREFIX_VISITOR_CASES) {
    it(`prefixes ${JSON.stringify(t.input)} to ${t.output}`, () => {
      const original = parseSelector(t.input);
      assert.equal(original.withLabelPrefix('visited/').toString(), t.output);
      assert.notEqual(original.toString(), t.output, 'the original selector is unchanged');
    });
  }
});

describe('Calico tokenizer_test.go tokenTests', () => {
  for (const t of TOKENIZER_CASES) {
    it(`${t.tokens ? 'tokenizes' : 'rejects'} ${JSON.stringify(t.input)} and ${t.parses ? 'parses' : 'does not parse'} it`, () => {
      if (t.tokens === null) {
        assert.throws(() => tokenize(t.input), SelectorParseError);
      } else {
        const got = tokenize(t.input).map((tok) => (tok.value === '' ? [tok.kind] : [tok.kind, tok.value]));
        assert.deepEqual(got, t.tokens);
      }
      if (t.parses) parseSelector(t.input);
      else assert.throws(() => parseSelector(t.input), SelectorParseError);
    });
  }
});

type Expected = Record<string, { present?: true; absent?: true; values?: string[] }> | null;

function restrictionsAsPlain(map: ReadonlyMap<string, LabelRestriction>): Expected {
  if (map.size === 0) return null;
  const out: Record<string, { present?: true; absent?: true; values?: string[] }> = {};
  for (const [label, r] of map) {
    out[label] = {
      ...(r.mustBePresent ? { present: true as const } : {}),
      ...(r.mustBeAbsent ? { absent: true as const } : {}),
      ...(r.mustHaveOneOfValues !== undefined ? { values: [...r.mustHaveOneOfValues] } : {}),
    };
  }
  return out;
}

describe('Calico label_restriction_test.go', () => {
  for (const t of LABEL_RESTRICTION_CASES) {
    it(`computes the label restrictions of ${JSON.stringify(t.sel)}, also under "all() && (…)"`, () => {
      assert.deepEqual(restrictionsAsPlain(parseSelector(t.sel).labelRestrictions()), t.res);
      if (t.sel !== '') assert.deepEqual(restrictionsAsPlain(parseSelector(`all() && (${t.sel})`).labelRestrictions()), t.res);
    });
  }
});

describe('Calico conversion_test.go K8s selector conversion', () => {
  for (const t of K8S_CONVERSION_CASES) {
    it(`converts the ${t.name} to ${JSON.stringify(t.expected)}, which parses`, () => {
      const text = k8sLabelSelectorToCalico(t.selector, { selectorType: t.type });
      assert.equal(text, t.expected);
      parseSelector(text);
    });
  }
});
