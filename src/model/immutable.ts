// Fields that may not change once a resource exists (Calico's CEL `self == oldSelf` markers).
//
// Validation of one object cannot see these: the check needs the stored object. Both objects are
// defaulted here, so that "unset" (an object stored by an older writer) and "the default" compare equal.

import { formatPath, type FieldPath, type ValidationIssue } from './issues.js';
import type { ResourceObject } from './types.js';
import { applyDefaults } from './validate.js';

/** kind → immutable field paths, with what Calico says to do instead. */
const IMMUTABLE: Readonly<Record<string, readonly { path: FieldPath; advice: string }[]>> = {
  IPPool: [
    { path: ['spec', 'cidr'], advice: 'create a new pool and disable this one to migrate' },
    { path: ['spec', 'blockSize'], advice: 'blocks already carved from the pool keep their size; create a new pool instead' },
  ],
};

function at(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** Issues for every immutable field that differs between the stored and the new object. */
export function checkUpdate(stored: ResourceObject, next: ResourceObject): ValidationIssue[] {
  const rules = IMMUTABLE[next.kind] ?? [];
  const issues: ValidationIssue[] = [];
  for (const { path, advice } of rules) {
    const was = at(applyDefaults(stored), path);
    const now = at(applyDefaults(next), path);
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    issues.push({
      kind: next.kind,
      ...(next.metadata.name === undefined ? {} : { name: next.metadata.name }),
      ...(next.metadata.namespace === undefined ? {} : { namespace: next.metadata.namespace }),
      path: formatPath(path),
      rule: 'immutable',
      message: `field is immutable: it is ${JSON.stringify(was)} and cannot become ${JSON.stringify(now)}; ${advice}`,
    });
  }
  return issues;
}
