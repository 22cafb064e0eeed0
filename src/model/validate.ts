// validateResource: one decoded document in, a validated and defaulted resource out, or a
// ValidationError naming every problem (file, document, line, kind, name, field path, rule).
//
// Order: envelope (apiVersion, kind) → field-name case (Calico kinds: Go's decoder matches field
// names case-insensitively) → strict schema with Calico's rules → normalise → defaults.
// The input is never mutated. Explicit nulls in objects mean "unset", as in Go's decoder.

import * as v from 'valibot';
import { clone, fillDefaults, removeDefaults } from './defaults.js';
import { type FieldPath, type ValidationIssue, ValidationError, type Where, formatPath } from './issues.js';
import { CALICO_API_VERSION, KINDS, type KindInfo, normaliseApiVersion } from './kinds.js';
import { sizeProblem, storedSize } from './limits.js';
import { modelOf } from './registry.js';
import { matchFieldCase, toSchemaIssues } from './schema-kit.js';
import type { ResourceObject } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function withoutNulls(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(withoutNulls);
  if (!isObj(x)) return x;
  const out: Obj = {};
  for (const [k, val] of Object.entries(x)) if (val !== null) out[k] = withoutNulls(val);
  return out;
}

function issueAt(where: Where, r: Obj | undefined, path: FieldPath, rule: string, message: string): ValidationIssue {
  const meta = r !== undefined && isObj(r.metadata) ? r.metadata : {};
  const line = where.lineOf?.(path) ?? where.line;
  return {
    ...(where.source === undefined ? {} : { source: where.source }),
    ...(where.document === undefined ? {} : { document: where.document }),
    ...(where.item === undefined ? {} : { item: where.item }),
    ...(line === undefined ? {} : { line }),
    ...(r !== undefined && typeof r.kind === 'string' ? { kind: r.kind } : {}),
    ...(typeof meta.name === 'string' && meta.name !== '' ? { name: meta.name } : {}),
    ...(typeof meta.namespace === 'string' && meta.namespace !== '' ? { namespace: meta.namespace } : {}),
    path: formatPath(path),
    rule,
    message,
  };
}

/** The kind a document declares, or an issue saying why it has none Tabby knows. */
export function kindOfDocument(doc: unknown, where: Where = {}): KindInfo {
  if (!isObj(doc)) {
    throw new ValidationError([issueAt(where, undefined, [], 'type', `a resource must be an object with apiVersion, kind, metadata and spec, not ${Array.isArray(doc) ? 'a list' : JSON.stringify(doc)}`)]);
  }
  const missing: ValidationIssue[] = [];
  for (const f of ['apiVersion', 'kind'] as const) {
    if (typeof doc[f] !== 'string' || doc[f] === '') missing.push(issueAt(where, doc, [f], 'required', `${f} is required and must be a non-empty string`));
  }
  if (missing.length > 0) throw new ValidationError(missing);
  const apiVersion = normaliseApiVersion(doc.apiVersion as string);
  const kind = doc.kind as string;
  const found = KINDS.find((k) => k.apiVersion === apiVersion && k.kind === kind);
  if (found !== undefined) return found;
  const sameName = KINDS.filter((k) => k.kind.toLowerCase() === kind.toLowerCase());
  let hint: string;
  if (sameName.length > 0 && sameName.some((k) => k.apiVersion === apiVersion)) {
    hint = `kinds are case-sensitive: did you mean ${sameName.find((k) => k.apiVersion === apiVersion)!.kind}?`;
  } else if (sameName.length > 0) {
    hint = `${kind} belongs to apiVersion ${sameName.map((k) => k.apiVersion).join(' or ')}`;
  } else {
    const here = KINDS.filter((k) => k.apiVersion === apiVersion).map((k) => k.kind);
    hint = here.length > 0 ? `apiVersion ${apiVersion} has the kinds ${here.join(', ')}` : `known apiVersions are ${[...new Set(KINDS.map((k) => k.apiVersion))].join(', ')} (and crd.projectcalico.org/v1 for ${CALICO_API_VERSION})`;
  }
  throw new ValidationError([issueAt(where, doc, ['kind'], 'unknown-kind', `unknown kind ${JSON.stringify(kind)} for apiVersion ${JSON.stringify(doc.apiVersion)}; ${hint}`)]);
}

/** Validates one resource and returns it with Calico's defaults applied; throws ValidationError. */
export function validateResource(input: unknown, where: Where = {}): ResourceObject {
  const kind = kindOfDocument(input, where);
  const model = modelOf(kind);
  const doc = withoutNulls(clone(input)) as Obj;
  doc.apiVersion = kind.apiVersion;
  if (model === undefined) {
    throw new ValidationError([issueAt(where, doc, ['kind'], 'unsupported-kind', `${kind.kind} is known but Tabby cannot validate it yet`)]);
  }
  // Calico kinds are decoded the way calicoctl decodes them: field names match case-insensitively.
  const decoded = kind.kubernetes ? doc : matchFieldCase(model.schema, doc);
  const result = v.safeParse(model.schema, decoded);
  if (!result.success) {
    throw new ValidationError(toSchemaIssues(result.issues).map((i) => issueAt(where, doc, i.path, i.rule, i.message)));
  }
  const normalised = model.normalise === undefined ? result.output : model.normalise(result.output);
  const valid = fillDefaults(normalised, model.defaults) as ResourceObject;
  const tooLarge = sizeProblem(storedSize(valid));
  if (tooLarge !== undefined) throw new ValidationError([issueAt(where, doc, [], 'size', tooLarge)]);
  return valid;
}

/** The resource with Calico's defaults filled in (it must already be valid). */
export function applyDefaults<R extends ResourceObject>(r: R): R {
  const model = modelOf(kindOfDocument(r));
  return model === undefined ? clone(r) : (fillDefaults(r, model.defaults) as R);
}

/** The resource without fields equal to their defaults. */
export function stripDefaults<R extends ResourceObject>(r: R): R {
  const model = modelOf(kindOfDocument(r));
  return model === undefined ? clone(r) : (removeDefaults(r, model.defaults) as R);
}
