// The IPAM service contract: what the CNI path, the node agent (tunnel addresses), tabbyctl and
// the garbage collector ask of the block allocator. The allocator (allocator.ts) implements it
// over the Datastore interface; every write that can race is a compare-and-swap.
//
// Addresses are returned as text ("10.244.0.5") together with their block's CIDR, because Calico
// returns block-masked CIDRs ("10.244.0.5/26") and the CNI narrows them to /32 and /128.

import type { IntendedUse } from './core/pools.js';
import type { TunnelType } from './core/tunnel.js';

export type { IntendedUse, TunnelType };

/** Attributes stored with each allocation (Calico's AllocationAttribute.secondary). */
export type AllocationAttrs = Readonly<Record<string, string>>;
// Well-known keys: 'pod', 'namespace', 'node', 'type' ('ipipTunnelAddress', 'vxlanTunnelAddress', ...), 'timestamp'.

export interface AutoAssignRequest {
  /** e.g. "k8s-pod-network.<containerID>"; every address is recorded against it. */
  readonly handleId: string;
  /** Node whose affine blocks are used and claimed. */
  readonly node: string;
  readonly num4: number;
  readonly num6: number;
  readonly attrs: AllocationAttrs;
  /** Pools named explicitly (names or CIDRs): used unconditionally, must exist and be enabled. */
  readonly ipv4Pools?: readonly string[];
  readonly ipv6Pools?: readonly string[];
  /** Labels of the workload's namespace, for pools' namespaceSelector. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  readonly intendedUse?: IntendedUse;
  /** Overrides IPAMConfig.maxBlocksPerHost for this request when > 0. */
  readonly maxBlocksPerHost?: number;
}

export interface AssignedAddress {
  readonly ip: string;
  /** The address with its block's prefix, e.g. "10.244.0.5/26". */
  readonly blockCidr: string;
  readonly family: 4 | 6;
  /** Block sequence number recorded for this ordinal; pass it back to release safely. */
  readonly sequenceNumber: number;
}

export interface AutoAssignResult {
  readonly ipv4: AssignedAddress[];
  readonly ipv6: AssignedAddress[];
}

export interface AssignIPRequest {
  readonly ip: string;
  readonly handleId: string;
  readonly node: string;
  readonly attrs: AllocationAttrs;
  readonly intendedUse?: IntendedUse;
}

export interface ReleaseRequest {
  readonly ip: string;
  /** When given, the release only happens if the address still carries this sequence number. */
  readonly sequenceNumber?: number;
  /** When given, the release only happens if the address still belongs to this handle. */
  readonly handleId?: string;
}

export interface Ipam {
  autoAssign(req: AutoAssignRequest): Promise<AutoAssignResult>;
  assignIP(req: AssignIPRequest): Promise<AssignedAddress>;
  /** Returns the addresses that were released; absent or mismatching ones are skipped, not errors. */
  releaseIPs(reqs: readonly ReleaseRequest[]): Promise<string[]>;
  /** Releases every address of the handle and deletes the handle; returns what was released. */
  releaseByHandle(handleId: string): Promise<string[]>;
  addressesByHandle(handleId: string): Promise<string[]>;
}

/** Node tunnel addresses (the node agent's use of IPAM); idempotent per node, kind and family. */
export interface TunnelIpam {
  assignTunnelAddress(node: string, family: 4 | 6, type: TunnelType): Promise<AssignedAddress>;
  releaseTunnelAddress(node: string, family: 4 | 6, type: TunnelType): Promise<string[]>;
}

export type IpamErrorCode =
  | 'NoQualifiedPool' // no enabled pool matches the request
  | 'PoolExhausted' // pools matched but have no free address (Calico: "No IPs available in pools")
  | 'BlockLimit' // the node holds maxBlocksPerHost blocks and strict affinity forbids borrowing
  | 'AddressInUse' // a fixed address is already allocated
  | 'NotInPool' // a fixed address lies outside every pool
  | 'StrictAffinity' // a fixed address lies in a block affine to another node under strict affinity
  | 'Reserved' // a fixed address is covered by an IPReservation
  | 'InvalidRequest'
  | 'RetriesExhausted'; // CAS conflicts did not settle within the retry budget

export class IpamError extends Error {
  override readonly name = 'IpamError';
  constructor(readonly code: IpamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
