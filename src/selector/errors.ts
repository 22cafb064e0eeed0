// The one error a selector can raise: where in the text it went wrong and what would be right.
//
// `code` is the same for every selector problem ('InvalidSelector', like IPParseError's
// 'InvalidIP'); `problem` names the kind of mistake for callers that want to branch on it.
// `position` is a 0-based offset into `input` (UTF-16 code units, i.e. a JavaScript string index).

export type SelectorProblem =
  | 'UnterminatedString'
  | 'UnexpectedCharacter'
  | 'IncompleteOperator'
  | 'ExpectedOperator'
  | 'ExpectedLabel'
  | 'LabelTooLong'
  | 'ExpectedCloseParen'
  | 'ExpectedValue'
  | 'ExpectedSet'
  | 'ExpectedSetItem'
  | 'ExpectedExpression'
  | 'TooDeep'
  | 'TrailingInput';

export class SelectorParseError extends Error {
  override readonly name = 'SelectorParseError';
  readonly code = 'InvalidSelector';

  constructor(
    readonly input: string,
    readonly position: number,
    readonly problem: SelectorProblem,
    /** What was wrong and what would be right, without the location prefix. */
    readonly detail: string,
  ) {
    super(`invalid selector ${quoteInput(input, position)} at position ${position}: ${detail}`);
  }
}

/** The whole input when short; otherwise its length and the text around the position. */
function quoteInput(input: string, position: number): string {
  if (input.length <= 120) return JSON.stringify(input);
  const from = Math.max(0, position - 30);
  const near = `${from > 0 ? '…' : ''}${input.slice(from, position + 30)}${position + 30 < input.length ? '…' : ''}`;
  return `(${input.length} characters) near ${JSON.stringify(near)}`;
}

/** Describes the text at `pos` for an error message: a short excerpt or "end of selector". */
export function describeAt(input: string, pos: number): string {
  if (pos >= input.length) return 'end of selector';
  const rest = input.slice(pos);
  const excerpt = rest.length > 20 ? `${rest.slice(0, 20)}…` : rest;
  return JSON.stringify(excerpt);
}
