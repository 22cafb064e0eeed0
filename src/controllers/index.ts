// The cluster controllers (Calico's kube-controllers): IPAM garbage collection and the loop that
// runs it with its configured grace period. What other folders may use.
export { type GcPassResult, IpamGarbageCollector, renderGcResult, runIpamGcLoop } from './ipam-gc.js';
export { type ControllersOptions, KUBE_CONTROLLERS_CONFIG_KEY, configuredLeakGracePeriod, runControllers } from './run.js';
