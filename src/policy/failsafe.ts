// Failsafe ports (calico-internals §6.3): traffic to and from a host endpoint on these ports is
// allowed before any policy, so a bad policy cannot cut the host off from SSH, BGP, etcd or the
// API server. FelixConfiguration failsafeInboundHostPorts / failsafeOutboundHostPorts replace
// the defaults; a node's `node.<name>` configuration wins over `default`.

import type { FelixConfiguration } from '../model/index.js';
import { protocolNumber } from '../model/index.js';

export interface FailsafePort {
  readonly protocol: number;
  readonly port: number;
  /** Only for peers in this CIDR, when given. */
  readonly net?: string;
}

export interface FailsafePorts {
  readonly inbound: readonly FailsafePort[];
  readonly outbound: readonly FailsafePort[];
}

const tcp = (port: number): FailsafePort => ({ protocol: 6, port });
const udp = (port: number): FailsafePort => ({ protocol: 17, port });

export const DEFAULT_FAILSAFE: FailsafePorts = {
  inbound: [tcp(22), udp(68), tcp(179), tcp(2379), tcp(2380), tcp(5473), tcp(6443), tcp(6666), tcp(6667)],
  outbound: [udp(53), udp(67), tcp(179), tcp(2379), tcp(2380), tcp(5473), tcp(6443), tcp(6666), tcp(6667)],
};

type ProtoPortList = { protocol?: string | undefined; port: number; net?: string | undefined }[] | undefined;

function convert(list: ProtoPortList): FailsafePort[] | undefined {
  if (list === undefined) return undefined;
  return list.map((p) => ({ protocol: protocolNumber(p.protocol ?? 'TCP') ?? 6, port: p.port, ...(p.net === undefined ? {} : { net: p.net }) }));
}

export function failsafeFrom(configs: ReadonlyMap<string, FelixConfiguration>, node: string | undefined): FailsafePorts {
  const global = configs.get('default')?.spec as { failsafeInboundHostPorts?: ProtoPortList; failsafeOutboundHostPorts?: ProtoPortList } | undefined;
  const local = (node === undefined ? undefined : configs.get(`node.${node}`)?.spec) as typeof global;
  return {
    inbound: convert(local?.failsafeInboundHostPorts) ?? convert(global?.failsafeInboundHostPorts) ?? DEFAULT_FAILSAFE.inbound,
    outbound: convert(local?.failsafeOutboundHostPorts) ?? convert(global?.failsafeOutboundHostPorts) ?? DEFAULT_FAILSAFE.outbound,
  };
}
