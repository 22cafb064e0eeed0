// Reading the resource files given to `tabby lab up -f` / `apply -f` / `delete -f`.
//
// Multi-document YAML or JSON (a `List` or an array yields its items); every document must carry
// apiVersion, kind and metadata.name. Errors name the file and document number.

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { LabError } from './errors.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export interface LabDocument {
  readonly where: string;
  readonly object: Obj;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export function parseDocuments(text: string, source: string): LabDocument[] {
  const out: LabDocument[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const values: unknown[] = [];
  for (const [i, doc] of (Array.isArray(docs) ? docs : []).entries()) {
    const err = doc.errors[0];
    if (err !== undefined) throw new LabError('InvalidResource', `${source} document ${i + 1}: syntax error: ${err.message.split('\n')[0]}`);
    if (doc.contents === null) continue;
    const value = doc.toJS() as unknown;
    if (Array.isArray(value)) values.push(...value);
    else if (isObj(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) values.push(...value.items);
    else values.push(value);
  }
  values.forEach((value, i) => {
    const where = `${source} document ${i + 1}`;
    if (!isObj(value)) throw new LabError('InvalidResource', `${where}: a resource must be an object with apiVersion, kind and metadata`);
    for (const f of ['apiVersion', 'kind'] as const) {
      if (typeof value[f] !== 'string' || value[f] === '') throw new LabError('InvalidResource', `${where}: ${f} is required`);
    }
    const meta = isObj(value.metadata) ? value.metadata : {};
    if (typeof meta.name !== 'string' || meta.name === '') throw new LabError('InvalidResource', `${where} (${String(value.kind)}): metadata.name is required`);
    out.push({
      where,
      object: value,
      apiVersion: value.apiVersion as string,
      kind: value.kind as string,
      name: meta.name,
      ...(typeof meta.namespace === 'string' && meta.namespace !== '' ? { namespace: meta.namespace } : {}),
    });
  });
  return out;
}

export function readDocuments(file: string): LabDocument[] {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new LabError('InvalidArgument', `cannot read ${file}: ${(e as Error).message}`);
  }
  return parseDocuments(text, file === '-' ? 'stdin' : file);
}

export const isPod = (d: LabDocument): boolean => d.apiVersion === 'v1' && d.kind === 'Pod';
export const isNamespace = (d: LabDocument): boolean => d.apiVersion === 'v1' && d.kind === 'Namespace';
