// Controllers: long-running loops that keep the cluster's records consistent. Today IPAM garbage
// collection (`tabby controllers`, and one pass for `tabbyctl ipam gc`): it acts on the IPAM
// library's GC plan with compare-and-swap writes.
export { type GcPassResult, IpamGarbageCollector, type IpamGcLoopOptions, type IpamGcOptions, renderGcResult, runIpamGcLoop } from './ipam-gc.js';
