// Compiles a selector tree into a tree of closures, once, so that evaluating it against an
// endpoint's labels is a few direct calls instead of a walk with a switch per node.
//
// This is the agent's hot path (every endpoint × every selector on each change), so the
// compiler also simplifies, keeping the meaning exactly that of evaluateTree:
// - negation is folded into the leaf (!(k == v) is k != v, !has(k) is an absence test, …);
// - constant operands (all(), global(), an empty set) are dropped from and/or, and an and/or
//   that becomes constant is replaced by that constant;
// - a one-value set is an equality test; bigger sets use a Set.
// Label access is specialised at compile time for plain objects and for Maps, so the
// per-evaluation code never asks which one it was given.

import type { SelectorNode } from './ast.js';
import type { LabelMap, LabelRecord } from './labels.js';

type Predicate<L> = (labels: L) => boolean;

/** A compiled subtree: a function, or a constant when the subtree ignores the labels. */
type Compiled<L> = { readonly constant: boolean } | { readonly fn: Predicate<L> };

/** How leaves read labels; one implementation per label container. */
interface LabelAccess<L> {
  equals(label: string, value: string): Predicate<L>;
  differs(label: string, value: string): Predicate<L>;
  present(label: string): Predicate<L>;
  absent(label: string): Predicate<L>;
  inSet(label: string, values: ReadonlySet<string>): Predicate<L>;
  notInSet(label: string, values: ReadonlySet<string>): Predicate<L>;
  /** Label present and `test(value)`. */
  satisfies(label: string, test: (value: string) => boolean): Predicate<L>;
  /** Label absent or not `test(value)`. */
  failsOrAbsent(label: string, test: (value: string) => boolean): Predicate<L>;
}

// For plain objects a present label is a string-valued property; see labels.ts. Comparing with
// === against a string needs no type test: absent labels read as undefined or a non-string.
const recordAccess: LabelAccess<LabelRecord> = {
  equals: (k, v) => (l) => l[k] === v,
  differs: (k, v) => (l) => l[k] !== v,
  present: (k) => (l) => typeof l[k] === 'string',
  absent: (k) => (l) => typeof l[k] !== 'string',
  inSet: (k, set) => (l) => {
    const v = l[k];
    return typeof v === 'string' && set.has(v);
  },
  notInSet: (k, set) => (l) => {
    const v = l[k];
    return typeof v !== 'string' || !set.has(v);
  },
  satisfies: (k, test) => (l) => {
    const v = l[k];
    return typeof v === 'string' && test(v);
  },
  failsOrAbsent: (k, test) => (l) => {
    const v = l[k];
    return typeof v !== 'string' || !test(v);
  },
};

const mapAccess: LabelAccess<LabelMap> = {
  equals: (k, v) => (l) => l.get(k) === v,
  differs: (k, v) => (l) => l.get(k) !== v,
  present: (k) => (l) => l.has(k),
  absent: (k) => (l) => !l.has(k),
  inSet: (k, set) => (l) => {
    const v = l.get(k);
    return v !== undefined && set.has(v);
  },
  notInSet: (k, set) => (l) => {
    const v = l.get(k);
    return v === undefined || !set.has(v);
  },
  satisfies: (k, test) => (l) => {
    const v = l.get(k);
    return v !== undefined && test(v);
  },
  failsOrAbsent: (k, test) => (l) => {
    const v = l.get(k);
    return v === undefined || !test(v);
  },
};

export function compileForRecords(node: SelectorNode): Predicate<LabelRecord> {
  return toFunction(compileNode(node, false, recordAccess));
}

export function compileForMaps(node: SelectorNode): Predicate<LabelMap> {
  return toFunction(compileNode(node, false, mapAccess));
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

function toFunction<L>(compiled: Compiled<L>): Predicate<L> {
  if ('fn' in compiled) return compiled.fn;
  return compiled.constant ? ALWAYS : NEVER;
}

const fn = <L>(f: Predicate<L>): Compiled<L> => ({ fn: f });
const constant = <L>(value: boolean): Compiled<L> => ({ constant: value });

function valueTest(kind: 'contains' | 'startsWith' | 'endsWith', s: string): (value: string) => boolean {
  switch (kind) {
    case 'contains':
      return (v) => v.includes(s);
    case 'startsWith':
      return (v) => v.startsWith(s);
    case 'endsWith':
      return (v) => v.endsWith(s);
  }
}

/** Compiles `node`, or its negation when `negate` is set. */
function compileNode<L>(node: SelectorNode, negate: boolean, access: LabelAccess<L>): Compiled<L> {
  switch (node.kind) {
    case 'all':
    case 'global':
      return constant(!negate);
    case 'has':
      return fn(negate ? access.absent(node.label) : access.present(node.label));
    case 'eq':
      return fn(negate ? access.differs(node.label, node.value) : access.equals(node.label, node.value));
    case 'ne':
      return fn(negate ? access.equals(node.label, node.value) : access.differs(node.label, node.value));
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const test = valueTest(node.kind, node.value);
      return fn(negate ? access.failsOrAbsent(node.label, test) : access.satisfies(node.label, test));
    }
    case 'in':
    case 'notIn': {
      // "in" holds when present and a member; "not in" is its exact negation.
      const wantMember = (node.kind === 'in') !== negate;
      if (node.values.length === 0) return constant(!wantMember);
      if (node.values.length === 1) {
        const only = node.values[0]!;
        return fn(wantMember ? access.equals(node.label, only) : access.differs(node.label, only));
      }
      const set = new Set(node.values);
      return fn(wantMember ? access.inSet(node.label, set) : access.notInSet(node.label, set));
    }
    case 'not':
      return compileNode(node.operand, !negate, access);
    case 'and':
    case 'or': {
      // De Morgan: !(a && b) is (!a || !b), so negation flips the connective.
      const isAnd = (node.kind === 'and') !== negate;
      const parts: Predicate<L>[] = [];
      for (const operand of node.operands) {
        const compiled = compileNode(operand, negate, access);
        if ('fn' in compiled) parts.push(compiled.fn);
        else if (compiled.constant !== isAnd) return constant(compiled.constant); // decides the whole node
        // else: the identity element (true for and, false for or) is dropped
      }
      return combine(parts, isAnd);
    }
  }
}

function combine<L>(parts: Predicate<L>[], isAnd: boolean): Compiled<L> {
  if (parts.length === 0) return constant(isAnd);
  if (parts.length === 1) return fn(parts[0]!);
  if (parts.length === 2) {
    const [a, b] = parts as [Predicate<L>, Predicate<L>];
    return fn(isAnd ? (l) => a(l) && b(l) : (l) => a(l) || b(l));
  }
  if (parts.length === 3) {
    const [a, b, c] = parts as [Predicate<L>, Predicate<L>, Predicate<L>];
    return fn(isAnd ? (l) => a(l) && b(l) && c(l) : (l) => a(l) || b(l) || c(l));
  }
  return fn(
    isAnd
      ? (l) => {
          for (let i = 0; i < parts.length; i++) if (!parts[i]!(l)) return false;
          return true;
        }
      : (l) => {
          for (let i = 0; i < parts.length; i++) if (parts[i]!(l)) return true;
          return false;
        },
  );
}
