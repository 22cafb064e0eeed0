// Lexer for Calico's selector language (calico-internals.md §3.1).
//
// Rules, all of them Calico's:
// - Whitespace is space and tab only; anything else outside a string is a token or an error.
// - A label is 1..512 characters from [a-zA-Z0-9_./-] (no colons).
// - Strings are '…' or "…" with no escapes: the literal ends at the next matching quote.
// - `has(` must be written with no space before `(`; `has( a )`, `all( )`, `global( )` are fine.
// - The word operators (contains, starts with, ends with, not in, in) are recognised only right
//   after a label, and only when a word boundary follows (a non-label character or the end).
//   The two-word ones accept any run of spaces/tabs between the words, including none
//   (`startswith`, `notin`). Anywhere else those words are ordinary labels.
// - A lone `=`, `&` or `|` is an error; `!` alone is negation, `!=` is not-equal.
// Every token records the offset where it starts, for error messages.

import { SelectorParseError, describeAt, type SelectorProblem } from './errors.js';

export const MAX_LABEL_LENGTH = 512;

export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'in'
  | 'notIn'
  | 'not'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'all'
  | 'has'
  | 'global'
  | 'lparen'
  | 'rparen'
  | 'and'
  | 'or'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The label name (label, has) or the string contents (string); '' otherwise. */
  readonly value: string;
  /** 0-based offset of the token's first character in the input. */
  readonly pos: number;
}

/** How each token kind reads in an error message. */
export const TOKEN_DESCRIPTIONS: Record<TokenKind, string> = {
  label: 'a label',
  string: 'a quoted string',
  lbrace: "'{'",
  rbrace: "'}'",
  comma: "','",
  eq: "'=='",
  ne: "'!='",
  in: "'in'",
  notIn: "'not in'",
  not: "'!'",
  contains: "'contains'",
  startsWith: "'starts with'",
  endsWith: "'ends with'",
  all: "'all()'",
  has: "'has(…)'",
  global: "'global()'",
  lparen: "'('",
  rparen: "')'",
  and: "'&&'",
  or: "'||'",
  eof: 'end of selector',
};

const SINGLE_CHAR: Partial<Record<string, TokenKind>> = {
  '(': 'lparen',
  ')': 'rparen',
  '{': 'lbrace',
  '}': 'rbrace',
  ',': 'comma',
};

const WORD_OPERATORS: readonly { words: readonly string[]; kind: TokenKind }[] = [
  { words: ['contains'], kind: 'contains' },
  { words: ['starts', 'with'], kind: 'startsWith' },
  { words: ['ends', 'with'], kind: 'endsWith' },
  { words: ['not', 'in'], kind: 'notIn' },
  { words: ['in'], kind: 'in' },
];

