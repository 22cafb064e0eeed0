// Tabby's own selector cases: the lexical and grammar edges of Calico's rules
// (calico-internals.md §3) that Calico's tables do not spell out, error positions, and the API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SelectorParseError, type SelectorProblem } from './errors.js';
import { possibleToSatisfy } from './restrictions.js';
import { checkSelector, parseSelector } from './selector.js';

function rejects(text: string, problem: SelectorProblem, position: number, messagePart?: RegExp): void {
  assert.throws(
    () => parseSelector(text),
    (err: unknown) => {
      assert.ok(err instanceof SelectorParseError, `expected SelectorParseError for ${JSON.stringify(text)}, got ${String(err)}`);
      assert.equal(err.problem, problem, `problem for ${JSON.stringify(text)}: ${err.message}`);
      assert.equal(err.position, position, `position for ${JSON.stringify(text)}: ${err.message}`);
      if (messagePart) assert.match(err.message, messagePart);
      return true;
    },
  );
}

const canonical = (text: string): string => parseSelector(text).toString();

describe('whitespace', () => {
  it('accepts spaces and tabs anywhere between tokens', () => {
    assert.equal(canonical('\ta\t==\t"b"\t&&\thas(\tc\t)\t'), '(a == "b" && has(c))');
  });
  it('rejects newlines and other whitespace with the position of the character', () => {
    rejects('a == "b"\n', 'UnexpectedCharacter', 8, /unexpected character "\\n"/);
    rejects('a ==\r"b"', 'UnexpectedCharacter', 4);
    rejects('\u00a0has(a)', 'UnexpectedCharacter', 0);
  });
  it('treats an empty or blank selector as all()', () => {
    for (const text of ['', ' ', '\t \t']) {
      const sel = parseSelector(text);
      assert.equal(sel.toString(), 'all()');
      assert.equal(sel.matches({}), true);
    }
  });
});

describe('labels', () => {
  it('accepts the full character set [a-zA-Z0-9_./-]', () => {
    assert.equal(canonical('Az09_./-x == "v"'), 'Az09_./-x == "v"');
    assert.equal(canonical('has(projectcalico.org/namespace)'), 'has(projectcalico.org/namespace)');
  });
  it('rejects colons and non-ASCII letters in labels', () => {
    rejects('a:b == "v"', 'ExpectedOperator', 1, /':' is not allowed/);
    rejects('é == "v"', 'UnexpectedCharacter', 0);
    rejects('has(a:b)', 'ExpectedCloseParen', 5);
  });
  it('allows 512 characters and rejects 513, naming the limit', () => {
    const ok = 'a'.repeat(512);
    assert.equal(canonical(`${ok} == "v"`), `${ok} == "v"`);
    assert.equal(canonical(`has(${ok})`), `has(${ok})`);
    rejects(`${'a'.repeat(513)} == "v"`, 'LabelTooLong', 0, /^invalid selector \(520 characters\) near "a{30}…" at position 0: label is 513 characters long; the limit is 512$/);
    rejects(`x == "v" || has(${'b'.repeat(513)})`, 'LabelTooLong', 16);
  });
  it('follows 100 levels of parentheses and refuses deeper nesting with the position, not a stack overflow', () => {
    const nested = (n: number) => `${'('.repeat(n)}a == "b"${')'.repeat(n)}`;
    assert.equal(parseSelector(nested(100)).toString(), 'a == "b"');
    rejects(nested(101), 'TooDeep', 100, /nest more than 100 levels/);
    rejects(nested(200_000), 'TooDeep', 100, /nest more than 100 levels/);
  });
  it('lets operator words be label names where no label precedes them', () => {
    assert.equal(canonical('in == "x"'), 'in == "x"');
    assert.equal(canonical('not in {"x"}'), 'not in {"x"}');
    assert.equal(canonical('has == "x" && all != "y" && global contains "z"'), '(has == "x" && all != "y" && global contains "z")');
  });
});

describe('functions', () => {
  it('requires has( with no space before the parenthesis, but allows spaces inside', () => {
    assert.equal(canonical('has(  a  )'), 'has(a)');
    rejects('has (a)', 'ExpectedOperator', 4, /after label "has", found '\(' \(write 'has\(' with no space before the parenthesis\)/);
    rejects('has()', 'ExpectedLabel', 4);
    rejects('has(a b)', 'ExpectedCloseParen', 6);
  });
  it('accepts all( ) and global( ) with inner blanks only', () => {
    assert.equal(canonical('all( \t)'), 'all()');
    assert.equal(canonical('global( )'), 'global()');
    rejects('all(x)', 'ExpectedCloseParen', 4);
    rejects('all ()', 'ExpectedOperator', 4);
  });
});

