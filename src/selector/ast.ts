// The selector syntax tree and its canonical text (calico-internals.md §3.4).
//
// Invariants the parser guarantees and everything else relies on:
// - `and` / `or` nodes have at least two operands (a single operand is returned unwrapped).
// - `in` / `notIn` value lists are sorted in byte order of their UTF-8 encoding (Go's
//   sort.Strings) and de-duplicated.
// - Leading '!'s of one operation collapse by parity, but `!(!a)` is not(not(a)): the
//   parentheses start a new operation. Its canonical text `!!a` re-parses as `a`, so (as in
//   Calico) canonical text is a fixed point only from the second round on; the meaning never
//   changes.
// Canonical text is Calico's: ` == `-style spacing, double quotes unless the value contains a
// double quote (then single quotes; a value can never hold both, strings have no escapes),
// sets as `k in {"a", "b"}`, every and/or wrapped in parentheses, `!` with no space. Equal
// canonical text means equal selectors: Calico derives IP set names from it.

export type ValueOp = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';
export type SetOp = 'in' | 'notIn';

export type SelectorNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'global' }
  | { readonly kind: 'has'; readonly label: string }
  | { readonly kind: ValueOp; readonly label: string; readonly value: string }
  | { readonly kind: SetOp; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: 'not'; readonly operand: SelectorNode }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly SelectorNode[] };

export const VALUE_OP_TEXT: Record<ValueOp, string> = {
  eq: ' == ',
  ne: ' != ',
  contains: ' contains ',
  startsWith: ' starts with ',
  endsWith: ' ends with ',
};

/**
 * Orders strings by code point, which is the byte order of their UTF-8 encodings (Go's string
 * comparison). Plain `<` on JavaScript strings compares UTF-16 code units and would put
 * U+E000..U+FFFF after astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (D800-DFFF) above E000-FFFF so code-unit order becomes code-point order.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** Sorted, de-duplicated copy, as Calico stores set literals. */
export function toCanonicalSet(values: readonly string[]): string[] {
  const sorted = [...values].sort(compareCodePoints);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}

export function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

export function canonicalText(node: SelectorNode): string {
  const out: string[] = [];
  render(node, out);
  return out.join('');
}

function render(node: SelectorNode, out: string[]): void {
  switch (node.kind) {
    case 'all':
      out.push('all()');
      return;
    case 'global':
      out.push('global()');
      return;
    case 'has':
      out.push('has(', node.label, ')');
      return;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      out.push(node.label, VALUE_OP_TEXT[node.kind], quote(node.value));
      return;
    case 'in':
    case 'notIn':
      out.push(node.label, node.kind === 'in' ? ' in {' : ' not in {', node.values.map(quote).join(', '), '}');
      return;
    case 'not':
      out.push('!');
      render(node.operand, out);
      return;
    case 'and':
    case 'or': {
      const joiner = node.kind === 'and' ? ' && ' : ' || ';
      out.push('(');
      node.operands.forEach((operand, i) => {
        if (i > 0) out.push(joiner);
        render(operand, out);
      });
      out.push(')');
      return;
    }
  }
}

/** A copy of the tree with `prefix` put in front of every label name (Calico's PrefixVisitor). */
export function prefixLabels(node: SelectorNode, prefix: string): SelectorNode {
  switch (node.kind) {
    case 'all':
    case 'global':
      return node;
    case 'not':
      return { kind: 'not', operand: prefixLabels(node.operand, prefix) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map((o) => prefixLabels(o, prefix)) };
    default:
      return { ...node, label: prefix + node.label };
  }
}

/** True if `global()` appears anywhere in the tree. */
export function usesGlobal(node: SelectorNode): boolean {
  switch (node.kind) {
    case 'global':
      return true;
    case 'not':
      return usesGlobal(node.operand);
    case 'and':
    case 'or':
      return node.operands.some(usesGlobal);
    default:
      return false;
  }
}
