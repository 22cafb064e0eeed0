// From `-f` arguments to resources: read the texts (input.ts), split and parse the documents
// through the model, and apply `-n NS` to namespaced objects that name no namespace.
//
// Nothing here writes. The result keeps each document's origin (file, 1-based document number,
// line) so that every later failure can point at it, and collects every problem of every
// document instead of stopping at the first, so one run shows the user everything to fix.

import { type ResourceObject, type ValidationIssue, type Where, loadManifests, lookupKind } from '../model/index.js';
import { type SourceText, readSources } from './input.js';

export interface ManifestDocument {
  readonly resource: ResourceObject;
  readonly where: Where & { readonly source: string; readonly document: number };
}

export interface LoadedManifests {
  readonly documents: ManifestDocument[];
  readonly issues: ValidationIssue[];
  readonly sources: number;
}

export interface LoadOptions {
  /** `-n NS`: namespace for namespaced objects that give none; a different one is an issue. */
  readonly namespace?: string;
}

export function loadInputs(paths: readonly string[], readStdin: () => string, opts: LoadOptions = {}): LoadedManifests {
  return loadTexts(readSources(paths, readStdin), opts);
}

export function loadTexts(texts: readonly SourceText[], opts: LoadOptions = {}): LoadedManifests {
  const documents: ManifestDocument[] = [];
  const issues: ValidationIssue[] = [];
  for (const { source, text } of texts) {
    const loaded = loadManifests(text, source);
    issues.push(...loaded.issues);
    for (const d of loaded.documents) {
      const where = { source: d.source, document: d.index, ...(d.item === undefined ? {} : { item: d.item }), line: d.line };
      const withNs = applyNamespace(d.resource, opts.namespace);
      if (typeof withNs === 'string') {
        issues.push({ ...where, kind: d.resource.kind, ...(d.resource.metadata.name === undefined ? {} : { name: d.resource.metadata.name }), path: 'metadata.namespace', rule: 'namespace-mismatch', message: withNs });
        continue;
      }
      documents.push({ resource: withNs, where });
    }
  }
  return { documents, issues, sources: texts.length };
}

/** The resource with `namespace` filled in, or the reason it conflicts. */
function applyNamespace(r: ResourceObject, namespace: string | undefined): ResourceObject | string {
  if (namespace === undefined) return r;
  const kind = lookupKind(r.kind, r.apiVersion);
  if (kind === undefined || !kind.namespaced) return r;
  const own = r.metadata.namespace;
  if (own === undefined || own === '') return { ...r, metadata: { ...r.metadata, namespace } } as ResourceObject;
  if (own !== namespace) return `the document names namespace "${own}" but -n gave "${namespace}"; remove one of them or make them agree`;
  return r;
}

/** `'IPPool'` when every resource is of one kind, else undefined: for calicoctl-style summaries. */
export function singleKind(resources: readonly { kind: string }[]): string | undefined {
  const kinds = new Set(resources.map((r) => r.kind));
  return kinds.size === 1 ? [...kinds][0] : undefined;
}

/** calicoctl's summary line: `Successfully applied 3 'IPPool' resource(s)`. */
export function summary(verb: string, resources: readonly { kind: string }[]): string {
  const kind = singleKind(resources);
  return `Successfully ${verb} ${resources.length} ${kind === undefined ? '' : `'${kind}' `}resource(s)`;
}
