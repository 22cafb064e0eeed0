// How tabbyctl words a failure on stderr.
//
// Validation errors list one line per issue — file, document number, line, kind and name, field
// path, message and rule — under a heading that says nothing was stored. Every other error is one
// `error: <message>` line; datastore trouble adds which datastore it was and what to check.

import { type ValidationIssue, formatIssue } from '../model/index.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

/** A validation issue as a line: the model's rendering plus the rule id. */
export const issueLine = (i: ValidationIssue): string => `${formatIssue(i)} [rule: ${i.rule}]`;

const hasIssues = (err: unknown): err is { issues: readonly ValidationIssue[] } =>
  typeof err === 'object' && err !== null && Array.isArray((err as { issues?: unknown }).issues);

/** The stderr text for an error, ending in a newline. */
export function formatError(err: unknown, opts: { nothingStored?: boolean; datastore?: string } = {}): string {
  if (hasIssues(err) && err.issues.length > 0) {
    const fromFiles = err.issues.some((i) => i.document !== undefined);
    const docs = new Set(err.issues.map((i) => `${i.source ?? ''}#${i.document ?? ''}#${i.item ?? ''}#${i.kind ?? ''}/${i.name ?? ''}`)).size;
    const what = fromFiles ? (docs === 1 ? '1 document is' : `${docs} documents are`) : docs === 1 ? 'the resource is' : `${docs} resources are`;
    const head = `error: ${what} invalid${opts.nothingStored ? '; nothing was stored' : ''}:`;
    return [head, ...err.issues.map((i) => `  ${issueLine(i)}`)].join('\n') + '\n';
  }
  const message = err instanceof Error ? err.message : String(err);
  if (exitCodeFor(err) === ExitCode.Unavailable) {
    const where = opts.datastore ? ` (${opts.datastore})` : '';
    return (
      `error: datastore unavailable${where}: ${message}\n` +
      'hint: check that etcd is running and that --etcd-endpoints / ETCD_ENDPOINTS and the TLS files are right\n'
    );
  }
  return `error: ${message}\n`;
}
