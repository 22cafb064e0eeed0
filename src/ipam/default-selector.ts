// The selector parser IPAM uses for pools' nodeSelector and namespaceSelector unless the caller
// injects one. Until the selector module lands this understands only `all()` (Calico's default
// nodeSelector) and the empty selector, and refuses anything else with a clear error rather than
// guessing.

import type { LabelMatcher, SelectorParser } from './core/pools.js';

const ALL: LabelMatcher = { matches: () => true };

export const defaultSelectorParser: SelectorParser = (text) => {
  const t = text.trim();
  if (t === '' || t === 'all()') return ALL;
  throw new Error(`selector "${text}" needs the selector module, which this build does not have yet`);
};
