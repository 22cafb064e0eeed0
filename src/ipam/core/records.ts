// The small IPAM records beside blocks: BlockAffinity, IPAMHandle and the IPAM configuration,
// with codecs using Calico's field names (libcalico-go model: block_affinity.go, ipam_handle.go,
// ipam_config.go) so values written by either implementation read back in the other.

import { isJsonObject, type JsonValue } from '../../util/index.js';

// ---- BlockAffinity: {"state":"pending|confirmed|pendingDeletion","deleted":false} ----

export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

export interface BlockAffinity {
  readonly state: AffinityState;
  readonly deleted: boolean;
}

export function encodeAffinity(a: BlockAffinity): JsonValue {
  return { state: a.state, deleted: a.deleted };
}

/** Older Calico wrote empty values; they mean a confirmed affinity (model/block_affinity.go). */
export function decodeAffinity(v: JsonValue): BlockAffinity {
  if (!isJsonObject(v)) return { state: 'confirmed', deleted: false };
  const s = v['state'];
  const state: AffinityState = s === 'pending' || s === 'pendingDeletion' ? s : 'confirmed';
  return { state, deleted: v['deleted'] === true };
}

// ---- IPAMHandle: {"block":{"10.0.0.0/26":2},"deleted":false} ----

export interface IpamHandle {
  readonly handleId: string;
  /** Block CIDR text → number of addresses of this handle in that block. */
  readonly block: Readonly<Record<string, number>>;
  readonly deleted: boolean;
}

export function encodeHandle(h: IpamHandle): JsonValue {
  return { handleID: h.handleId, block: { ...h.block }, deleted: h.deleted };
}

export function decodeHandle(v: JsonValue, handleId: string): IpamHandle {
  const block: Record<string, number> = {};
  if (isJsonObject(v) && isJsonObject(v['block'])) {
    for (const [cidr, n] of Object.entries(v['block'])) if (typeof n === 'number' && n > 0) block[cidr] = n;
  }
  return { handleId, block, deleted: isJsonObject(v) && v['deleted'] === true };
}


/** Add (or with a negative delta, remove) addresses of a block to a handle's counts. */
export function adjustHandle(h: IpamHandle, blockCidr: string, delta: number): IpamHandle {
  const block = { ...h.block };
  const n = (block[blockCidr] ?? 0) + delta;
  if (n > 0) block[blockCidr] = n;
  else delete block[blockCidr];
  return { ...h, block };
}

// ---- IPAM configuration: /calico/ipam/v2/config ----

export interface IpamConfig {
  readonly strictAffinity: boolean;
  readonly autoAllocateBlocks: boolean;
  /** 0 means the default (DEFAULT_MAX_BLOCKS_PER_HOST). */
  readonly maxBlocksPerHost: number;
  /** Seconds a released address is held back before reuse (0, the default: reused at once). */
  readonly ipCooldownSeconds?: number;
}

export const DEFAULT_MAX_BLOCKS_PER_HOST = 20;
/** Calico's accepted range for ipCooldownSeconds. */
export const MAX_IP_COOLDOWN_SECONDS = 1200;

/** What applies when no configuration has been stored (Calico's GetIPAMConfig default). */
export const DEFAULT_IPAM_CONFIG: IpamConfig = { strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0, ipCooldownSeconds: 0 };

export const cooldownSeconds = (c: IpamConfig): number => c.ipCooldownSeconds ?? 0;

/** `ipCooldownSeconds` is written only when set, as Calico's omitempty fields are. */
export function encodeIpamConfig(c: IpamConfig): JsonValue {
  return {
    strict_affinity: c.strictAffinity,
    auto_allocate_blocks: c.autoAllocateBlocks,
    maxBlocksPerHost: c.maxBlocksPerHost,
    ...(cooldownSeconds(c) > 0 ? { ipCooldownSeconds: cooldownSeconds(c) } : {}),
  };
}

/**
 * A stored config decodes the way Calico's Go struct does: fields are omitempty, so an absent
 * `auto_allocate_blocks` in a stored value means false. Tabby always writes every field.
 */
export function decodeIpamConfig(v: JsonValue): IpamConfig {
  if (!isJsonObject(v)) return DEFAULT_IPAM_CONFIG;
  const max = v['maxBlocksPerHost'];
  const cool = v['ipCooldownSeconds'];
  return {
    strictAffinity: v['strict_affinity'] === true,
    autoAllocateBlocks: v['auto_allocate_blocks'] === true,
    maxBlocksPerHost: typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : 0,
    // Out-of-range values (written by hand) are clamped rather than trusted.
    ipCooldownSeconds: typeof cool === 'number' && Number.isFinite(cool) && cool > 0 ? Math.min(Math.floor(cool), MAX_IP_COOLDOWN_SECONDS) : 0,
  };
}

/** Calico's cross-field rules for the configuration (SetIPAMConfig); the problems, empty when valid. */
export function ipamConfigProblems(c: IpamConfig): string[] {
  const out: string[] = [];
  if (!c.strictAffinity && !c.autoAllocateBlocks) out.push('strictAffinity false with autoAllocateBlocks false leaves no way to get addresses; set strictAffinity true or autoAllocateBlocks true');
  if (c.maxBlocksPerHost > 0 && !c.strictAffinity) out.push(`maxBlocksPerHost ${c.maxBlocksPerHost} needs strictAffinity true (a node that may borrow is not held to a block limit); set --strictaffinity=true or --max-blocks-per-host 0`);
  const cool = cooldownSeconds(c);
  if (!Number.isInteger(cool) || cool < 0 || cool > MAX_IP_COOLDOWN_SECONDS) out.push(`ipCooldownSeconds must be a whole number of seconds in 0..${MAX_IP_COOLDOWN_SECONDS}; got ${cool}`);
  return out;
}

/** The block cap for one request: the smaller of the configured and requested caps that are set. */
export function effectiveMaxBlocks(config: IpamConfig, requested?: number): number {
  const caps = [config.maxBlocksPerHost, requested ?? 0].filter((n) => n > 0);
  return caps.length === 0 ? DEFAULT_MAX_BLOCKS_PER_HOST : Math.min(...caps);
}
