// loadManifests: the text of a manifest file → validated resources, with every problem found.
//
// Accepts multi-document YAML (documents split by "---", line numbers kept) and JSON: one object,
// a JSON array of objects, or a `kind: List` / `*List` with `items` (in YAML too). Empty YAML
// documents are skipped. A syntax error names the file and line, and then nothing is returned.
// Documents are numbered from 1 in file order (empty ones not counted); the items of a List or a
// top-level array keep their document's number and are numbered from 1 within it, so a message
// says "item 3 of the List in document 2".
//
// Hostile input is refused with a position, never a crash: YAML aliases are limited (an alias
// bomb expands exponentially), and so is nesting, both of the text (the parser recurses) and of
// the value (validation recurses); Calico's resources nest a dozen levels.

import { type Document, LineCounter, isPair, isScalar, isSeq, parseAllDocuments, type Node, visit } from 'yaml';
import { type FieldPath, type ValidationIssue, ValidationError, type Where, formatPath } from './issues.js';
import type { ResourceObject } from './types.js';
import { validateResource } from './validate.js';

export interface ManifestDocument {
  readonly source: string;
  /** 1-based document number within the source. */
  readonly index: number;
  /** 1-based item number when the document is a List or an array. */
  readonly item?: number;
  /** Line where the document (or List item) starts. */
  readonly line: number;
  /** Validated, with defaults applied. */
  readonly resource: ResourceObject;
}

export interface LoadedManifests {
  readonly documents: ManifestDocument[];
  readonly issues: ValidationIssue[];
}

interface RawDocument {
  readonly value: unknown;
  readonly document: number;
  readonly item?: number;
  readonly line: number;
  readonly lineOf?: (path: FieldPath) => number | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function isList(x: unknown): x is Obj & { items: unknown[] } {
  return isObj(x) && typeof x.kind === 'string' && x.kind.endsWith('List') && Array.isArray(x.items);
}

/** Line of the node at `path` (or of its nearest existing ancestor) in one YAML document. */
function yamlLineOf(doc: Document, counter: LineCounter, base: FieldPath): (path: FieldPath) => number | undefined {
  return (path) => {
    const full = [...base, ...path];
    for (let n = full.length; n >= 0; n--) {
      const node = doc.getIn(full.slice(0, n), true) as Node | undefined;
      if (node?.range !== undefined && node.range !== null) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/**
 * A key given twice in one mapping. Go's decoders keep the last value; calicoctl's examples even
 * repeat a key with the same value, so a repeat with an equal value is accepted and only a repeat
 * that changes the value is an error (it would silently drop what the user wrote first).
 */
function duplicateKey(doc: Document, counter: LineCounter): { line: number; message: string } | undefined {
  let found: { line: number; message: string } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, unknown>();
      for (const item of map.items) {
        if (!isPair(item) || !isScalar(item.key)) continue;
        const key = String(item.key.value);
        const val = JSON.stringify(item.value === null ? null : (item.value as Node).toJSON(), (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
        if (seen.has(key) && seen.get(key) !== val) {
          const pos = item.key.range?.[0] ?? 0;
          found = { line: counter.linePos(pos).line, message: `key ${JSON.stringify(key)} is given twice in the same mapping with different values; keep one` };
          return visit.BREAK;
        }
        seen.set(key, val);
      }
      return undefined;
    },
  });
  return found;
}

function smallIntsAsNumbers(x: unknown): unknown {
  if (typeof x === 'bigint') return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
  if (Array.isArray(x)) return x.map(smallIntsAsNumbers);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, smallIntsAsNumbers(v)]));
  return x;
}

/** Deepest nesting of mappings and sequences read from a manifest. */
export const MAX_MANIFEST_NESTING = 64;
/** Most alias references (`*name`) one document may use. */
const MAX_ALIASES = 100;

/**
 * The line where flow brackets (`[`, `{`) outside quotes and comments first nest deeper than
 * `limit`, for the message when the YAML parser itself runs out of stack on deep nesting.
 */
function deepFlowLine(text: string, limit: number): number | undefined {
  let depth = 0;
  let line = 1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return line;
    } else if (c === ']' || c === '}') depth--;
  }
  return undefined;
}

/** The path to the first place where `value` nests deeper than `limit` (iteratively: no recursion). */
function tooDeep(value: unknown, limit: number): FieldPath | undefined {
  const stack: { v: unknown; path: FieldPath }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= limit) return path;
    for (const [k, child] of Object.entries(v)) stack.push({ v: child, path: [...path, Array.isArray(v) ? Number(k) : k] });
  }
  return undefined;
}

