// The `tabby` CNI plugin's operations, run inside the agent (DESIGN.md §5, calico-internals.md
// §5.2-5.3): ADD allocates addresses, builds the veth pair and writes the WorkloadEndpoint;
// DEL undoes all three; CHECK compares prevResult with the kernel; GC removes what this node made
// for attachments the runtime no longer lists.
//
// Invariants:
// - ADD for the same (container, ifname) twice answers the same result and allocates nothing new.
// - Any failure after allocation releases the addresses and removes what was built.
// - DEL succeeds when things are already gone, and never touches a WEP or host veth that a newer
//   sandbox of the same pod owns (its IPAM handle is still released: the handle is per container).
// The caller serialises requests per container ID.

import { existsSync } from 'node:fs';
import { formatIP, parseIP } from '../ip/index.js';
import { allocateAddresses, ipamFailure, releaseQuietly } from './addresses.js';
import { AnnotationError, type IpamAnnotationRequest, resolveIpamAnnotations } from '../model/index.js';
import type { AttachmentRecord } from './attachments.js';
import { checkWorkload } from './check.js';
import type { CniRequestContext, CniServices } from './context.js';
import { nodeFor } from './context.js';
import { k8sIdentity } from './env.js';
import { CniCode, CniError } from './errors.js';
import { type EndpointIdentity, endpointIdentity } from './identity.js';
import { type CniResult, parseResult } from './result.js';
import {
  DataplaneError,
  IPV4_GATEWAY,
  IPV6_GATEWAY,
  HOST_SIDE_MAC,
  hostLinkExists,
  observeWorkload,
  randomMac,
  setUpWorkloadInterface,
  tearDownWorkloadInterface,
} from './veth.js';
import { type PodInfo, deleteWorkloadEndpoint, readNamespace, readPod, readWorkloadEndpoint, writeWorkloadEndpoint } from './workload-endpoint.js';

const DEFAULT_MTU = 1500;

function identityOf(services: CniServices, ctx: CniRequestContext): EndpointIdentity {
  return endpointIdentity({
    node: nodeFor(services, ctx.conf),
    network: ctx.conf.name,
    containerId: ctx.env.containerId,
    ifname: ctx.env.ifname,
    k8s: k8sIdentity(ctx.env.args),
  });
}

/** Our part of a result, appended to prevResult's when a runtime chained us after another plugin. */
function mergeWithPrevious(prev: CniResult | undefined, ours: CniResult): CniResult {
  if (!prev) return ours;
  const shift = prev.interfaces?.length ?? 0;
  return {
    interfaces: [...(prev.interfaces ?? []), ...(ours.interfaces ?? [])],
    ips: [...(prev.ips ?? []), ...(ours.ips ?? []).map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + shift }))],
    routes: [...(prev.routes ?? []), ...(ours.routes ?? [])],
    ...(prev.dns ? { dns: prev.dns } : {}),
  };
}

function workloadResult(id: EndpointIdentity, netns: string, mac: string, mtu: number, ipv4?: string, ipv6?: string): CniResult {
  return {
    interfaces: [
      { name: id.hostIfname, mac: HOST_SIDE_MAC },
      { name: id.endpoint, mac, mtu, sandbox: netns },
    ],
    ips: [...(ipv4 ? [{ address: `${ipv4}/32`, interface: 1 }] : []), ...(ipv6 ? [{ address: `${ipv6}/128`, interface: 1 }] : [])],
    routes: [...(ipv4 ? [{ dst: '0.0.0.0/0', gw: IPV4_GATEWAY }] : []), ...(ipv6 ? [{ dst: '::/0', gw: IPV6_GATEWAY }] : [])],
  };
}

/** Pools and fixed addresses from the pod's and namespace's annotations (the model parses them). */
function ipamRequestOf(
  id: EndpointIdentity,
  pod: Readonly<Record<string, string>> | undefined,
  namespace: Readonly<Record<string, string>>,
  conf: { ipv4Pools: readonly string[]; ipv6Pools: readonly string[] },
): IpamAnnotationRequest {
  try {
    return resolveIpamAnnotations(pod, `pod ${id.namespace}/${id.pod ?? id.workload}`, namespace, `namespace ${id.namespace}`, conf);
  } catch (err) {
    if (err instanceof AnnotationError) throw new CniError(CniCode.InvalidNetworkConfig, err.message, undefined, { cause: err });
    throw err;
  }
}

