// Per-label restrictions: a lower bound on what labels an endpoint must (not) have to match.
//
// Calico's calculation graph (felix labelrestrictionindex) uses these to find candidate
// selectors for an endpoint without evaluating every selector. The rules are Calico's
// (libcalico-go parser LabelRestrictions):
// - k == v and k in {…} require k with one of those values; has(k), contains, starts/ends with
//   require k; !has(k) forbids k; !=, not in and every other negation say nothing.
// - and: restrictions of all operands combine (presence/absence OR-ed, value lists intersected);
// - or: only what every operand requires survives (value lists united).
// `mustHaveOneOfValues` absent means "no restriction on the value"; an empty list means the
// selector cannot match anything (e.g. a == 'x' && a == 'y').

import type { SelectorNode } from './ast.js';

export interface LabelRestriction {
  readonly mustBePresent: boolean;
  readonly mustBeAbsent: boolean;
  readonly mustHaveOneOfValues?: readonly string[];
}

export type LabelRestrictions = ReadonlyMap<string, LabelRestriction>;

type Restriction = { mustBePresent: boolean; mustBeAbsent: boolean; mustHaveOneOfValues?: string[] };

export function labelRestrictions(node: SelectorNode): LabelRestrictions {
  return restrictionsOf(node);
}

/** True unless the restriction can never be met. */
export function possibleToSatisfy(r: LabelRestriction): boolean {
  if (r.mustBePresent && r.mustBeAbsent) return false;
  return r.mustHaveOneOfValues === undefined || r.mustHaveOneOfValues.length > 0;
}

function restriction(mustBePresent: boolean, mustBeAbsent: boolean, values: string[] | undefined): Restriction {
  return values === undefined ? { mustBePresent, mustBeAbsent } : { mustBePresent, mustBeAbsent, mustHaveOneOfValues: values };
}

function restrictionsOf(node: SelectorNode): Map<string, Restriction> {
  switch (node.kind) {
    case 'eq':
      return new Map([[node.label, restriction(true, false, [node.value])]]);
    case 'in':
      return new Map([[node.label, restriction(true, false, [...node.values])]]);
    case 'has':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return new Map([[node.label, restriction(true, false, undefined)]]);
    case 'not':
      // Only !has(k) inverts cleanly: !(k == 'v') does not require k to be absent.
      return node.operand.kind === 'has' ? new Map([[node.operand.label, restriction(false, true, undefined)]]) : new Map();
    case 'and':
      return andRestrictions(node.operands);
    case 'or':
      return orRestrictions(node.operands);
    default:
      return new Map();
  }
}

function andRestrictions(operands: readonly SelectorNode[]): Map<string, Restriction> {
  const result = new Map<string, Restriction>();
  for (const operand of operands) {
    for (const [label, r] of restrictionsOf(operand)) {
      const base = result.get(label);
      if (base === undefined) {
        result.set(label, r);
        continue;
      }
      let values = base.mustHaveOneOfValues;
      if (values === undefined) values = r.mustHaveOneOfValues;
      else if (r.mustHaveOneOfValues !== undefined) {
        const other = new Set(r.mustHaveOneOfValues);
        values = values.filter((v) => other.has(v));
      }
      result.set(label, restriction(base.mustBePresent || r.mustBePresent, base.mustBeAbsent || r.mustBeAbsent, values));
    }
  }
  return result;
}

function orRestrictions(operands: readonly SelectorNode[]): Map<string, Restriction> {
  const [first, ...rest] = operands;
  const result = first === undefined ? new Map<string, Restriction>() : restrictionsOf(first);
  for (const operand of rest) {
    const other = restrictionsOf(operand);
    for (const [label, r] of [...result]) {
      const o = other.get(label) ?? restriction(false, false, undefined);
      const mustBePresent = r.mustBePresent && o.mustBePresent;
      let values: string[] | undefined;
      if (mustBePresent && r.mustHaveOneOfValues !== undefined && o.mustHaveOneOfValues !== undefined) {
        // Both sides limit the value; either side's values are good enough.
        const seen = new Set(r.mustHaveOneOfValues);
        values = [...r.mustHaveOneOfValues, ...o.mustHaveOneOfValues.filter((v) => !seen.has(v))];
      }
      const mustBeAbsent = r.mustBeAbsent && o.mustBeAbsent;
      if (mustBePresent || mustBeAbsent) result.set(label, restriction(mustBePresent, mustBeAbsent, values));
      else result.delete(label);
    }
  }
  return result;
}
