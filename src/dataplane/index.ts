// The dataplane module: desired state → diff → one batched apply → periodic resync, for routes,
// neighbours, FDB entries, VXLAN devices and natOutgoing (ARCHITECTURE.md, "Routes and VXLAN").
// `core/` is pure (the cluster view, the desired-state computation, kernel-state parsing and
// planning, the NAT renderer); the rest drives the kernel and the datastore.
export { ClusterView, WATCH_PREFIXES, parseDurationMs, type EncapMode, type LearnedRoute, type FelixSettings } from './core/cluster-view.js';
export { computeDesired, VXLAN_DEVICE, VXLAN_OVERHEAD, type DesiredState, type RouteEntry, type HostFacts } from './core/desired.js';
export { ROUTE_PROTOCOL, planApply, type KernelState } from './core/kernel-state.js';
export { NAT_TABLE, renderNat } from './core/nat.js';
export { KernelDriver, type CommandRunner, type CommandResult } from './kernel.js';
export { RouteReconciler, DEFAULT_ROUTE_REFRESH_MS, type ReconcilerStatus, type ReconcilerHooks } from './route-reconciler.js';
export { TunnelAddresses, randomVtepMac } from './tunnel-addresses.js';