const nestingMessage = (where: string) =>
  `the document nests mappings and sequences more than ${MAX_MANIFEST_NESTING} levels deep${where}; Calico resources nest about a dozen levels, so this is not a resource`;

/**
 * YAML 1.2 is a superset of JSON, so one parser serves both and keeps line numbers for JSON too.
 * A top-level sequence (a JSON array) and a `*List` with `items` both yield their items.
 */
function parseText(text: string, source: string): RawDocument[] | ValidationIssue {
  const counter = new LineCounter();
  // intAsBigInt keeps integers beyond 2^53 exact (a YAML number can fill a string field, see
  // schema-kit str()); they are turned back into numbers below where that loses nothing.
  // Deep flow nesting ([[[[…) is refused before the parser recurses into it; deep block nesting
  // is caught after parsing (tooDeep), or from the parser's own report of a stack overflow.
  const deepLine = deepFlowLine(text, MAX_MANIFEST_NESTING);
  if (deepLine !== undefined) return { source, line: deepLine, path: '', rule: 'nesting', message: nestingMessage(` (from line ${deepLine})`) };
  const parsed = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: false, intAsBigInt: true });
  if (!Array.isArray(parsed)) return []; // an empty stream
  const out: RawDocument[] = [];
  let document = 0;
  for (const [i, doc] of parsed.entries()) {
    const err = doc.errors[0];
    if (err !== undefined) {
      const line = counter.linePos(err.pos[0]).line;
      if (err.message.includes('Maximum call stack')) return { source, document: document + 1, line, path: '', rule: 'nesting', message: nestingMessage('') };
      const what = text.trimStart().startsWith('{') || text.trimStart().startsWith('[') ? 'JSON/YAML' : 'YAML';
      return { source, document: document + 1, line, path: '', rule: 'syntax', message: `${what} syntax error in document ${i + 1}: ${err.message.split('\n')[0]}` };
    }
    if (doc.contents === null) continue; // an empty document, e.g. after a trailing "---"
    document++;
    const at = { source, document, line: counter.linePos(doc.contents.range?.[0] ?? 0).line, path: '' };
    const dup = duplicateKey(doc, counter);
    if (dup !== undefined) return { ...at, line: dup.line, rule: 'duplicate-key', message: dup.message };
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      if (e instanceof RangeError) return { ...at, rule: 'nesting', message: nestingMessage('') };
      if (e instanceof ReferenceError) {
        return { ...at, rule: 'aliases', message: `the document uses YAML aliases (*name) more than ${MAX_ALIASES} times over; an alias bomb expands exponentially, so it is not read` };
      }
      throw e;
    }
    const deep = tooDeep(js, MAX_MANIFEST_NESTING);
    if (deep !== undefined) return { ...at, line: yamlLineOf(doc, counter, [])(deep) ?? at.line, rule: 'nesting', message: nestingMessage(` at ${formatPath(deep)}`) };
    const value = smallIntsAsNumbers(js);
    const itemsAt: FieldPath | undefined = isSeq(doc.contents) ? [] : isList(value) && isSeq(doc.get('items', true)) ? ['items'] : undefined;
    if (itemsAt === undefined) {
      out.push({ value, document, line: at.line, lineOf: yamlLineOf(doc, counter, []) });
      continue;
    }
    const items = (itemsAt.length === 0 ? value : (value as Obj).items) as unknown[];
    items.forEach((item, j) => {
      const node = doc.getIn([...itemsAt, j], true) as Node | undefined;
      const line = node?.range ? counter.linePos(node.range[0]).line : at.line;
      out.push({ value: item, document, item: j + 1, line, lineOf: yamlLineOf(doc, counter, [...itemsAt, j]) });
    });
  }
  return out;
}

/**
 * Parses and validates every document. Documents that validate are returned even when others
 * fail; callers that must not write a half-valid file check `issues.length === 0` first.
 */
export function loadManifests(text: string, source: string): LoadedManifests {
  const raw = parseText(text, source);
  if (!Array.isArray(raw)) return { documents: [], issues: [raw] };
  const documents: ManifestDocument[] = [];
  const issues: ValidationIssue[] = [];
  raw.forEach((d) => {
    const item = d.item === undefined ? {} : { item: d.item };
    const where: Where = { source, document: d.document, ...item, line: d.line, ...(d.lineOf === undefined ? {} : { lineOf: d.lineOf }) };
    try {
      documents.push({ source, index: d.document, ...item, line: d.line, resource: validateResource(d.value, where) });
    } catch (e) {
      if (e instanceof ValidationError) issues.push(...e.issues);
      else throw e;
    }
  });
  return { documents, issues };
}
