// Calico's own selector test tables, transcribed as data (test data only; imported by tests).
//
// Sources, projectcalico/calico (read through the stored-repository index):
// - libcalico-go/lib/selector/parser/parser_test.go @036c024d (selectorTests, badSelectors,
//   canonicalisationTests, Visitor tests); the @1ba3b144 version has the same tables.
// - libcalico-go/lib/selector/tokenizer/tokenizer_test.go @cf06c43e (tokenTests).
// - libcalico-go/lib/selector/parser/label_restriction_test.go @036c024d.
// - libcalico-go/lib/backend/k8s/conversion/conversion_test.go @1ee24749 ("selector conversion
//   table" plus every selector asserted in the NetworkPolicy conversion tests).
// libcalico-go/lib/selector/selector_test.go is not in the index (no such file is stored).
// Only Calico's inputs and expectations are here; Tabby's own extra cases live in the tests.

import type { TokenKind } from './tokenizer.js';
import type { K8sLabelSelector, K8sSelectorType } from './k8s.js';

type L = Record<string, string>;

/** parser_test.go selectorTests: each selector must match every `matches` and no `nonMatches`. */
export const SELECTOR_MATCH_CASES: readonly { sel: string; matches: L[]; nonMatches: L[] }[] = [
  { sel: `a == "b"`, matches: [{ a: 'b' }, { a: 'b', c: 'd' }], nonMatches: [{}, { a: 'c' }, { c: 'd' }] },
  {
    sel: `a == "b" && c == "d"`,
    matches: [{ a: 'b', c: 'd' }],
    nonMatches: [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }],
  },
  {
    sel: `a == "b" || c == "d"`,
    matches: [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }],
    nonMatches: [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }],
  },
  { sel: `a in {"'", '"', "c"}`, matches: [{ a: 'c' }, { a: '"' }, { a: "'" }], nonMatches: [{}, { a: 'e' }] },
  { sel: `a not in {"'", '"', "c"}`, matches: [{}, { a: 'e' }], nonMatches: [{ a: 'c' }, { a: '"' }, { a: "'" }] },

  { sel: `a == 'a'`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `a == "a"`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `a != "b"`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `a != "a"`, matches: [{}], nonMatches: [] },
  { sel: `a contains "a"`, matches: [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }], nonMatches: [{}, { a: 'b' }, { b: 'aaa' }] },
  {
    sel: `a starts with "a"`,
    matches: [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }],
    nonMatches: [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }],
  },
  {
    sel: `a ends with "a"`,
    matches: [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }],
    nonMatches: [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }],
  },
  { sel: `a in {"a"}`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `!a in {"a"}`, matches: [{ a: 'b' }], nonMatches: [] },
  { sel: `a in {"a", "b"}`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `a in {"a", "b"}`, matches: [{ a: 'b' }], nonMatches: [] },
  { sel: `a not in {"d", "e"}`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `has(a)`, matches: [{ a: 'b' }], nonMatches: [] },
  { sel: `!has(a)`, matches: [{ b: 'b' }], nonMatches: [] },
  { sel: ``, matches: [{}], nonMatches: [] },
  { sel: ` `, matches: [{}], nonMatches: [] },
  { sel: ``, matches: [{ a: 'b' }], nonMatches: [] },
  { sel: `all()`, matches: [{}], nonMatches: [] },
  { sel: ` all()`, matches: [{}], nonMatches: [] },
  { sel: ` all()`, matches: [{ a: 'b' }], nonMatches: [] },
  { sel: `global()`, matches: [{}], nonMatches: [] },
  { sel: ` global()`, matches: [{}], nonMatches: [] },
  { sel: ` global()`, matches: [{ a: 'b' }], nonMatches: [] },

  { sel: `a == 'a'`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `a == 'a'`, matches: [], nonMatches: [{}] },
  { sel: `a != "a"`, matches: [], nonMatches: [{ a: 'a' }] },
  { sel: `a != 'a'`, matches: [], nonMatches: [{ a: 'a' }] },
  { sel: `a in {"a"}`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `a not in {"a"}`, matches: [], nonMatches: [{ a: 'a' }] },
  { sel: `a in {"a", "b"}`, matches: [], nonMatches: [{ a: 'c' }] },
  { sel: `has(b)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `!!has(b)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `! has(a)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `!has(a)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `!!! has(a)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `!!!has(a)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `!! ! has(a)`, matches: [], nonMatches: [{ a: 'b' }] },
  { sel: `! !!has(a)`, matches: [], nonMatches: [{ a: 'b' }] },

  // Boolean expressions...
  { sel: `a == 'a1' && b == 'b1'`, matches: [{ a: 'a1', b: 'b1' }], nonMatches: [] },
  { sel: `a == 'a1' && b != 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
  { sel: `a != 'a1' && b == 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
  { sel: `a != 'a1' && b != 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
  { sel: `a != 'a1' && !b == 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
  { sel: `!a == 'a1' && b == 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
  { sel: `has(a) && !has(b)`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `!has(b) && has(a)`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `!(!has(a) || has(b))`, matches: [{ a: 'a' }], nonMatches: [] },
  { sel: `!(has(b) || !has(a))`, matches: [{ a: 'a' }], nonMatches: [] },

  { sel: `a == 'a1' || b == 'b1'`, matches: [{ a: 'a1', b: 'b1' }], nonMatches: [] },
  { sel: `a == 'a1' || b != 'b1'`, matches: [{ a: 'a1', b: 'b1' }], nonMatches: [] },
  { sel: `a != 'a1' || b == 'b1'`, matches: [{ a: 'a1', b: 'b1' }], nonMatches: [] },
  { sel: `a != 'a1' || b != 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
  { sel: `! a == 'a1' || ! b == 'b1'`, matches: [], nonMatches: [{ a: 'a1', b: 'b1' }] },
];

/** parser_test.go badSelectors: each must be rejected. */
export const BAD_SELECTORS: readonly string[] = [
  'b == b', // label == label
  'b contains b', // label contains label
  'b starts with b', // label starts with label
  'b ends with b', // label starts with label
  "'b1' == b", // literal on lhs
  'b', // bare label
  'a b', // Garbage
  '!', // Garbage
  `foo == "bar" &`, // Garbage
  `foo == "bar" |`, // Garbage
  `foo != ||`, // Garbage
  `foo in {"", ||`, // Garbage
  `foo in ""`, // Expect set literal
  `"FOO`, // Unterminated string
  `"FOO'`, // Unterminated string
  `"FOO`, // Unterminated string
  `'FOO`, // Unterminated string
  `(`, // Unterminated paren
  `(a == "foo"`, // Unterminated paren
  `)`, // Unterminated paren
  `()`, // Unterminated paren
  `%`, // Unexpected char
  `a == "b" && %`, // Unexpected char
  `a == "b" || %`, // Unexpected char
  `a `, // should be followed by operator
  `has(foo) &&`, // should be followed by operator
];

/** parser_test.go canonicalisationTests; `uid` is given where Calico's table gives one. */
export const CANONICAL_CASES: readonly { input: string; canonical: string; uid?: string }[] = [
  { input: '', canonical: 'all()', uid: 's:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug' },
  { input: ' all() ', canonical: 'all()', uid: 's:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug' },
  { input: ' (all() )', canonical: 'all()', uid: 's:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug' },
  { input: `! (has( b)||! has(a ))`, canonical: '!(has(b) || !has(a))', uid: 's:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q' },
  { input: `! (a == "b"&&! c != "d")`, canonical: `!(a == "b" && !c != "d")`, uid: 's:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w' },
  { input: `a == "'"`, canonical: `a == "'"` },
  { input: `a == '"'`, canonical: `a == '"'` },
  { input: `a contains '"'`, canonical: `a contains '"'` },
  { input: `a contains "'"`, canonical: `a contains "'"` },
  { input: `a startswith '"'`, canonical: `a starts with '"'` },
  { input: `a endswith "'"`, canonical: `a ends with "'"` },
  { input: `a!='"'`, canonical: `a != '"'` },
  // Set items get sorted/de-duped.
  { input: `a in {"d"}`, canonical: `a in {"d"}` },
  { input: `a in {"a", "b"}`, canonical: `a in {"a", "b"}` },
  { input: `a in {"d", "a", "b"}`, canonical: `a in {"a", "b", "d"}` },
  { input: `a in {"z", "x", "y", "a"}`, canonical: `a in {"a", "x", "y", "z"}` },
  { input: `a in {"z", "z", "x", "y", "x", "a"}`, canonical: `a in {"a", "x", "y", "z"}` },
];

/** parser_test.go Visitor tests with PrefixVisitor{Prefix: "visited/"}: input → output text. */
export const PREFIX_VISITOR_CASES: readonly { input: string; output: string }[] = [
  { input: "k == 'v'", output: 'visited/k == "v"' },
  { input: "k != 'v'", output: 'visited/k != "v"' },
  { input: "k contains 'v'", output: 'visited/k contains "v"' },
  { input: "k starts with 'v'", output: 'visited/k starts with "v"' },
  { input: "k ends with 'v'", output: 'visited/k ends with "v"' },
  { input: "k == 'v' && x == 'y'", output: '(visited/k == "v" && visited/x == "y")' },
  { input: "k == 'v' || has(x)", output: '(visited/k == "v" || has(visited/x))' },
  { input: "!(k == 'v')", output: '!visited/k == "v"' },
  { input: "k in {'v'}", output: 'visited/k in {"v"}' },
  { input: "k not in {'v'}", output: 'visited/k not in {"v"}' },
  {
    input: "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
    output: '!(!((visited/k == "v" && has(visited/t)) || all()) && visited/a in {"b", "c"})',
  },
];

export type ExpectedToken = readonly [TokenKind] | readonly [TokenKind, string];

/**
 * tokenizer_test.go tokenTests (Calico's TokX kinds mapped to ours). `tokens: null` means the
 * tokenizer must fail. `parses` is not in Calico's table: it records whether the whole text is
 * a valid selector under Calico's grammar, so that every case also runs through parseSelector.
 */
export const TOKENIZER_CASES: readonly { input: string; tokens: readonly ExpectedToken[] | null; parses: boolean }[] = [
  { input: `a=="b"`, tokens: [['label', 'a'], ['eq'], ['string', 'b'], ['eof']], parses: true },
  { input: `label == "value"`, tokens: [['label', 'label'], ['eq'], ['string', 'value'], ['eof']], parses: true },
  { input: `label contains "value"`, tokens: [['label', 'label'], ['contains'], ['string', 'value'], ['eof']], parses: true },
  { input: `contains contains "contains"`, tokens: [['label', 'contains'], ['contains'], ['string', 'contains'], ['eof']], parses: true },
  { input: `contains contains 'contains'`, tokens: [['label', 'contains'], ['contains'], ['string', 'contains'], ['eof']], parses: true },
  { input: `label contains"value"`, tokens: [['label', 'label'], ['contains'], ['string', 'value'], ['eof']], parses: true },
  { input: `label startswith "value"`, tokens: [['label', 'label'], ['startsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `label endswith "value"`, tokens: [['label', 'label'], ['endsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `label starts with "value"`, tokens: [['label', 'label'], ['startsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `startswith starts with "value"`, tokens: [['label', 'startswith'], ['startsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `label ends with "value"`, tokens: [['label', 'label'], ['endsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `endswith ends with "value"`, tokens: [['label', 'endswith'], ['endsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `label starts  with "value"`, tokens: [['label', 'label'], ['startsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `label ends  with "value"`, tokens: [['label', 'label'], ['endsWith'], ['string', 'value'], ['eof']], parses: true },
  { input: `label starts foo "value"`, tokens: null, parses: false },
  { input: `label ends foo "value"`, tokens: null, parses: false },
  { input: `label squiggles "value"`, tokens: null, parses: false },
  {
    input: `a not in "bar" && !has(foo) || b in c`,
    tokens: [['label', 'a'], ['notIn'], ['string', 'bar'], ['and'], ['not'], ['has', 'foo'], ['or'], ['label', 'b'], ['in'], ['label', 'c'], ['eof']],
    parses: false,
  },
  { input: `has(calico/k8s_ns)`, tokens: [['has', 'calico/k8s_ns'], ['eof']], parses: true },
  { input: `has(calico/k8s_ns/role)`, tokens: [['has', 'calico/k8s_ns/role'], ['eof']], parses: true },
  { input: `has(calico/k8s_NS-.1/role)`, tokens: [['has', 'calico/k8s_NS-.1/role'], ['eof']], parses: true },
  {
    input: `calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
    tokens: [['label', 'calico/k8s_ns'], ['eq'], ['string', 'kube-system'], ['and'], ['label', 'k8s-app'], ['eq'], ['string', 'kube-dns'], ['eof']],
    parses: true,
  },
  {
    input: `a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c `,
    tokens: [['label', 'a'], ['notIn'], ['string', 'bar'], ['and'], ['not'], ['has', 'foo'], ['or'], ['label', 'b'], ['in'], ['label', 'c'], ['eof']],
    parses: false,
  },
  {
    input: `a notin"bar"&&!has(foo)||b in"c"`,
    tokens: [['label', 'a'], ['notIn'], ['string', 'bar'], ['and'], ['not'], ['has', 'foo'], ['or'], ['label', 'b'], ['in'], ['string', 'c'], ['eof']],
    parses: false,
  },
  { input: `a not in {}`, tokens: [['label', 'a'], ['notIn'], ['lbrace'], ['rbrace'], ['eof']], parses: true },
  { input: `a not in {"a"}`, tokens: [['label', 'a'], ['notIn'], ['lbrace'], ['string', 'a'], ['rbrace'], ['eof']], parses: true },
  {
    input: `a not in {"a","B"}`,
    tokens: [['label', 'a'], ['notIn'], ['lbrace'], ['string', 'a'], ['comma'], ['string', 'B'], ['rbrace'], ['eof']],
    parses: true,
  },
  { input: `global()`, tokens: [['global'], ['eof']], parses: true },
  { input: `all()`, tokens: [['all'], ['eof']], parses: true },
];

type R = { present?: true; absent?: true; values?: string[] };

/** label_restriction_test.go: selector → per-label restrictions (null = none). */
export const LABEL_RESTRICTION_CASES: readonly { sel: string; res: Record<string, R> | null }[] = [
  // Base cases.
  { sel: '', res: null },
  { sel: 'all()', res: null },
  { sel: 'global()', res: null },
  { sel: "a == 'value'", res: { a: { present: true, values: ['value'] } } },
  { sel: 'has(a)', res: { a: { present: true } } },
  { sel: "a in {'v1','v2'}", res: { a: { present: true, values: ['v1', 'v2'] } } },
  { sel: "a not in {'v1','v2'}", res: null },
  { sel: "a contains 'foo'", res: { a: { present: true } } },
  { sel: "a ends with 'foo'", res: { a: { present: true } } },
  { sel: "a starts with 'foo'", res: { a: { present: true } } },
  { sel: "a != 'value'", res: null },

  // AND
  { sel: "a == 'v1' && a == 'v1'", res: { a: { present: true, values: ['v1'] } } },
  { sel: "a == 'v1' && a == 'v2'", res: { a: { present: true, values: [] } } },
  { sel: "a == 'v1' && has(a)", res: { a: { present: true, values: ['v1'] } } },
  { sel: "a in {'v1','v2'} && a in {'v2','v3'} ", res: { a: { present: true, values: ['v2'] } } },
  { sel: "a in {'v1','v2', 'v3'} && a in {'v2','v3'} ", res: { a: { present: true, values: ['v2', 'v3'] } } },
  { sel: "has(a) && a == 'v1'", res: { a: { present: true, values: ['v1'] } } },
  { sel: 'has(a) && !has(a)', res: { a: { present: true, absent: true } } },
  { sel: "a == 'v1' && b == 'v2'", res: { a: { present: true, values: ['v1'] }, b: { present: true, values: ['v2'] } } },
  { sel: "a == 'v1' && all()", res: { a: { present: true, values: ['v1'] } } },
  { sel: "all() && a == 'v1'", res: { a: { present: true, values: ['v1'] } } },

  // OR
  { sel: "a == 'v1' || a == 'v2'", res: { a: { present: true, values: ['v1', 'v2'] } } },
  { sel: "has(a) || a == 'v2'", res: { a: { present: true } } },
  { sel: "a=='v2' || has(a)", res: { a: { present: true } } },
  { sel: "a=='v2' || has(b)", res: null },
  { sel: "a=='v2' || (has(b) && has(a))", res: { a: { present: true } } },
  { sel: "a == 'v1' || b == 'v2'", res: null },
  { sel: "a == 'v1' || all()", res: null },
  { sel: "all() || b == 'v2'", res: null },

  // NOT
  { sel: "!(a == 'value')", res: null },
  { sel: '!has(a)', res: { a: { absent: true } } },
  { sel: '!!has(a)', res: { a: { present: true } } },
];

/**
 * conversion_test.go: Kubernetes LabelSelector (null = Go nil) → Calico selector text. The
 * first nine are the "selector conversion table"; the rest are the pod/peer/namespace
 * selectors asserted in the NetworkPolicy conversion tests.
 */
export const K8S_CONVERSION_CASES: readonly { name: string; selector: K8sLabelSelector | null; type: K8sSelectorType; expected: string }[] = [
  { name: 'empty pod selector', selector: {}, type: 'pod', expected: "projectcalico.org/orchestrator == 'k8s'" },
  { name: 'empty namespace selector', selector: {}, type: 'namespace', expected: 'all()' },
  {
    name: 'OpDoesNotExist namespace selector',
    selector: { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] },
    type: 'namespace',
    expected: '! has(toast)',
  },
  {
    name: 'OpExists namespace selector',
    selector: { matchExpressions: [{ key: 'toast', operator: 'Exists' }] },
    type: 'namespace',
    expected: 'has(toast)',
  },
  {
    name: 'OpIn namespace selector',
    selector: { matchExpressions: [{ key: 'toast', operator: 'In', values: ['butter', 'jam'] }] },
    type: 'namespace',
    expected: "toast in { 'butter', 'jam' }",
  },
  {
    name: 'OpNotIn namespace selector',
    selector: { matchExpressions: [{ key: 'toast', operator: 'NotIn', values: ['marmite', 'milk'] }] },
    type: 'namespace',
    expected: "toast not in { 'marmite', 'milk' }",
  },
  {
    name: 'OpDoesNotExist pod selector',
    selector: { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] },
    type: 'pod',
    expected: "projectcalico.org/orchestrator == 'k8s' && ! has(toast)",
  },
  { name: 'nil pod selector', selector: null, type: 'pod', expected: "projectcalico.org/orchestrator == 'k8s'" },
  { name: 'nil namespace selector', selector: null, type: 'namespace', expected: '' },

  {
    name: 'policy podSelector, matchLabels sorted',
    selector: { matchLabels: { label: 'value', label2: 'value2' } },
    type: 'pod',
    expected: "projectcalico.org/orchestrator == 'k8s' && label == 'value' && label2 == 'value2'",
  },
  {
    name: 'peer podSelector with two labels',
    selector: { matchLabels: { k: 'v', k2: 'v2' } },
    type: 'pod',
    expected: "projectcalico.org/orchestrator == 'k8s' && k == 'v' && k2 == 'v2'",
  },
  { name: 'policy podSelector with one label', selector: { matchLabels: { label: 'value' } }, type: 'pod', expected: "projectcalico.org/orchestrator == 'k8s' && label == 'value'" },
  { name: 'peer podSelector k', selector: { matchLabels: { k: 'v' } }, type: 'pod', expected: "projectcalico.org/orchestrator == 'k8s' && k == 'v'" },
  { name: 'peer podSelector k2', selector: { matchLabels: { k2: 'v2' } }, type: 'pod', expected: "projectcalico.org/orchestrator == 'k8s' && k2 == 'v2'" },
  {
    name: 'peer podSelector DoesNotExist',
    selector: { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] },
    type: 'pod',
    expected: "projectcalico.org/orchestrator == 'k8s' && ! has(toast)",
  },
  {
    name: 'peer namespaceSelector, matchLabels sorted',
    selector: { matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } },
    type: 'namespace',
    expected: "namespaceFoo == 'bar' && namespaceRole == 'dev'",
  },
  { name: 'peer podSelector present but empty', selector: {}, type: 'pod', expected: "projectcalico.org/orchestrator == 'k8s'" },
  { name: 'peer namespaceSelector with empty matchLabels', selector: { matchLabels: {} }, type: 'namespace', expected: 'all()' },
  {
    name: 'peer podSelector beside a namespaceSelector',
    selector: { matchLabels: { podA: 'B', podC: 'D' } },
    type: 'pod',
    expected: "projectcalico.org/orchestrator == 'k8s' && podA == 'B' && podC == 'D'",
  },
  {
    name: 'policy podSelector matchExpressions In',
    selector: { matchExpressions: [{ key: 'k', operator: 'In', values: ['v1', 'v2'] }] },
    type: 'pod',
    expected: "projectcalico.org/orchestrator == 'k8s' && k in { 'v1', 'v2' }",
  },
];
