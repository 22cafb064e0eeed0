// Validation issues and the error that carries them.
//
// An issue says where (file, document, line, kind and name of the object, field path), which rule
// (a short stable id, e.g. "cidr-host-bits") and what was wrong and what would be right. The
// rendered form is one line per issue:
//   pools.yaml: document 2 (line 14) IPPool "bad": spec.cidr: host bits are set; the network is 10.0.0.0/16

/** A field path as a list of object keys and array indexes. */
export type FieldPath = readonly (string | number)[];

/** Where a document came from: file (or "-"), 1-based document number, and a way to find lines. */
export interface Where {
  readonly source?: string;
  readonly document?: number;
  /** 1-based item of a List (or top-level array) that `document` holds. */
  readonly item?: number;
  /** Line of the document's start (1-based). */
  readonly line?: number;
  /** Line of a field inside the document, when the text is at hand. */
  readonly lineOf?: (path: FieldPath) => number | undefined;
}

export interface ValidationIssue {
  readonly source?: string;
  readonly document?: number;
  readonly item?: number;
  readonly line?: number;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  /** Rendered field path, e.g. "spec.ingress[0].destination.ports[1]"; "" for the whole document. */
  readonly path: string;
  /** Short stable rule id, e.g. "cidr-host-bits", "unknown-field", "required". */
  readonly rule: string;
  readonly message: string;
}

export function formatPath(path: FieldPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

export function formatIssue(i: ValidationIssue): string {
  let head = i.source === undefined ? '' : `${i.source}: `;
  const line = i.line === undefined ? '' : ` (line ${i.line})`;
  if (i.document !== undefined && i.item !== undefined) head += `item ${i.item} of the List in document ${i.document}${line} `;
  else if (i.document !== undefined) head += `document ${i.document}${line} `;
  else if (i.line !== undefined) head += `line ${i.line} `;
  if (i.kind !== undefined) {
    head += i.kind;
    if (i.name !== undefined) head += ` "${i.namespace === undefined ? '' : `${i.namespace}/`}${i.name}"`;
  }
  head = head.trimEnd();
  if (head.endsWith(':')) head = head.slice(0, -1);
  return `${head === '' ? '' : `${head}: `}${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly code = 'Invalid';
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}
