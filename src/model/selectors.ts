// Selector checks for the schemas: where a resource field holds a Calico selector, it must
// parse, and the parser's own message (with the position) is what the user sees.
//
// Calico's limits on top of the grammar: a selector field is at most 1024 characters, and
// global() is only meaningful as the whole of an EntityRule namespaceSelector (the callers in
// resources/ decide where it is allowed; see rules.ts and ippool.ts).

import { checkSelector } from '../selector/index.js';

export const MAX_SELECTOR_LENGTH = 1024;

export interface SelectorOptions {
  /** Allow `global()` (only as the whole of an EntityRule namespaceSelector). */
  readonly allowGlobal?: boolean;
}

/** A message saying what is wrong with the selector, or undefined if it is valid. */
export function selectorProblem(text: string, _opts: SelectorOptions = {}): string | undefined {
  if (text.length > MAX_SELECTOR_LENGTH) {
    return `selector is ${text.length} characters long; at most ${MAX_SELECTOR_LENGTH} are allowed`;
  }
  const checked = checkSelector(text);
  return checked.ok ? undefined : checked.error.message;
}
