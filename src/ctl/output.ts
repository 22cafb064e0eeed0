// Rendering resources for `tabbyctl get -o ...` (and any command group that prints resources).
//
// Formats: the default table (calicoctl's NAME ... columns), `wide` (more columns), `yaml`,
// `json`, `name` (`<singular>/<name>` per line, as kubectl -o name, which `get` and `delete`
// read back), and kubectl's `custom-columns=HEADER:.path,…` and `jsonpath=TEMPLATE`
// (jsonpath.ts). YAML and JSON print a
// single object when one named resource was asked for, and otherwise a `<Kind>List` with the
// list's resourceVersion, as calicoctl does. YAML is written in the 1.1 style Go tools read back
// (strings like "yes"/"on" quoted) with list items not indented under their key.

import { stringify } from 'yaml';
import type { KindInfo, ResourceObject } from '../model/index.js';
import { type Column, type TableResource, columnsFor, columnsKey, renderTable } from './columns.js';
import { parsePath, parseTemplate, runTemplate, select } from './jsonpath.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json', 'name', 'custom-columns', 'jsonpath'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'Usage';
}

/** `-o`: a format, and for custom-columns and jsonpath the text after "=". */
export interface Output {
  readonly format: OutputFormat;
  readonly template?: string;
}

export function parseOutput(value: string | undefined): Output {
  if (value === undefined || value === '') return { format: 'table' };
  const eq = value.indexOf('=');
  const f = (eq < 0 ? value : value.slice(0, eq)).toLowerCase();
  if ((f === 'custom-columns' || f === 'jsonpath') && eq > 0) {
    const template = value.slice(eq + 1);
    if (template === '') throw new UsageError(`-o ${f}= needs a template, e.g. ${f === 'jsonpath' ? "-o jsonpath='{.items[*].metadata.name}'" : '-o custom-columns=NAME:.metadata.name,CIDR:.spec.cidr'}`);
    return { format: f, template };
  }
  if (f !== 'custom-columns' && f !== 'jsonpath' && (OUTPUT_FORMATS as readonly string[]).includes(f)) return { format: f as OutputFormat };
  throw new UsageError(`unknown output format "${value}"; use one of yaml, json, wide, name, custom-columns=SPEC, jsonpath=TEMPLATE (or leave -o out for the table)`);
}

export function parseOutputFormat(value: string | undefined): OutputFormat {
  return parseOutput(value).format;
}

export function toYaml(value: unknown): string {
  return stringify(value, { version: '1.1', indentSeq: false, lineWidth: 0 });
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export interface RenderOptions {
  readonly format: OutputFormat;
  readonly kind: KindInfo;
  /** One named resource was asked for: YAML/JSON print it bare instead of inside a List. */
  readonly single: boolean;
  /** Revision of the read, for the List's metadata. */
  readonly resourceVersion: string;
  /** Add a NAMESPACE column (listing a namespaced kind across namespaces). */
  readonly withNamespace: boolean;
  /** custom-columns spec or jsonpath template (with those formats). */
  readonly template?: string;
  /** Tables: leave the header line out. */
  readonly noHeaders?: boolean;
  /** Tables: add a LABELS column. */
  readonly showLabels?: boolean;
}

export function renderResources(items: readonly ResourceObject[], opts: RenderOptions): string {
  switch (opts.format) {
    case 'yaml':
    case 'json': {
      const value =
        opts.single && items.length === 1
          ? items[0]
          : { apiVersion: opts.kind.apiVersion, kind: `${opts.kind.kind}List`, metadata: { resourceVersion: opts.resourceVersion }, items };
      return opts.format === 'yaml' ? toYaml(value) : toJson(value);
    }
    case 'name':
      return items.map((r) => `${nameQualifier(opts.kind)}/${r.metadata.name}\n`).join('');
    case 'jsonpath': {
      const value = opts.single && items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items };
      return runTemplate(parseTemplate(opts.template ?? ''), value);
    }
    case 'custom-columns':
    case 'table':
    case 'wide': {
      const columns =
        opts.format === 'custom-columns'
          ? customColumns(opts.template ?? '')
          : columnsFor(columnsKey(opts.kind), { wide: opts.format === 'wide', withNamespace: opts.withNamespace, showLabels: opts.showLabels === true });
      const rows = items.map((r) => columns.map((c) => c.value(r as unknown as TableResource)));
      return renderTable(
        columns.map((c) => c.header),
        rows,
        { noHeaders: opts.noHeaders === true },
      );
    }
  }
}

/** kubectl's `-o custom-columns=HEADER:.json.path,…` (a missing field prints as <none>). */
export function customColumns(spec: string): Column[] {
  return spec.split(',').map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0 || colon === part.length - 1) {
      throw new UsageError(`custom-columns: "${part}" is not HEADER:PATH (e.g. NAME:.metadata.name)`);
    }
    const header = part.slice(0, colon);
    let path = part.slice(colon + 1).trim();
    if (path.startsWith('{') && path.endsWith('}')) path = path.slice(1, -1);
    const steps = parsePath(path.startsWith('.') || path.startsWith('[') ? path : `.${path}`);
    return {
      header,
      value: (r: TableResource) => {
        const found = select(r, steps);
        return found.length === 0 ? '<none>' : found.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
      },
    };
  });
}

/** kubectl-style qualifier: `ippool`, or `networkpolicy.networking.k8s.io` for a Kubernetes group kind. */
function nameQualifier(kind: KindInfo): string {
  const slash = kind.apiVersion.indexOf('/');
  if (!kind.kubernetes || slash < 0) return kind.singular;
  return `${kind.singular}.${kind.apiVersion.slice(0, slash)}`;
}