async function loadPod(services: CniServices, id: EndpointIdentity): Promise<{ pod?: PodInfo; nsLabels?: Record<string, string>; nsAnnotations: Record<string, string> }> {
  if (id.orchestrator !== 'k8s' || id.pod === undefined) return { nsAnnotations: {} };
  try {
    const [pod, ns] = await Promise.all([readPod(services.datastore, id.namespace, id.pod), readNamespace(services.datastore, id.namespace)]);
    return { ...(pod ? { pod } : {}), ...(ns ? { nsLabels: ns.labels } : {}), nsAnnotations: ns?.annotations ?? {} };
  } catch (err) {
    throw ipamFailure(err, `reading pod ${id.namespace}/${id.pod}`);
  }
}

/**
 * A repeated ADD: the recorded result, if the WEP and the interfaces it describes are all still
 * there. `stale` says an earlier ADD of this container left a record (and so perhaps addresses).
 */
async function previousAdd(services: CniServices, ctx: CniRequestContext, id: EndpointIdentity): Promise<{ result?: CniResult; stale: boolean }> {
  const rec = services.attachments.get(ctx.conf.name, id.containerId, id.endpoint);
  if (!rec) return { stale: false };
  if (rec.plugin !== 'main' || rec.netns !== ctx.env.netns) return { stale: true };
  const wep = await readWorkloadEndpoint(services.datastore, id);
  if (!wep || wep.containerId !== id.containerId) return { stale: true };
  const seen = await observeWorkload({ hostIfname: id.hostIfname, containerIfname: id.endpoint, netns: ctx.env.netns });
  const problems = checkWorkload({ prevResult: rec.result, ifname: id.endpoint, hostIfname: id.hostIfname, ...seen });
  if (problems.length > 0) {
    ctx.log.info('repeated ADD finds the earlier attachment broken; rebuilding it', { problems });
    return { stale: true };
  }
  return { result: rec.result, stale: false };
}

