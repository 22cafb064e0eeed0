// JSON merge patch (RFC 7386), the patch format of `tabbyctl patch -p` and `ResourceClient.patch`.
//
// Pure: returns a new value and never mutates its inputs. A patch that is an object merges into
// the target member by member, `null` removes a member, and anything else (array, string, number,
// boolean) replaces the target outright — arrays are never merged element by element.

import type { JsonValue } from '../datastore/index.js';

type JsonObject = { [key: string]: JsonValue };

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Apply `patch` to `target` as RFC 7386 §2 describes. */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = applyMergePatch(result[name], value);
  }
  return result;
}
