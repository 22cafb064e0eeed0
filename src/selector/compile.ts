// Compiles a selector tree, once, into a JavaScript function of the labels, so that evaluating
// it is one straight-line boolean expression: `l["app"] === "web" && …`. This is the agent's
// hot path (every endpoint × every selector on each change); V8 optimises each selector's
// function on its own, with constant property names, and inlines the whole tree. Measured
// against walking the tree (evaluateTree) in bench/selector.bench.ts.
//
// Safety: the generated source contains nothing from the selector except label names and
// values, and each of those enters only as JSON.stringify(text) — a JavaScript string literal,
// whatever the text holds. Sets of more than SMALL_SET values are passed in as Set objects.
// If the process forbids code generation from strings (node --disallow-code-generation-from-
// strings), the matcher falls back to evaluateTree: same answers, slower.
//
// The generator also simplifies, keeping the meaning exactly that of evaluateTree:
// - negation is folded into the leaves (!(k == v) is k != v, !has(k) an absence test, and
//   De Morgan for and/or);
// - constant operands (all(), global(), an empty set) are dropped from and/or, and an and/or
//   that becomes constant is that constant.

import type { SelectorNode } from './ast.js';
import { evaluateTree } from './interpret.js';
import type { LabelMap, LabelRecord } from './labels.js';

/** Sets up to this size are inline comparisons; bigger ones use a Set lookup. */
const SMALL_SET = 8;

type Code = { readonly constant: boolean } | { readonly expr: string };

/** How generated code reads a label `k` (a JS string literal) from `l`. */
interface Access {
  /** Expression for the value; it must be === to a string only when the label has that value. */
  value(k: string): string;
  /** Expression true iff the label is present. */
  present(k: string): string;
  /** Given `v` assigned from value(k): is it a present label's value? */
  isPresentValue: string;
}

// For plain objects a present label is a string-valued property (labels.ts): inherited members
// such as "constructor" read as functions, never strings, so === against a literal is exact.
const RECORD_ACCESS: Access = {
  value: (k) => `l[${k}]`,
  present: (k) => `typeof l[${k}] === "string"`,
  isPresentValue: 'typeof v === "string"',
};

const MAP_ACCESS: Access = {
  value: (k) => `l.get(${k})`,
  present: (k) => `l.has(${k})`,
  isPresentValue: 'v !== undefined',
};

export function compileForRecords(node: SelectorNode): (labels: LabelRecord) => boolean {
  return build(node, RECORD_ACCESS) as (labels: LabelRecord) => boolean;
}

export function compileForMaps(node: SelectorNode): (labels: LabelMap) => boolean {
  return build(node, MAP_ACCESS) as (labels: LabelMap) => boolean;
}

/** The JavaScript source generate() makes for a tree, for tests and debugging. */
export function generatedSource(node: SelectorNode, container: 'record' | 'map' = 'record'): string {
  const sets: ReadonlySet<string>[] = [];
  const code = generate(node, false, container === 'record' ? RECORD_ACCESS : MAP_ACCESS, sets);
  return 'expr' in code ? code.expr : String(code.constant);
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

function build(node: SelectorNode, access: Access): (labels: never) => boolean {
  const sets: ReadonlySet<string>[] = [];
  const code = generate(node, false, access, sets);
  if (!('expr' in code)) return code.constant ? ALWAYS : NEVER;
  try {
    const factory = new Function('sets', `"use strict"; return function matches(l) { let v; return ${code.expr}; };`) as (
      s: readonly ReadonlySet<string>[],
    ) => (labels: never) => boolean;
    return factory(sets);
  } catch (err) {
    // Code generation from strings is disallowed in this process: walk the tree instead.
    if (err instanceof EvalError) return (labels: LabelRecord | LabelMap) => evaluateTree(node, labels);
    throw err;
  }
}

const lit = (s: string): string => JSON.stringify(s);
const constant = (value: boolean): Code => ({ constant: value });
const expr = (e: string): Code => ({ expr: e });

/** Code for `node`, or for its negation when `negate` is set. */
function generate(node: SelectorNode, negate: boolean, a: Access, sets: ReadonlySet<string>[]): Code {
  switch (node.kind) {
    case 'all':
    case 'global':
      return constant(!negate);
    case 'has':
      return expr(negate ? `!(${a.present(lit(node.label))})` : `(${a.present(lit(node.label))})`);
    case 'eq':
    case 'ne': {
      const equal = (node.kind === 'eq') !== negate;
      return expr(`(${a.value(lit(node.label))} ${equal ? '===' : '!=='} ${lit(node.value)})`);
    }
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const method = node.kind === 'contains' ? 'includes' : node.kind;
      const test = `((v = ${a.value(lit(node.label))}, ${a.isPresentValue}) && v.${method}(${lit(node.value)}))`;
      return expr(negate ? `!${test}` : test);
    }
    case 'in':
    case 'notIn': {
      // "in" holds when present and a member; "not in" is its exact negation.
      const wantMember = (node.kind === 'in') !== negate;
      if (node.values.length === 0) return constant(!wantMember);
      const value = a.value(lit(node.label));
      let member: string;
      if (node.values.length === 1) member = `${value} === ${lit(node.values[0]!)}`;
      else if (node.values.length <= SMALL_SET) member = `(v = ${value}) === ${node.values.map(lit).join(' || v === ')}`;
      else {
        sets.push(new Set(node.values));
        member = `sets[${sets.length - 1}].has(${value})`;
      }
      return expr(wantMember ? `(${member})` : `!(${member})`);
    }
    case 'not':
      return generate(node.operand, !negate, a, sets);
    case 'and':
    case 'or': {
      // De Morgan: !(a && b) is (!a || !b), so negation flips the connective.
      const isAnd = (node.kind === 'and') !== negate;
      const parts: string[] = [];
      for (const operand of node.operands) {
        const code = generate(operand, negate, a, sets);
        if ('expr' in code) parts.push(code.expr);
        else if (code.constant !== isAnd) return constant(code.constant); // decides the whole node
        // else: the identity element (true for and, false for or) is dropped
      }
      if (parts.length === 0) return constant(isAnd);
      return expr(parts.length === 1 ? parts[0]! : `(${parts.join(isAnd ? ' && ' : ' || ')})`);
    }
  }
}
