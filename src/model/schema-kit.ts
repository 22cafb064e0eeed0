// Small helpers over valibot that give every schema Calico's strictness and Tabby's messages.
//
// - `obj` is a strict object: an unknown field is an issue (Calico decodes strictly), and its
//   message lists the fields that would be accepted.
// - `check` (one field) and `withRules` (cross-field, with relative paths) attach Calico's
//   validation rules (`withRules` attaches cross-field ones to a schema). They carry a short rule id in the issue's `expected` slot, which valibot
//   leaves to the check's author; `toValidationIssues` turns it back into `rule`.
// - Checks run only on values whose structure is already valid (valibot skips pipe actions on
//   untyped data), so a rule never sees a half-typed value.

import * as v from 'valibot';
import { type FieldPath, formatPath } from './issues.js';

/** An issue found by a check, relative to the value the check ran on. */
export interface RuleIssue {
  readonly path: FieldPath;
  readonly rule: string;
  readonly message: string;
}

/** A schema issue before it gets a document's location. */
export interface SchemaIssue {
  readonly path: FieldPath;
  readonly rule: string;
  readonly message: string;
}

type Entries = v.ObjectEntries;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** A strict object: unknown fields are rejected with the list of known ones. */
export function obj<const E extends Entries>(entries: E) {
  const known = Object.keys(entries);
  return v.strictObject(entries, (issue) => {
    if (issue.expected === 'never') {
      return `unknown field ${JSON.stringify(issue.input)}; the fields here are: ${known.join(', ')}`;
    }
    if (issue.received === 'undefined' && issue.expected?.startsWith('"')) {
      return `required field ${issue.expected} is missing`;
    }
    return `must be an object (a mapping of fields), not ${describe(issue.input)}`;
  });
}

export const opt = v.optional;

/**
 * A string. Like calicoctl's YAML decoding (which converts YAML scalars to the type of the target
 * Go field), a plain YAML number or boolean where a string is expected is taken as its text:
 * `containerID: 1337495556942031415926535` is the string "1337495556942031415926535" (the loader
 * keeps big integers exact as bigint for this).
 */
export const str = () =>
  v.pipe(
    v.custom<string | number | boolean | bigint>(
      (x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint',
      (i) => `must be a string, not ${describe(i.input)}`,
    ),
    v.transform((x) => String(x)),
  );
export const bool = () => v.boolean((i) => `must be true or false, not ${describe(i.input)}`);
export const num = () => v.number((i) => `must be a number, not ${describe(i.input)}`);

/** An integer in [min, max]. */
export function int(min: number, max: number) {
  return v.pipe(
    v.number((i) => `must be an integer, not ${describe(i.input)}`),
    check('integer-range', (n: number) =>
      Number.isInteger(n) && n >= min && n <= max ? undefined : `must be an integer from ${min} to ${max}, not ${n}`,
    ),
  );
}

/** One of a fixed set of strings (Calico enums are case-sensitive). */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return v.picklist(values, (i) => `must be one of ${values.join(', ')}; got ${describe(i.input)}`);
}

export function list<S extends v.GenericSchema>(item: S, max = Number.MAX_SAFE_INTEGER) {
  return v.pipe(
    v.array(item, (i) => `must be a list, not ${describe(i.input)}`),
    check<v.InferOutput<S>[]>('max-items', (a) => (a.length <= max ? undefined : `has ${a.length} entries; at most ${max} are allowed`)),
  );
}

/** A map of string to string (labels, annotations, ...). */
export function strMap() {
  return v.record(v.string(), str(), (i) => `must be a mapping of strings to strings, not ${describe(i.input)}`);
}

/** A rule on one value: `test` returns a message when the value breaks the rule. */
export function check<T>(rule: string, test: (value: T) => string | undefined) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const message = test(dataset.value as T);
    if (message !== undefined) addIssue({ message, expected: rule });
  });
}

/**
 * `schema` plus rules across its fields: `test` returns issues with paths relative to the value.
 * The test may take a wider type than the schema's output (a shared interface), so specs that
 * share rules can share the function.
 */
