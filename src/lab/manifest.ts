// Reading the resource files given to `tabby lab up -f` / `apply -f` / `delete -f`.
//
// The model's manifest loader does the work: multi-document YAML or JSON (Lists and arrays
// yield their items), every document validated and defaulted like tabbyctl does. A file with any
// invalid document is rejected as a whole, with every problem named (file, document, line, kind,
// name, field, rule), so nothing is applied from it.

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { type KindInfo, type ManifestDocument, type ResourceObject, ValidationError, formatIssue, kindInfo, kindOfDocument, loadManifests } from '../model/index.js';
import { LabError } from './errors.js';

export type { ManifestDocument };

export function parseDocuments(text: string, source: string): ManifestDocument[] {
  const { documents, issues } = loadManifests(text, source);
  if (issues.length > 0) {
    throw new LabError('InvalidResource', `${source} has ${issues.length} problem(s); nothing was applied:\n  ${issues.map(formatIssue).join('\n  ')}`);
  }
  return documents;
}

function readText(file: string): { text: string; source: string } {
  try {
    return { text: file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8'), source: file === '-' ? 'stdin' : file };
  } catch (e) {
    throw new LabError('InvalidArgument', `cannot read ${file}: ${(e as Error).message}`);
  }
}

export function readDocuments(file: string): ManifestDocument[] {
  const { text, source } = readText(file);
  return parseDocuments(text, source);
}

/** What a delete names: a kind, a name and (for namespaced kinds) a namespace. */
export interface ResourceRef {
  readonly kind: KindInfo;
  readonly namespace?: string;
  readonly name: string;
}

/**
 * The objects a file names, for `delete -f`: like kubectl, only apiVersion, kind and
 * metadata.name/namespace are read, so a file that names an object deletes it whatever else it holds.
 */
export function parseRefs(text: string, source: string): ResourceRef[] {
  const values: unknown[] = [];
  for (const [i, doc] of parseAllDocuments(text, { prettyErrors: false }).entries()) {
    const err = doc.errors[0];
    if (err !== undefined) throw new LabError('InvalidResource', `${source}: document ${i + 1}: syntax error: ${err.message.split('\n')[0]}`);
    if (doc.contents === null) continue;
    const v = doc.toJS() as { kind?: unknown; items?: unknown };
    if (Array.isArray(v)) values.push(...(v as unknown[]));
    else if (typeof v?.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) values.push(...(v.items as unknown[]));
    else values.push(v);
  }
  return values.map((v, i) => {
    let kind: KindInfo;
    try {
      kind = kindOfDocument(v, { source, document: i + 1 });
    } catch (e) {
      if (e instanceof ValidationError) throw new LabError('InvalidResource', e.message);
      throw e;
    }
    const meta = (v as { metadata?: { name?: unknown; namespace?: unknown } }).metadata ?? {};
    if (typeof meta.name !== 'string' || meta.name === '') throw new LabError('InvalidResource', `${source}: document ${i + 1} (${kind.kind}): metadata.name is required`);
    const namespace = kind.namespaced ? (typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default') : undefined;
    return { kind, name: meta.name, ...(namespace === undefined ? {} : { namespace }) };
  });
}

export function readRefs(file: string): ResourceRef[] {
  const { text, source } = readText(file);
  return parseRefs(text, source);
}

const isKubernetes = (r: ResourceObject, kind: string): boolean => r.kind === kind && kindInfo(r.kind, r.apiVersion).kubernetes;
export const isPodRef = (r: ResourceRef): boolean => r.kind.kubernetes && r.kind.kind === 'Pod';
export const isNamespaceRef = (r: ResourceRef): boolean => r.kind.kubernetes && r.kind.kind === 'Namespace';
export const isPod = (d: ManifestDocument): boolean => isKubernetes(d.resource, 'Pod');
export const isNamespace = (d: ManifestDocument): boolean => isKubernetes(d.resource, 'Namespace');

/** "document 3 of pods.yaml": how a document is named in the lab's messages. */
export const whereOf = (d: ManifestDocument): string => `${d.source} ${d.item === undefined ? '' : `item ${d.item} of the List in `}document ${d.index} (line ${d.line})`;