export async function addWorkload(services: CniServices, ctx: CniRequestContext): Promise<CniResult> {
  const { env, conf, phases } = ctx;
  phases.mark('lock');
  const prev = conf.prevResult !== undefined ? parseResult(conf.prevResult) : undefined;
  if (!existsSync(env.netns)) throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${env.netns} does not exist: the container's network namespace is gone or was never created`);
  const id = identityOf(services, ctx);

  const again = await previousAdd(services, ctx, id);
  phases.mark('lookup');
  if (again.result) return mergeWithPrevious(prev, again.result);

  const { pod, nsLabels, nsAnnotations } = await loadPod(services, id);
  phases.mark('pod');
  const request = ipamRequestOf(id, pod?.annotations, nsAnnotations, conf.ipam);

  // An earlier ADD of this container that is recorded but broken: start clean, so the families
  // and pools asked for now are what the workload gets. (An ADD that crashed before recording
  // may leave an address under the handle; this container's DEL releases the whole handle.)
  if (again.stale) await releaseQuietly(services.ipam, id.handleId);
  const allocation = await allocateAddresses(services.ipam, {
    handleId: id.handleId,
    node: id.node,
    assignIpv4: conf.ipam.assignIpv4,
    assignIpv6: conf.ipam.assignIpv6,
    ipv4Pools: request.ipv4Pools ?? [],
    ipv6Pools: request.ipv6Pools ?? [],
    ...(request.ipAddrs ? { fixed: request.ipAddrs.map(formatIP) } : {}),
    attrs: {
      node: id.node,
      timestamp: new Date().toISOString(),
      ...(id.pod !== undefined ? { pod: id.pod, namespace: id.namespace } : {}),
    },
    ...(nsLabels ? { namespaceLabels: nsLabels } : {}),
  });
  phases.mark('ipam');
  const ipv4 = allocation.addresses.find((a) => a.family === 4)?.ip;
  const ipv6 = allocation.addresses.find((a) => a.family === 6)?.ip;
  const mtu = conf.mtu || services.defaultMtu || DEFAULT_MTU;
  const mac = randomMac();
  const v4 = ipv4 !== undefined ? formatIP(parseIP(ipv4)) : undefined;
  const v6 = ipv6 !== undefined ? formatIP(parseIP(ipv6)) : undefined;
  const result = workloadResult(id, env.netns, mac, mtu, v4, v6);
  // The interfaces and the WorkloadEndpoint do not depend on each other: build them together.
  const [veth, wep] = await Promise.allSettled([
    setUpWorkloadInterface({
      hostIfname: id.hostIfname,
      containerIfname: id.endpoint,
      netns: env.netns,
      mtu,
      containerMac: mac,
      ...(v4 ? { ipv4: v4 } : {}),
      ...(v6 ? { ipv6: v6 } : {}),
      allowIpForwarding: conf.allowIpForwarding,
    }),
    writeWorkloadEndpoint(services.datastore, {
      id,
      network: conf.name,
      ...(conf.policyType !== undefined ? { policyType: conf.policyType } : {}),
      ...(pod ? { pod } : {}),
      ipNetworks: (result.ips ?? []).map((i) => i.address),
      mac,
    }),
  ]);
  phases.mark('veth+wep');
  let failure = veth.status === 'rejected' ? (veth.reason as unknown) : wep.status === 'rejected' ? (wep.reason as unknown) : undefined;
  if (failure === undefined && wep.status === 'fulfilled' && services.endpointWritten !== undefined) {
    // Policy before the first packet: ADD returns only once the pod's chains are programmed.
    try {
      await services.endpointWritten(wep.value.key, wep.value.value);
      phases.mark('policy');
    } catch (err) {
      failure = new DataplaneError(`programming network policy for WorkloadEndpoint ${id.namespace}/${id.wepName} on node ${id.node}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (failure === undefined) {
    try {
      services.attachments.put({
        network: conf.name,
        containerId: id.containerId,
        ifname: id.endpoint,
        plugin: 'main',
        handleId: id.handleId,
        netns: env.netns,
        hostIfname: id.hostIfname,
        wep: { namespace: id.namespace, name: id.wepName },
        result,
      });
      phases.mark('record');
    } catch (err) {
      failure = new CniError(CniCode.IoFailure, `recording attachment ${id.containerId}/${id.endpoint}: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
  if (failure !== undefined) {
    ctx.log.warn('ADD failed after allocation; releasing addresses and removing interfaces', { error: failure as Error });
    await tearDownWorkloadInterface({ containerIfname: id.endpoint, netns: env.netns, hostIfname: id.hostIfname }).catch(() => {});
    if (wep.status === 'fulfilled') await deleteWorkloadEndpoint(services.datastore, id).catch(() => {});
    await releaseQuietly(services.ipam, id.handleId);
    if (failure instanceof DataplaneError) throw new CniError(CniCode.DataplaneFailure, failure.message, undefined, { cause: failure });
    throw ipamFailure(failure, `writing WorkloadEndpoint ${id.namespace}/${id.wepName}`);
  }
  return mergeWithPrevious(prev, result);
}

export async function deleteWorkload(services: CniServices, ctx: CniRequestContext): Promise<void> {
  const { env, conf, phases } = ctx;
  phases.mark('lock');
  const id = identityOf(services, ctx);
  const rec = services.attachments.get(conf.name, id.containerId, id.endpoint);
  // The handle is this container's alone, so its release runs alongside the rest.
  const release = services.ipam.releaseByHandle(id.handleId).then(
    () => undefined,
    (err: unknown) => ipamFailure(err, `releasing addresses of ${id.handleId}`),
  );
  const endpoint = (async () => {
    let wep: 'deleted' | 'absent' | 'kept';
    try {
      wep = await deleteWorkloadEndpoint(services.datastore, id);
    } catch (err) {
      return ipamFailure(err, `deleting WorkloadEndpoint ${id.namespace}/${id.wepName}`);
    }
    phases.mark('wep');
    if (wep === 'kept') ctx.log.info('WorkloadEndpoint belongs to a newer sandbox; keeping it and its interface', { wep: id.wepName });
    try {
      // The host side is removed only when it is known to be this container's: its WEP was ours,
      // or our own record says we made it. Otherwise it may be a newer sandbox's (same pod name),
      // and only the container side (in this container's netns) is ours to delete.
      const hostIsOurs = wep === 'deleted' || (wep === 'absent' && rec !== undefined);
      if (hostIsOurs && hostLinkExists(id.hostIfname)) await tearDownWorkloadInterface({ containerIfname: id.endpoint, hostIfname: id.hostIfname });
      else await tearDownWorkloadInterface({ containerIfname: id.endpoint, ...(env.netns !== '' ? { netns: env.netns } : {}) });
    } catch (err) {
      return new CniError(CniCode.DataplaneFailure, (err as Error).message, undefined, { cause: err });
    }
    phases.mark('veth');
    return undefined;
  })();
  const [released, removed] = await Promise.all([release, endpoint]);
  phases.mark('ipam');
  if (removed) throw removed;
  if (released) throw released;
  services.attachments.remove(conf.name, id.containerId, id.endpoint);
}

export async function checkWorkloadAttachment(services: CniServices, ctx: CniRequestContext): Promise<void> {
  const { env, conf } = ctx;
  if (conf.prevResult === undefined) throw new CniError(CniCode.InvalidNetworkConfig, 'CHECK needs prevResult: the runtime must pass the result of the ADD it is checking');
  if (!existsSync(env.netns)) throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${env.netns} does not exist`);
  const prevResult = parseResult(conf.prevResult);
  const id = identityOf(services, ctx);
  const seen = await observeWorkload({ hostIfname: id.hostIfname, containerIfname: id.endpoint, netns: env.netns });
  const problems = checkWorkload({ prevResult, ifname: id.endpoint, hostIfname: id.hostIfname, ...seen });
  const wep = await readWorkloadEndpoint(services.datastore, id);
  if (!wep) problems.push(`WorkloadEndpoint ${id.namespace}/${id.wepName} does not exist`);
  else if (wep.containerId !== id.containerId) problems.push(`WorkloadEndpoint ${id.namespace}/${id.wepName} belongs to container ${wep.containerId}`);
  const held = new Set((await services.ipam.addressesByHandle(id.handleId)).map((a) => formatIP(parseIP(a.split('/')[0]!))));
  for (const ip of prevResult.ips ?? []) {
    const addr = formatIP(parseIP(ip.address.split('/')[0]!));
    if (wep && !wep.ipNetworks.some((n) => n.split('/')[0] === addr)) problems.push(`WorkloadEndpoint does not list ${addr}`);
    if (!held.has(addr)) problems.push(`IPAM handle ${id.handleId} does not hold ${addr}`);
  }
  if (problems.length > 0) throw new CniError(CniCode.CheckFailed, `container ${id.containerId} ${id.endpoint}: ${problems.join('; ')}`);
}

/** Releases one stale attachment this node recorded; returns problems instead of stopping. */
export async function collectAttachment(services: CniServices, rec: AttachmentRecord): Promise<string[]> {
  const problems: string[] = [];
  let ours = true;
  if (rec.wep) {
    try {
      const kept = await deleteWorkloadEndpoint(services.datastore, { namespace: rec.wep.namespace, wepName: rec.wep.name, containerId: rec.containerId });
      ours = kept !== 'kept';
    } catch (err) {
      problems.push(`deleting WorkloadEndpoint ${rec.wep.namespace}/${rec.wep.name}: ${(err as Error).message}`);
    }
  }
  try {
    // Only the host side: the spec lets GC assume a stale attachment's netns is gone, and a
    // netns path can be reused by another container. Deleting the host side removes the pair.
    if (ours && rec.hostIfname) await tearDownWorkloadInterface({ containerIfname: rec.ifname, hostIfname: rec.hostIfname });
  } catch (err) {
    problems.push((err as Error).message);
  }
  try {
    await services.ipam.releaseByHandle(rec.handleId);
  } catch (err) {
    problems.push(`releasing ${rec.handleId}: ${(err as Error).message}`);
  }
  if (problems.length === 0) services.attachments.remove(rec.network, rec.containerId, rec.ifname);
  return problems;
}
