// Rendering resources for `tabbyctl get -o ...` (and any command group that prints resources).
//
// Formats: the default table (calicoctl's NAME ... columns), `wide` (more columns), `yaml`,
// `json` and `name` (`<singular>/<name>` per line, as kubectl -o name). YAML and JSON print a
// single object when one named resource was asked for, and otherwise a `<Kind>List` with the
// list's resourceVersion, as calicoctl does. YAML is written in the 1.1 style Go tools read back
// (strings like "yes"/"on" quoted) with list items not indented under their key.

import { stringify } from 'yaml';
import type { KindInfo, ResourceObject } from '../model/index.js';
import { type TableResource, columnsFor, columnsKey, renderTable } from './columns.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'Usage';
}

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  const f = value.toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(f)) return f as OutputFormat;
  throw new UsageError(`unknown output format "${value}"; use one of yaml, json, wide, name (or leave -o out for the table)`);
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
    case 'table':
    case 'wide': {
      const columns = columnsFor(columnsKey(opts.kind), { wide: opts.format === 'wide', withNamespace: opts.withNamespace });
      const rows = items.map((r) => columns.map((c) => c.value(r as unknown as TableResource)));
      return renderTable(
        columns.map((c) => c.header),
        rows,
      );
    }
  }
}

/** kubectl-style qualifier: `ippool`, or `networkpolicy.networking.k8s.io` for a Kubernetes group kind. */
function nameQualifier(kind: KindInfo): string {
  const slash = kind.apiVersion.indexOf('/');
  if (!kind.kubernetes || slash < 0) return kind.singular;
  return `${kind.singular}.${kind.apiVersion.slice(0, slash)}`;
}
