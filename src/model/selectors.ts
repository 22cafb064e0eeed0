// Selector checks for the schemas: where a resource field holds a Calico selector, it must parse.
//
// INTEGRATION POINT (selector branch): until src/selector/ is merged, `selectorProblem` only
// applies the length limit. Once merged it must call parseSelector and report the parser's
// message and position. Do not ship without that.

/** Calico's limit on selector fields (validator: selectors are at most 1024 characters... per field). */
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
  return undefined;
}