describe('word operators', () => {
  it('accept the one-word spellings and any blanks between two words', () => {
    assert.equal(canonical('a notin {"x"}'), 'a not in {"x"}');
    assert.equal(canonical('a not \t in {"x"}'), 'a not in {"x"}');
    assert.equal(canonical('a startswith "x"'), 'a starts with "x"');
    assert.equal(canonical('a endswith"x"'), 'a ends with "x"');
    assert.equal(canonical('a in{"x"}'), 'a in {"x"}');
  });
  it('require a word boundary after the operator', () => {
    rejects('a inx {"b"}', 'ExpectedOperator', 2);
    rejects('a containsx "b"', 'ExpectedOperator', 2);
    rejects('a starts withx "b"', 'ExpectedOperator', 2);
    rejects('a in_ {"b"}', 'ExpectedOperator', 2);
    // Two-word operators look past the blanks after their last word, as Calico's do.
    rejects('a starts with x', 'ExpectedOperator', 2);
    rejects('a in x', 'ExpectedSet', 5);
  });
  it('reject unknown words after a label', () => {
    rejects('a equals "b"', 'ExpectedOperator', 2, /expected an operator .* after label "a", found "equals \\"b\\""/);
  });
  it('reject lone =, & and |', () => {
    rejects('a = "b"', 'IncompleteOperator', 2, /use '=='/);
    rejects('has(a) & has(b)', 'IncompleteOperator', 7, /use '&&'/);
    rejects('has(a) | has(b)', 'IncompleteOperator', 7, /use '\|\|'/);
  });
});

