// Reading the resource files given to `tabby lab up -f` / `apply -f` / `delete -f`.
//
// The model's manifest loader does the work: multi-document YAML or JSON (Lists and arrays
// yield their items), every document validated and defaulted like tabbyctl does. A file with any
// invalid document is rejected as a whole, with every problem named (file, document, line, kind,
// name, field, rule), so nothing is applied from it.

import { readFileSync } from 'node:fs';
import { LineCounter, parseAllDocuments } from 'yaml';
import { isWorkloadDocument } from './controllers.js';
import { type KindInfo, type ManifestDocument, type ResourceObject, ValidationError, formatIssue, kindInfo, kindOfDocument, loadManifests } from '../model/index.js';
import { LabError } from './errors.js';

export type { ManifestDocument };

/** A workload document (Deployment, …: controllers.ts), which the resource model does not store. */
export interface WorkloadDocument {
  readonly raw: unknown;
  readonly where: string;
}

export interface LabFile {
  readonly documents: ManifestDocument[];
  readonly workloads: WorkloadDocument[];
}

/** The file's top-level YAML documents, numbered as loadManifests numbers them (empty ones skipped). */
function topDocuments(text: string): { value: unknown; document: number; line: number }[] {
  const out: { value: unknown; document: number; line: number }[] = [];
  const counter = new LineCounter();
  for (const doc of parseAllDocuments(text, { prettyErrors: false, lineCounter: counter })) {
    if (doc.errors.length > 0 || doc.contents === null) continue;
    out.push({ value: doc.toJS({ maxAliasCount: 100 }) as unknown, document: out.length + 1, line: counter.linePos(doc.contents.range?.[0] ?? 0).line });
  }
  return out;
}

/** Resources and workloads of one file; any invalid resource rejects the whole file. */
export function parseLabFile(text: string, source: string): LabFile {
  const workloadDocs = topDocuments(text).filter((d) => isWorkloadDocument(d.value));
  const skip = new Set(workloadDocs.map((d) => d.document));
  const { documents, issues } = loadManifests(text, source);
  // The model does not know apps/v1 and batch/v1: those documents are the controllers' to read.
  const problems = issues.filter((i) => !(i.document !== undefined && i.item === undefined && skip.has(i.document)));
  if (problems.length > 0) {
    throw new LabError('InvalidResource', `${source} has ${problems.length} problem(s); nothing was applied:\n  ${problems.map(formatIssue).join('\n  ')}`);
  }
  return { documents, workloads: workloadDocs.map((d) => ({ raw: d.value, where: `${source} document ${d.document} (line ${d.line})` })) };
}

export function parseDocuments(text: string, source: string): ManifestDocument[] {
  const { documents, workloads } = parseLabFile(text, source);
  if (workloads.length > 0) throw new LabError('InvalidResource', `${workloads[0]!.where}: workloads (Deployments, …) are applied with \`tabby lab apply\`, once the lab is up`);
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

export function readLabFile(file: string): LabFile {
  const { text, source } = readText(file);
  return parseLabFile(text, source);
}

/** A workload a delete names (apps/v1 or batch/v1 kind, namespace, name). */
export interface WorkloadRef {
  readonly workload: string;
  readonly namespace: string;
  readonly name: string;
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
export function parseRefs(text: string, source: string): (ResourceRef | WorkloadRef)[] {
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
  return values.map((v, i): ResourceRef | WorkloadRef => {
    if (isWorkloadDocument(v)) {
      const meta = (v as { kind: string; metadata?: { name?: unknown; namespace?: unknown } }).metadata ?? {};
      if (typeof meta.name !== 'string' || meta.name === '') throw new LabError('InvalidResource', `${source}: document ${i + 1}: metadata.name is required`);
      const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
      return { workload: (v as { kind: string }).kind, namespace, name: meta.name };
    }
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

export function readRefs(file: string): (ResourceRef | WorkloadRef)[] {
  const { text, source } = readText(file);
  return parseRefs(text, source);
}

const isKubernetes = (r: ResourceObject, kind: string): boolean => r.kind === kind && kindInfo(r.kind, r.apiVersion).kubernetes;
export const isWorkloadRef = (r: ResourceRef | WorkloadRef): r is WorkloadRef => 'workload' in r;
export const isPodRef = (r: ResourceRef): boolean => r.kind.kubernetes && r.kind.kind === 'Pod';
export const isNamespaceRef = (r: ResourceRef): boolean => r.kind.kubernetes && r.kind.kind === 'Namespace';
export const isPod = (d: ManifestDocument): boolean => isKubernetes(d.resource, 'Pod');
export const isNamespace = (d: ManifestDocument): boolean => isKubernetes(d.resource, 'Namespace');

/** "document 3 of pods.yaml": how a document is named in the lab's messages. */
export const whereOf = (d: ManifestDocument): string => `${d.source} ${d.item === undefined ? '' : `item ${d.item} of the List in `}document ${d.index} (line ${d.line})`;
