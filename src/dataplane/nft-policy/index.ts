// The nftables policy dataplane (DESIGN.md §6, issue 14): owns table `inet tabby`. A pure
// renderer turns the policy engine's GraphEvents into nft delta scripts (sets before rules
// before jumps, one transaction per change); the PolicyDataplane driver applies them with
// `nft -f -`, syncs at start without flushing a correct table, and repairs drift by comparing
// `nft -j list table inet tabby` with the desired state. Host endpoints are resolved onto the
// kernel's interfaces by name or address (readHostInterfaces / HostInterfaceWatcher). VXLAN
// between nodes is accepted ahead of host endpoint policy (the graph's overlay-updated).

export { NftPolicyRenderer, PROFILE_TIER, NDP_TYPES, type RenderedDelta, type RendererOptions, type LogEntry } from './renderer.js';
export { PolicyDataplane, nftRunner, NftError, type NftRunner, type ApplyRecord, type RuleCounter } from './driver.js';
export { parseListing, repairScript, ListingError, type ObservedTable } from './reconcile.js';
export { TABLE, TABLE_REF, MARK_ACCEPT, MARK_PASS, MARK_HEP_DONE, DEFAULT_LOG_GROUP, DEFAULT_LOG_RATE, policyChain, profileChain, workloadChain, hostChain, hostForwardChain, hostPreDnatChain, hostRawChain, setName, overlayPeersSet } from './names.js';
export { readHostInterfaces, parseAddrJson, sameHostInterfaces, HostInterfaceWatcher, HostInterfaceError, type HostInterfaces, type HostInterfaceWatcherOptions } from './host-interfaces.js';
export { DeniedFlowLog, FlowLogError, findNflogBinary, parseReaderLine, type DeniedFlowRecord, type DeniedFlowLogOptions } from './flow-log.js';
