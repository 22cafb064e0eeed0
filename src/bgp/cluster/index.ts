// The cluster renderer (pure): Calico's BGP resources and IPAM state → this node's speaker
// configuration, as Calico's confd renders BIRD's (calico-internals.md §7).
export { renderNodeBgp, hashRouterID } from './render.js';
export * from './types.js';
