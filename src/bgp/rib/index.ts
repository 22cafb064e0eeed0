// The RIBs and route decision of the BGP speaker, pure: one table per family holding every
// peer's paths (Adj-RIB-In after policy + Loc-RIB), best-path selection, iBGP/eBGP and
// route-reflection rules, Calico-shaped prefix filters and the per-peer Adj-RIB-Out queues.
export { Rib, RibEntry, LOCAL_SLOT, type PeerCounters, type RibPeer, type OutBatch, type BestChangeListener } from './rib.js';
export { getBit, setBit, PEND, ADV, Journal, type OutBits } from './adj-rib-out.js';
export { AttrSet, AttrTable, DEFAULT_LOCAL_PREF, type RouteSource, type NextHop, type OutAttrs, type SourceKind } from './attrs.js';
export { comparePaths } from './decision.js';
export { exportAttrs, exportAllowed, importAttrs, importLoop, type ExportTarget, type LocalSpeaker } from './policy.js';
export { filterAccepts, ruleMatches, ACCEPT_ALL, type FilterRule, type PrefixFilter, type MatchOperator, type FilterAction } from './filter.js';
export { PrefixTable } from './prefix-table.js';
