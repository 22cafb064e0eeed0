// Defaults as data: which fields Calico fills in on write, and how to take them out again.
//
// A kind's defaults are an ordered list of (path, value-from-resource) rules. `applyDefaults`
// fills each absent field; `stripDefaults` walks the list backwards and removes each field whose
// value equals its default, so containers listed before their leaves (value `{}`) disappear once
// empty. This makes "what was applied reads back equal, apart from defaults" testable as
// deepEqual(stripDefaults(readBack), stripDefaults(applied)).
// A "*" path segment means every element of a list.

export type DefaultPath = readonly (string | '*')[];

export interface DefaultRule<R> {
  readonly path: DefaultPath;
  /** The default for this field given the whole resource, or undefined for "no default here". */
  readonly value: (resource: R, parent: Record<string, unknown>) => unknown;
}

export function defaultRule<R>(path: string, value: (resource: R, parent: Record<string, unknown>) => unknown): DefaultRule<R> {
  return { path: path.split('.'), value };
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Every (parent object, key) that a path reaches, creating nothing. */
function* slots(root: unknown, path: DefaultPath): Generator<[Obj, string]> {
  if (path.length === 0) return;
  const [head, ...rest] = path as [string, ...string[]];
  if (head === '*') {
    if (Array.isArray(root)) for (const item of root) yield* slots(item, rest);
    return;
  }
  if (!isObj(root)) return;
  if (rest.length === 0) {
    yield [root, head];
    return;
  }
  yield* slots(root[head], rest);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function clone<T>(x: T): T {
  return structuredClone(x);
}

/** A copy of `resource` with every absent defaulted field filled in. */
export function fillDefaults<R>(resource: R, rules: readonly DefaultRule<R>[]): R {
  const out = clone(resource);
  for (const rule of rules) {
    for (const [parent, key] of slots(out, rule.path)) {
      if (parent[key] !== undefined) continue;
      const value = rule.value(out, parent);
      if (value !== undefined) parent[key] = clone(value);
    }
  }
  return out;
}

/** A copy of `resource` without the fields that equal their defaults. */
export function removeDefaults<R>(resource: R, rules: readonly DefaultRule<R>[]): R {
  const out = clone(resource);
  for (const rule of [...rules].reverse()) {
    for (const [parent, key] of slots(out, rule.path)) {
      if (parent[key] === undefined) continue;
      const value = rule.value(out, parent);
      if (value !== undefined && deepEqual(parent[key], value)) delete parent[key];
    }
  }
  return out;
}
