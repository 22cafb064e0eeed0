// A parsed selector: the public face of this folder (DESIGN.md §9).
//
// parseSelector(text) parses and fixes the canonical text; the first matches() compiles the
// selector into a function (compile.ts), one for plain objects and one for Maps, so callers
// that only validate or canonicalise never pay for compiling. The unique ID is Calico's
// ("s:" + base64url(SHA-224("s:" + canonical)), no padding), which Calico uses to name the
// IP sets it builds for selectors, so equal IDs mean equal selectors across both systems.

import { createHash } from 'node:crypto';

import { canonicalText, prefixLabels, usesGlobal, type SelectorNode } from './ast.js';
import { compileForMaps, compileForRecords } from './compile.js';
import { SelectorParseError } from './errors.js';
import type { LabelMap, LabelRecord, Labels } from './labels.js';
import { parseSelectorText } from './parser.js';
import { labelRestrictions, type LabelRestrictions } from './restrictions.js';

export class Selector {
  private readonly canonical: string;
  private matchRecord: ((labels: LabelRecord) => boolean) | undefined;
  private matchMap: ((labels: LabelMap) => boolean) | undefined;
  private id: string | undefined;

  /** Use parseSelector; this is for trees that already hold the parser's invariants (ast.ts). */
  constructor(readonly tree: SelectorNode) {
    this.canonical = canonicalText(tree);
  }

  /** True if the labels (a plain object or a Map of label → value) satisfy the selector. */
  matches(labels: Labels): boolean {
    if (labels instanceof Map) return (this.matchMap ??= compileForMaps(this.tree))(labels);
    return (this.matchRecord ??= compileForRecords(this.tree))(labels as LabelRecord);
  }

  /** Calico's canonical form, e.g. `(app == "web" && tier in {"a", "b"})`. */
  toString(): string {
    return this.canonical;
  }

  /** Calico's selector UniqueID: "s:" + base64url(SHA-224("s:" + canonical)). */
  uniqueId(): string {
    this.id ??= `s:${createHash('sha224').update(`s:${this.canonical}`, 'utf8').digest('base64url')}`;
    return this.id;
  }

  /** Same canonical form (hence the same meaning and unique ID). */
  equals(other: Selector): boolean {
    return this.canonical === other.canonical;
  }

  /** Lower bounds on the labels a matching endpoint must have; see restrictions.ts. */
  labelRestrictions(): LabelRestrictions {
    return labelRestrictions(this.tree);
  }

  /** True if global() appears anywhere (Calico allows it only as a whole namespaceSelector). */
  usesGlobal(): boolean {
    return usesGlobal(this.tree);
  }

  /** A new selector with `prefix` in front of every label name (Calico's PrefixVisitor). */
  withLabelPrefix(prefix: string): Selector {
    return new Selector(prefixLabels(this.tree, prefix));
  }
}

/**
 * Parses Calico selector text. Throws SelectorParseError (code 'InvalidSelector') with the
 * 0-based position of the problem and what was expected there. An empty or blank text is all().
 */
export function parseSelector(text: string): Selector {
  if (typeof text !== 'string') {
    throw new TypeError(`parseSelector expects a string, got ${text === null ? 'null' : typeof text}`);
  }
  return new Selector(parseSelectorText(text));
}

export type SelectorCheck = { readonly ok: true; readonly selector: Selector } | { readonly ok: false; readonly error: SelectorParseError };

/** parseSelector as a result instead of an exception, for validators collecting many problems. */
export function checkSelector(text: string): SelectorCheck {
  try {
    return { ok: true, selector: parseSelector(text) };
  } catch (err) {
    if (err instanceof SelectorParseError) return { ok: false, error: err };
    throw err;
  }
}
