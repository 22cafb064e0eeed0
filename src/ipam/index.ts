// IPAM: Calico's block allocator over the Datastore contract, and the maintenance behind
// `tabbyctl ipam`. Owns every read and write of IPAM records (blocks, affinities, handles, the
// IPAM configuration) except their keys and stored form, which are the model's. `core/` holds
// the pure decisions (no I/O, clocks, randomness or module-level state); everything else drives
// them.
// CNI, the agent, the controllers and tabbyctl import from here only.

// The service: assignment, release, tunnel addresses.
export * from './api.js';
export { BlockAllocator, type AllocatorOptions } from './allocator.js';
export { IpamStore } from './store.js';
export { checkPoolOverlap, poolFromResource, type IpamPool } from './core/pools.js';

// Maintenance: `tabbyctl ipam show|check|release|configure|split`.
export { type ConfigureOptions, IpamOperationError, type ShowResult, ipamCheck, ipamConfigure, ipamRelease, ipamShow } from './operations.js';
export type { AddressInfo, BorrowedReport, UtilisationRow } from './core/show.js';
export { type ReportReleaseResult, releaseFromReports } from './release-from-report.js';
export { type SplitResult, ipamSplit } from './pool-split.js';
export { type ParsedReport, ReportError, parseReport } from './core/check-report.js';
export { LOCK_HINT, UNLOCK_HINT } from './core/cluster-info.js';
export { type CheckReport, checkIpam } from './core/check.js';

// Garbage collection's decisions, for the controller that performs them (controllers/ipam-gc.ts).
export { DEFAULT_LEAK_GRACE_PERIOD_MS, type GcPlan, planGc } from './core/gc-plan.js';
export { affineNode, collectCooled, isEmpty, withAffinity } from './core/block.js';
export { classify, endpointsByIp } from './core/usage.js';

