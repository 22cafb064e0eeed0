// The nftables policy dataplane (DESIGN.md §6, issue 14): owns table `inet tabby`. A pure
// renderer turns the policy engine's GraphEvents into nft delta scripts (sets before rules
// before jumps, one transaction per change); the PolicyDataplane driver applies them with
// `nft -f -`, syncs at start without flushing a correct table, and repairs drift by comparing
// `nft -j list table inet tabby` with the desired state.

export { NftPolicyRenderer, type RenderedDelta } from './renderer.js';
export { PolicyDataplane, nftRunner, NftError, type NftRunner, type ApplyRecord, type RuleCounter } from './driver.js';
export { parseListing, repairScript, ListingError, type ObservedTable } from './reconcile.js';
export { TABLE, TABLE_REF, MARK_ACCEPT, MARK_PASS, policyChain, profileChain, workloadChain, hostChain, setName } from './names.js';
