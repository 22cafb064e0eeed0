// The IPAM module's public surface: the `Ipam` API and its errors, the block allocator, the pool
// overlap check and the store. Pod annotations are parsed by the model (model/annotations.ts).
export * from './api.js';
export { BlockAllocator, type AllocatorOptions } from './allocator.js';
export { checkPoolOverlap, poolFromResource, type IpamPool } from './core/pools.js';
export { IpamStore } from './store.js';
