// The cluster controllers (Calico's kube-controllers): IPAM garbage collection, which acts on the
// IPAM library's GC plan with compare-and-swap writes (`tabbyctl ipam gc` runs one pass), and the
// loop that runs it with its configured grace period. What other folders may use.
export { type GcPassResult, IpamGarbageCollector, type IpamGcLoopOptions, type IpamGcOptions, renderGcResult, runIpamGcLoop } from './ipam-gc.js';
export { type ControllersOptions, KUBE_CONTROLLERS_CONFIG_KEY, configuredLeakGracePeriod, runControllers } from './run.js';