describe('strings and sets', () => {
  it('has no escapes: a string ends at the next matching quote', () => {
    const sel = parseSelector(`a == 'x\\'`);
    assert.equal(sel.toString(), `a == "x\\"`);
    assert.equal(sel.matches({ a: 'x\\' }), true);
  });
  it('quotes values containing a double quote with single quotes, otherwise double quotes', () => {
    assert.equal(canonical(`a == 'say "hi"'`), `a == 'say "hi"'`);
    assert.equal(canonical(`a in {'x"y', "it's"}`), `a in {"it's", 'x"y'}`);
    assert.equal(canonical(`a == ''`), `a == ""`);
  });
  it('reports an unterminated string at its opening quote', () => {
    rejects(`a == "b" && c == 'd`, 'UnterminatedString', 17, /no closing '/);
  });
  it('accepts an empty set and a trailing comma, and rejects a lone comma', () => {
    assert.equal(canonical('a in {}'), 'a in {}');
    assert.equal(canonical('a in {"x",}'), 'a in {"x"}');
    rejects('a in {,}', 'ExpectedSetItem', 6, /expected a quoted string or '}'/);
    rejects('a in {"x",,}', 'ExpectedSetItem', 10);
    rejects('a in {"x"', 'ExpectedSetItem', 9, /expected ',' or '}' in the set opened at position 5, found end of selector/);
  });
  it('gives the empty set its meaning: in {} matches nothing, not in {} everything', () => {
    assert.equal(parseSelector('a in {}').matches({ a: '' }), false);
    assert.equal(parseSelector('a not in {}').matches({}), true);
    assert.equal(parseSelector('a not in {}').matches({ a: 'x' }), true);
  });
  it('sorts set values by code point (UTF-8 byte order, as Go does), not UTF-16 units', () => {
    assert.equal(canonical('a in {"😀", "\uE000", "é", "z", "Z", "é"}'), 'a in {"Z", "z", "é", "\uE000", "😀"}');
  });
  it('matches empty-string values only when the label is present', () => {
    const sel = parseSelector('a == ""');
    assert.equal(sel.matches({ a: '' }), true);
    assert.equal(sel.matches({}), false);
    assert.equal(parseSelector('a contains ""').matches({ a: 'x' }), true);
    assert.equal(parseSelector('a contains ""').matches({}), false);
  });
});

describe('grammar', () => {
  it('binds && tighter than || and keeps source grouping as nesting', () => {
    assert.equal(canonical('a == "1" || b == "2" && c == "3"'), '(a == "1" || (b == "2" && c == "3"))');
    assert.equal(canonical('(a == "1" && b == "2") && c == "3"'), '((a == "1" && b == "2") && c == "3")');
    assert.equal(canonical('((has(a)))'), 'has(a)');
  });
  it('collapses leading negations by parity and renders ! with no space', () => {
    assert.equal(canonical('!!a == "x"'), 'a == "x"');
    assert.equal(canonical('! ! ! a == "x"'), '!a == "x"');
    assert.equal(canonical('!(a == "x")'), '!a == "x"');
    assert.equal(canonical('!!(has(a) || has(b))'), '(has(a) || has(b))');
  });
  it('makes !all() and !global() match nothing', () => {
    assert.equal(parseSelector('!all()').matches({}), false);
    assert.equal(parseSelector('!global()').matches({ a: 'b' }), false);
  });
  it('reports what was expected where, for each kind of mistake', () => {
    rejects('a == "b" c == "d"', 'TrailingInput', 9, /expected '&&', '\|\|' or the end of the selector, found a label "c"/);
    rejects('(has(a) || has(b)', 'ExpectedCloseParen', 17, /to close the '\(' at position 0, found end of selector/);
    rejects('a == "b" && c', 'ExpectedOperator', 13, /after label "c", found end of selector/);
    rejects('a in "b"', 'ExpectedSet', 5, /expected a set literal/);
    rejects('a == {"b"}', 'ExpectedValue', 5, /expected a quoted string after '=='/);
    rejects('"b" == a', 'ExpectedExpression', 0, /found a quoted string "b"/);
    rejects('has(a) && || has(b)', 'ExpectedExpression', 10);
    rejects('!', 'ExpectedExpression', 1, /found end of selector/);
  });
});

describe('evaluation against label containers', () => {
  it('does not see Object.prototype members as labels', () => {
    assert.equal(parseSelector('has(constructor)').matches({}), false);
    assert.equal(parseSelector('has(toString) || has(__proto__) || hasOwnProperty == "x"').matches({}), false);
    assert.equal(parseSelector('toString != "x"').matches({}), true);
    assert.equal(parseSelector('constructor not in {"a", "b"}').matches({}), true);
    assert.equal(parseSelector('valueOf contains ""').matches({}), false);
  });
  it('sees an own "__proto__" label', () => {
    const labels = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    assert.equal(parseSelector('__proto__ == "x"').matches(labels), true);
    assert.equal(parseSelector('has(__proto__)').matches(labels), true);
  });
  it('accepts a Map with the same results as a plain object', () => {
    const sel = parseSelector('app in {"web", "api"} && !has(canary) && tier starts with "front"');
    assert.equal(sel.matches(new Map([['app', 'web'], ['tier', 'frontend']])), true);
    assert.equal(sel.matches(new Map([['app', 'web'], ['tier', 'frontend'], ['canary', '']])), false);
    assert.equal(sel.matches({ app: 'web', tier: 'frontend' }), true);
  });
});

describe('Selector API', () => {
  it('gives equal selectors equal canonical text and unique IDs, and different ones different IDs', () => {
    const a = parseSelector("app=='web'&&tier in{'b','a','b'}");
    const b = parseSelector('app == "web" && tier in {"a", "b"}');
    assert.equal(a.toString(), '(app == "web" && tier in {"a", "b"})');
    assert.ok(a.equals(b));
    assert.equal(a.uniqueId(), b.uniqueId());
    assert.match(a.uniqueId(), /^s:[A-Za-z0-9_-]{38}$/);
    assert.notEqual(a.uniqueId(), parseSelector('app == "web"').uniqueId());
  });
  it('reports global() use anywhere in the tree', () => {
    assert.equal(parseSelector('global()').usesGlobal(), true);
    assert.equal(parseSelector('has(a) && !global()').usesGlobal(), true);
    assert.equal(parseSelector('has(global)').usesGlobal(), false);
  });
  it('returns parse problems as results from checkSelector', () => {
    const good = checkSelector('has(a)');
    assert.ok(good.ok && good.selector.toString() === 'has(a)');
    const bad = checkSelector('has(a');
    assert.ok(!bad.ok && bad.error.problem === 'ExpectedCloseParen' && bad.error.position === 5);
  });
  it('rejects non-string input with a TypeError', () => {
    assert.throws(() => parseSelector(undefined as unknown as string), TypeError);
    assert.throws(() => parseSelector(null as unknown as string), /got null/);
  });
  it('marks an empty set as impossible in the label restrictions', () => {
    const [[label, r]] = [...parseSelector('a in {}').labelRestrictions()] as [[string, import('./restrictions.js').LabelRestriction]];
    assert.equal(label, 'a');
    assert.deepEqual(r.mustHaveOneOfValues, []);
    assert.equal(possibleToSatisfy(r), false);
    assert.equal(possibleToSatisfy(parseSelector('a == "x"').labelRestrictions().get('a')!), true);
  });
});
