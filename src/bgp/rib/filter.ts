// Import/export prefix filters in the shape of Calico's BGPFilter rules (projectcalico.org/v3
// BGPFilter: exportV4, importV4, exportV6, importV6). Rules apply in order, the first rule that
// matches decides; a prefix no rule matches is accepted (Calico's documented default).
//
// Match semantics, as Calico renders them for BIRD: `In` = the prefix lies inside `cidr` (equal
// included), `NotIn` = it does not, `Equal`/`NotEqual` = exact prefix comparison. `prefixLength`
// bounds the prefix's length (min defaults to the cidr's own length, max to the family's width);
// with NotIn it narrows what counts as "in". A rule without cidr matches every prefix whose length
// is inside the bounds.

import { type CIDR, cidrContains, cidrEquals, familyBits } from '../../ip/index.js';

export type MatchOperator = 'Equal' | 'NotEqual' | 'In' | 'NotIn';
export type FilterAction = 'Accept' | 'Reject';

export interface FilterRule {
  readonly action: FilterAction;
  readonly cidr?: CIDR;
  readonly matchOperator?: MatchOperator;
  readonly prefixLength?: { readonly min?: number; readonly max?: number };
}

export interface PrefixFilter {
  readonly v4: readonly FilterRule[];
  readonly v6: readonly FilterRule[];
}

export const ACCEPT_ALL: PrefixFilter = { v4: [], v6: [] };

function lengthOk(rule: FilterRule, prefix: CIDR): boolean {
  const min = rule.prefixLength?.min ?? rule.cidr?.prefix ?? 0;
  const max = rule.prefixLength?.max ?? familyBits(prefix.family);
  return prefix.prefix >= min && prefix.prefix <= max;
}

export function ruleMatches(rule: FilterRule, prefix: CIDR): boolean {
  const c = rule.cidr;
  if (!c) return lengthOk(rule, prefix);
  if (c.family !== prefix.family) return false;
  switch (rule.matchOperator ?? 'In') {
    case 'Equal':
      return cidrEquals(c, prefix);
    case 'NotEqual':
      return !cidrEquals(c, prefix);
    case 'In':
      return cidrContains(c, prefix) && lengthOk(rule, prefix);
    case 'NotIn':
      return !(cidrContains(c, prefix) && lengthOk(rule, prefix));
  }
}

/** True when the filter lets the prefix through. */
export function filterAccepts(filter: PrefixFilter, prefix: CIDR): boolean {
  const rules = prefix.family === 4 ? filter.v4 : filter.v6;
  for (const rule of rules) if (ruleMatches(rule, prefix)) return rule.action === 'Accept';
  return true;
}

export const isAcceptAll = (f: PrefixFilter): boolean => f.v4.length === 0 && f.v6.length === 0;
