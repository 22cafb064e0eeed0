// Recursive-descent parser: tokens → SelectorNode (calico-internals.md §3.2).
//
//   selector := ε | or
//   or       := and ( "||" and )*
//   and      := op ( "&&" op )*
//   op       := "!"* ( has(label) | all() | global() | "(" or ")"
//                    | label ("=="|"!="|contains|starts with|ends with) string
//                    | label ("in"|"not in") "{" [ string ("," string)* [","] ] "}" )
//
// The language accepted is exactly Calico's, including its quirks: an empty or blank selector
// is all(); `{}` is allowed; a trailing comma before `}` is accepted; leading '!'s collapse by
// parity; source parentheses leave no trace in the tree.

import type { SelectorNode, SetOp, ValueOp } from './ast.js';
import { toCanonicalSet } from './ast.js';
import { SelectorParseError, type SelectorProblem } from './errors.js';
import { TOKEN_DESCRIPTIONS, tokenize, type Token, type TokenKind } from './tokenizer.js';

const VALUE_OPS: Partial<Record<TokenKind, ValueOp>> = {
  eq: 'eq',
  ne: 'ne',
  contains: 'contains',
  startsWith: 'startsWith',
  endsWith: 'endsWith',
};
const SET_OPS: Partial<Record<TokenKind, SetOp>> = { in: 'in', notIn: 'notIn' };

const ALL: SelectorNode = { kind: 'all' };

/**
 * Deepest nesting of parentheses the parser follows. Calico's selectors nest a few levels; the
 * limit keeps a hostile selector from exhausting the stack ("Maximum call stack size exceeded")
 * and turns it into an error with a position.
 */
export const MAX_SELECTOR_NESTING = 100;

export function parseSelectorText(input: string): SelectorNode {
  return new Parser(input, tokenize(input)).parseSelector();
}

class Parser {
  private next = 0;
  private depth = 0;

  constructor(
    private readonly input: string,
    private readonly tokens: readonly Token[],
  ) {}

  parseSelector(): SelectorNode {
    if (this.peek().kind === 'eof') return ALL;
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      this.fail(rest, 'TrailingInput', `expected '&&', '||' or the end of the selector, found ${this.describe(rest)}`);
    }
    return node;
  }

  private peek(): Token {
    // The token list always ends with eof and the parser never moves past it.
    return this.tokens[this.next]!;
  }

  private take(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.next++;
    return token;
  }

  private describe(token: Token): string {
    const what = TOKEN_DESCRIPTIONS[token.kind];
    if (token.kind === 'label') return `${what} ${JSON.stringify(token.value)}`;
    if (token.kind === 'string') return `${what} ${JSON.stringify(token.value)}`;
    return what;
  }

  private fail(token: Token, problem: SelectorProblem, detail: string): never {
    throw new SelectorParseError(this.input, token.pos, problem, detail);
  }

  private parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.take();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  private parseAnd(): SelectorNode {
    const operands = [this.parseOperation()];
    while (this.peek().kind === 'and') {
      this.take();
      operands.push(this.parseOperation());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  private parseOperation(): SelectorNode {
    let negated = false;
    while (this.peek().kind === 'not') {
      this.take();
      negated = !negated;
    }
    const node = this.parseTerm();
    return negated ? { kind: 'not', operand: node } : node;
  }

  private parseTerm(): SelectorNode {
    const token = this.take();
    switch (token.kind) {
      case 'has':
        return { kind: 'has', label: token.value };
      case 'all':
        return ALL;
      case 'global':
        return { kind: 'global' };
      case 'lparen': {
        if (++this.depth > MAX_SELECTOR_NESTING) {
          this.fail(token, 'TooDeep', `parentheses nest more than ${MAX_SELECTOR_NESTING} levels deep here; flatten the expression`);
        }
        const inner = this.parseOr();
        this.depth--;
        const close = this.take();
        if (close.kind !== 'rparen') {
          this.fail(close, 'ExpectedCloseParen', `expected ')' to close the '(' at position ${token.pos}, found ${this.describe(close)}`);
        }
        return inner;
      }
      case 'label':
        return this.parseMatch(token);
      default:
        return this.fail(
          token,
          'ExpectedExpression',
          `expected a label comparison, has(…), all(), global(), '!' or '(', found ${this.describe(token)}`,
        );
    }
  }

  /** label <op> "value"  or  label [not] in { … } */
  private parseMatch(labelToken: Token): SelectorNode {
    const label = labelToken.value;
    const op = this.take();
    const valueOp = VALUE_OPS[op.kind];
    if (valueOp !== undefined) {
      const value = this.take();
      if (value.kind !== 'string') {
        this.fail(value, 'ExpectedValue', `expected a quoted string after ${TOKEN_DESCRIPTIONS[op.kind]}, found ${this.describe(value)}`);
      }
      return { kind: valueOp, label, value: value.value };
    }
    const setOp = SET_OPS[op.kind];
    if (setOp !== undefined) return { kind: setOp, label, values: this.parseSet(op) };
    const hint =
      op.kind === 'lparen' && (label === 'has' || label === 'all' || label === 'global')
        ? ` (write '${label}(' with no space before the parenthesis)`
        : '';
    return this.fail(
      op,
      'ExpectedOperator',
      `expected an operator (==, !=, in, not in, contains, starts with, ends with) after label ${JSON.stringify(label)}, found ${this.describe(op)}${hint}`,
    );
  }

  private parseSet(op: Token): string[] {
    const open = this.take();
    if (open.kind !== 'lbrace') {
      this.fail(open, 'ExpectedSet', `expected a set literal such as {"a", "b"} after ${TOKEN_DESCRIPTIONS[op.kind]}, found ${this.describe(open)}`);
    }
    const values: string[] = [];
    let wantItem = true; // at the start or right after a comma
    while (this.peek().kind === 'string') {
      values.push(this.take().value);
      wantItem = false;
      if (this.peek().kind !== 'comma') break;
      this.take();
      wantItem = true;
    }
    const close = this.take();
    if (close.kind !== 'rbrace') {
      const expected = wantItem ? "a quoted string or '}'" : "',' or '}'";
      this.fail(close, 'ExpectedSetItem', `expected ${expected} in the set opened at position ${open.pos}, found ${this.describe(close)}`);
    }
    return toCanonicalSet(values);
  }
}
