// The `tabby-ipam` CNI plugin's operations, for use as the IPAM plugin of another main plugin
// (e.g. the reference `bridge`), run inside the agent. Calico's calico-ipam behaviour
// (calico-internals.md §4.4): ADD returns the addresses only — no gateway, no routes — as
// block-masked CIDRs ("10.244.0.5/26"), or /32 and /128 for a fixed `IP=` from CNI_ARGS; DEL
// releases everything recorded under the handle `<network>.<containerID>`.
// A repeated ADD for the same attachment answers the first result without a second allocation.

import { formatIP, parseIP } from '../ip/index.js';
import { allocateAddresses, ipamFailure, releaseQuietly } from './addresses.js';
import type { CniRequestContext, CniServices } from './context.js';
import { nodeFor } from './context.js';
import { k8sIdentity } from './env.js';
import { CniCode, CniError } from './errors.js';
import { ipamHandleId } from './identity.js';
import { type CniResult, parseResult } from './result.js';

const bare = (address: string): string => formatIP(parseIP(address.split('/')[0]!));

async function held(services: CniServices, handleId: string): Promise<Set<string>> {
  try {
    return new Set((await services.ipam.addressesByHandle(handleId)).map(bare));
  } catch (err) {
    throw ipamFailure(err, `reading addresses of ${handleId}`);
  }
}

export async function addAddresses(services: CniServices, ctx: CniRequestContext): Promise<CniResult> {
  const { env, conf } = ctx;
  const handleId = ipamHandleId(conf.name, env.containerId);
  const rec = services.attachments.get(conf.name, env.containerId, env.ifname);
  if (rec && rec.plugin === 'ipam') {
    const have = await held(services, handleId);
    const want = (rec.result.ips ?? []).map((i) => bare(i.address));
    if (want.length > 0 && want.every((a) => have.has(a))) return rec.result;
  }
  await releaseQuietly(services.ipam, handleId);
  const k8s = k8sIdentity(env.args);
  const node = nodeFor(services, conf);
  const fixed = env.args.IP !== undefined && env.args.IP !== '' ? env.args.IP.split(',') : undefined;
  const allocation = await allocateAddresses(services.ipam, {
    handleId,
    node,
    assignIpv4: conf.ipam.assignIpv4,
    assignIpv6: conf.ipam.assignIpv6,
    ipv4Pools: conf.ipam.ipv4Pools,
    ipv6Pools: conf.ipam.ipv6Pools,
    ...(fixed ? { fixed } : {}),
    attrs: { node, timestamp: new Date().toISOString(), ...(k8s ? { pod: k8s.pod, namespace: k8s.namespace } : {}) },
  });
  const result: CniResult = {
    ips: allocation.addresses.map((a) => ({ address: fixed ? `${formatIP(parseIP(a.ip))}/${a.family === 4 ? 32 : 128}` : a.blockCidr })),
  };
  try {
    services.attachments.put({ network: conf.name, containerId: env.containerId, ifname: env.ifname, plugin: 'ipam', handleId, result });
  } catch (err) {
    await releaseQuietly(services.ipam, handleId);
    throw new CniError(CniCode.IoFailure, `recording attachment ${env.containerId}/${env.ifname}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return result;
}

export async function releaseAddresses(services: CniServices, ctx: CniRequestContext): Promise<void> {
  const { env, conf } = ctx;
  const handleId = ipamHandleId(conf.name, env.containerId);
  try {
    await services.ipam.releaseByHandle(handleId);
  } catch (err) {
    throw ipamFailure(err, `releasing addresses of ${handleId}`);
  }
  services.attachments.remove(conf.name, env.containerId, env.ifname);
}

export async function checkAddresses(services: CniServices, ctx: CniRequestContext): Promise<void> {
  const { env, conf } = ctx;
  if (conf.prevResult === undefined) throw new CniError(CniCode.InvalidNetworkConfig, 'CHECK needs prevResult: the runtime must pass the result of the ADD it is checking');
  const handleId = ipamHandleId(conf.name, env.containerId);
  const have = await held(services, handleId);
  const missing = (parseResult(conf.prevResult).ips ?? []).map((i) => bare(i.address)).filter((a) => !have.has(a));
  if (missing.length > 0) throw new CniError(CniCode.CheckFailed, `IPAM handle ${handleId} does not hold ${missing.join(', ')}`);
}
