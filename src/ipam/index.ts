// The IPAM module's public surface: the `Ipam` API and its errors, the block allocator, the pool
// overlap check and the store. Pod annotations are parsed by the model (model/annotations.ts).
export * from './api.js';
export { BlockAllocator, type AllocatorOptions } from './allocator.js';
export { checkPoolOverlap, poolFromResource, type IpamPool } from './core/pools.js';
export { IpamStore } from './store.js';
export { type AllocationAttrs, type AssignedAddress, IpamError } from './api.js';
export { affineNode, collectCooled, encodeBlock, isEmpty, withAffinity } from './core/block.js';
export { checkIpam } from './core/check.js';
export { CLUSTER_INFO_KEY, LOCK_HINT, UNLOCK_HINT, clusterMetaOf } from './core/cluster-info.js';
export { DEFAULT_LEAK_GRACE_PERIOD_MS, type GcPlan, planGc } from './core/gc-plan.js';
export { MAX_IP_COOLDOWN_SECONDS, encodeAffinity, encodeHandle } from './core/records.js';
export { type ParsedReport, ReportError, mergeReports, parseReport } from './core/report.js';
export { addressInfo } from './core/show.js';
export { splitCidr, splitPoolName } from './core/split.js';
export { classify, endpointsByIp } from './core/usage.js';
export { IpamOperationError, REPORT_VERSION, type Rendered, ipamCheck, ipamConfigure, ipamRelease, ipamShow } from './operations.js';
export { IPPOOL_PREFIX } from './core/keys.js';
