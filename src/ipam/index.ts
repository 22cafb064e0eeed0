// The IPAM module's public surface: the allocator, the annotation helpers the CNI path uses, the
// pool overlap check, and the operations behind `tabbyctl ipam`.
export * from './api.js';
export { BlockAllocator, type AllocatorOptions } from './allocator.js';
export {
  ANNOTATION_IPV4_POOLS,
  ANNOTATION_IPV6_POOLS,
  ANNOTATION_IP_ADDRS,
  AnnotationError,
  parseIpAddrsAnnotation,
  parsePoolsAnnotation,
  resolveIpamAnnotations,
  type IpamAnnotationRequest,
} from './core/annotations.js';
export { checkPoolOverlap, poolFromResource, type IpamPool } from './core/pools.js';
export { IpamStore } from './store.js';