export function isLabelChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/** True if `label` is a valid selector label (what Calico's tokenizer.ValidLabel accepts). */
export function isValidLabel(label: string): boolean {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH) return false;
  for (let i = 0; i < label.length; i++) if (!isLabelChar(label.charCodeAt(i))) return false;
  return true;
}

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  const fail = (pos: number, problem: SelectorProblem, detail: string): never => {
    throw new SelectorParseError(input, pos, problem, detail);
  };
  const skipBlanks = (from: number): number => {
    let i = from;
    while (i < input.length && isBlank(input.charCodeAt(i))) i++;
    return i;
  };
  const labelEnd = (from: number): number => {
    let i = from;
    while (i < input.length && isLabelChar(input.charCodeAt(i))) i++;
    return i;
  };
  /** Reads a label at `from` (which must start one), checking its length. */
  const readLabel = (from: number, context: string): [string, number] => {
    const end = labelEnd(from);
    if (end === from) {
      fail(from, 'ExpectedLabel', `expected a label ${context} (letters, digits, '_', '.', '/', '-'), found ${describeAt(input, from)}`);
    }
    if (end - from > MAX_LABEL_LENGTH) {
      fail(from, 'LabelTooLong', `label is ${end - from} characters long; the limit is ${MAX_LABEL_LENGTH}`);
    }
    return [input.slice(from, end), end];
  };
  /** If the words start at `from` (blanks allowed between them) and a word boundary follows, the end. */
  const matchWords = (from: number, words: readonly string[]): number | undefined => {
    let i = from;
    for (const word of words) {
      if (!input.startsWith(word, i)) return undefined;
      i += word.length;
      // Like Calico, two-word operators skip blanks after each word, the last one included, so
      // the boundary test sees the next token: `a starts with x` is refused, `a in x` is not.
      if (words.length > 1) i = skipBlanks(i);
    }
    if (i < input.length && isLabelChar(input.charCodeAt(i))) return undefined;
    return i;
  };
  /** After `name(`: optional blanks then `)`. */
  const closeEmptyCall = (from: number, name: string): number => {
    const i = skipBlanks(from);
    if (input[i] !== ')') fail(i, 'ExpectedCloseParen', `expected ')' to close '${name}(', found ${describeAt(input, i)}`);
    return i + 1;
  };

  let i = 0;
  for (;;) {
    i = skipBlanks(i);
    if (i >= input.length) {
      tokens.push({ kind: 'eof', value: '', pos: input.length });
      return tokens;
    }
    const start = i;
    const ch = input[i]!;
    const single = SINGLE_CHAR[ch];
    if (single !== undefined) {
      tokens.push({ kind: single, value: '', pos: start });
      i++;
      continue;
    }
    switch (ch) {
      case '"':
      case "'": {
        const close = input.indexOf(ch, i + 1);
        if (close === -1) fail(start, 'UnterminatedString', `string starting here has no closing ${ch}`);
        tokens.push({ kind: 'string', value: input.slice(i + 1, close), pos: start });
        i = close + 1;
        continue;
      }
      case '=':
        if (input[i + 1] !== '=') fail(start, 'IncompleteOperator', "a lone '=' is not an operator; use '=='");
        tokens.push({ kind: 'eq', value: '', pos: start });
        i += 2;
        continue;
      case '!':
        if (input[i + 1] === '=') {
          tokens.push({ kind: 'ne', value: '', pos: start });
          i += 2;
        } else {
          tokens.push({ kind: 'not', value: '', pos: start });
          i++;
        }
        continue;
      case '&':
        if (input[i + 1] !== '&') fail(start, 'IncompleteOperator', "a lone '&' is not an operator; use '&&'");
        tokens.push({ kind: 'and', value: '', pos: start });
        i += 2;
        continue;
      case '|':
        if (input[i + 1] !== '|') fail(start, 'IncompleteOperator', "a lone '|' is not an operator; use '||'");
        tokens.push({ kind: 'or', value: '', pos: start });
        i += 2;
        continue;
    }

    const previous = tokens.length > 0 ? tokens[tokens.length - 1]!.kind : undefined;
    if (previous === 'label') {
      // Right after a label only an operator may follow.
      let matched = false;
      for (const op of WORD_OPERATORS) {
        const end = matchWords(i, op.words);
        if (end !== undefined) {
          tokens.push({ kind: op.kind, value: '', pos: start });
          i = end;
          matched = true;
          break;
        }
      }
      if (!matched) {
        const label = tokens[tokens.length - 1]!.value;
        const hint = ch === ':' ? " (':' is not allowed in label names)" : '';
        fail(
          start,
          'ExpectedOperator',
          `expected an operator (==, !=, in, not in, contains, starts with, ends with) after label ${JSON.stringify(label)}, found ${describeAt(input, start)}${hint}`,
        );
      }
      continue;
    }
    if (input.startsWith('has(', i)) {
      const [label, end] = readLabel(skipBlanks(i + 4), "inside 'has('");
      const close = skipBlanks(end);
      if (input[close] !== ')') fail(close, 'ExpectedCloseParen', `expected ')' to close 'has(${label}', found ${describeAt(input, close)}`);
      tokens.push({ kind: 'has', value: label, pos: start });
      i = close + 1;
      continue;
    }
    if (input.startsWith('all(', i)) {
      i = closeEmptyCall(i + 4, 'all');
      tokens.push({ kind: 'all', value: '', pos: start });
      continue;
    }
    if (input.startsWith('global(', i)) {
      i = closeEmptyCall(i + 7, 'global');
      tokens.push({ kind: 'global', value: '', pos: start });
      continue;
    }
    if (!isLabelChar(input.charCodeAt(i))) {
      fail(start, 'UnexpectedCharacter', `unexpected character ${JSON.stringify(String.fromCodePoint(input.codePointAt(i)!))}; expected a label, a quoted string, an operator or a parenthesis`);
    }
    const [label, end] = readLabel(i, 'here');
    tokens.push({ kind: 'label', value: label, pos: start });
    i = end;
  }
}