export function withRules<S extends v.GenericSchema>(schema: S, test: (value: v.InferOutput<S>) => readonly RuleIssue[]) {
  return v.pipe(schema, checkFields<v.InferOutput<S>>(test));
}

function checkFields<T>(test: (value: T) => readonly RuleIssue[]) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const issue of test(dataset.value as T)) {
      const path = pathItems(dataset.value, issue.path);
      addIssue(path === undefined ? { message: issue.message, expected: issue.rule } : { message: issue.message, expected: issue.rule, path });
    }
  });
}

/** Valibot path items for a relative path, so valibot can prepend the parents' keys. */
function pathItems(root: unknown, path: FieldPath): [v.IssuePathItem, ...v.IssuePathItem[]] | undefined {
  const items: v.IssuePathItem[] = [];
  let cur: unknown = root;
  for (const key of path) {
    const container = (cur ?? {}) as Record<string | number, unknown>;
    const value = container[key];
    items.push(
      typeof key === 'number'
        ? { type: 'array', origin: 'value', input: container as unknown as unknown[], key, value }
        : { type: 'object', origin: 'value', input: container as Record<string, unknown>, key, value },
    );
    cur = value;
  }
  return items.length === 0 ? undefined : (items as [v.IssuePathItem, ...v.IssuePathItem[]]);
}

/** The rule id of a valibot issue: ours from `check`, or one named after valibot's issue type. */
function ruleOf(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'raw_check' && issue.expected !== null) return issue.expected;
  if (issue.type === 'strict_object' || issue.type === 'object') {
    if (issue.expected === 'never') return 'unknown-field';
    if (issue.received === 'undefined' && issue.expected?.startsWith('"')) return 'required';
  }
  if (issue.type === 'picklist' || issue.type === 'literal') return 'enum';
  if (issue.kind === 'schema') return 'type';
  return issue.type.replace(/_/g, '-');
}

export function toSchemaIssues(issues: readonly v.BaseIssue<unknown>[]): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  for (const issue of issues) {
    // A union reports "none matched" with the branches' issues inside; the first branch that got
    // past the type check says the most useful thing.
    if (issue.type === 'union' && issue.issues !== undefined && issue.issues.length > 0) {
      const prefix = (issue.path ?? []).map((p) => p.key as string | number);
      for (const inner of toSchemaIssues(issue.issues)) out.push({ ...inner, path: [...prefix, ...inner.path] });
      continue;
    }
    const path = (issue.path ?? []).map((p) => p.key as string | number);
    out.push({ path, rule: ruleOf(issue), message: issue.message });
  }
  return out;
}

/**
 * Renames object keys that match a schema field only when case is ignored ("etcdv3CompactionPeriod"
 * → "etcdV3CompactionPeriod"), as Go's JSON decoder, and so calicoctl, matches field names
 * case-insensitively. An exact match always wins. Returns a new value; the input is not changed.
 */
export function matchFieldCase(schema: unknown, value: unknown): unknown {
  const s = schema as { type?: string; wrapped?: unknown; entries?: Record<string, unknown>; item?: unknown; value?: unknown } | undefined;
  if (s === undefined || value === null || typeof value !== 'object') return value;
  if (s.type === 'optional' || s.type === 'nullable' || s.type === 'nullish' || s.type === 'exact_optional') return matchFieldCase(s.wrapped, value);
  if (Array.isArray(value)) return s.type === 'array' ? value.map((x) => matchFieldCase(s.item, x)) : value;
  if (s.type === 'record') {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, matchFieldCase(s.value, x)]));
  }
  if (s.entries === undefined) return value;
  const byLower = new Map<string, string>();
  for (const k of Object.keys(s.entries)) byLower.set(k.toLowerCase(), k);
  const out: Record<string, unknown> = {};
  const input = value as Record<string, unknown>;
  for (const [k, x] of Object.entries(input)) {
    const canonical: string | undefined = Object.hasOwn(s.entries, k) ? k : byLower.get(k.toLowerCase());
    const key = canonical !== undefined && !(canonical !== k && Object.hasOwn(input, canonical)) ? canonical : k;
    out[key] = matchFieldCase(s.entries[key], x);
  }
  return out;
}

export { formatPath };
