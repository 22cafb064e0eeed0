// The IPAM records as stored, with Calico's field names (libcalico-go model: block.go,
// block_affinity.go, ipam_handle.go, ipam_config.go) so values written by either implementation
// read back in the other: one codec per record, used by IPAM's allocator and maintenance and by
// every other reader (the typed cluster view, routes, BGP). Pure; errors name the key and field.
//
// Decoding is as lenient as Calico's Go structs where IPAM must keep working on what it finds
// (an unknown affinity state, a handle count that is not a number); a block that cannot be
// understood is an error, and a block decoded under its key must be the block the key names.

import { type CIDR, cidrEquals, formatCIDR, parseCIDR } from '../ip/index.js';
import { isJsonObject, type JsonValue } from '../util/index.js';
import { parseAffinityKey, parseBlockKey, parseHandleKey } from './ipam-keys.js';
import { StoredValueError } from './stored.js';

// ---- IPAMBlock: /calico/ipam/v2/assignment/<family>/block/<cidr> ----

export interface AllocationAttribute {
  readonly handleId?: string;
  /** Active owner attributes (Calico's `secondary`): pod, namespace, node, type, timestamp... */
  readonly secondary: Readonly<Record<string, string>>;
  readonly alternate?: Readonly<Record<string, string>>;
  readonly releasedAt?: string;
}

/** A block (IPAM's working form is the stored one with its CIDR parsed; ipam/core/block.ts). */
export interface AllocationBlock {
  readonly cidr: CIDR;
  /** "host:<node>", "virtual:<name>", or null for a block with no owner. */
  readonly affinity: string | null;
  readonly affinityClaimTime?: string;
  /** Ordinal → attribute index, null when free. */
  readonly allocations: readonly (number | null)[];
  readonly unallocated: readonly number[];
  readonly attributes: readonly AllocationAttribute[];
  readonly sequenceNumber: number;
  readonly sequenceNumberForAllocation: Readonly<Record<string, number>>;
  readonly deleted: boolean;
  readonly strictAffinity: boolean;
}

// Built by assignment rather than object spreads: a block is encoded on every allocation, and
// spreading conditional literals cost several times what building the object does.

/** The stored form; shares the block's (immutable) arrays and maps rather than copying them. */
export function encodeBlock(b: AllocationBlock): JsonValue {
  const out: Record<string, JsonValue> = { cidr: formatCIDR(b.cidr), affinity: b.affinity };
  // Calico's model.AllocationBlock: `json:"affinity_claim_time,omitempty"`.
  if (b.affinityClaimTime !== undefined) out['affinity_claim_time'] = b.affinityClaimTime;
  out['strictAffinity'] = b.strictAffinity;
  out['allocations'] = b.allocations as (number | null)[];
  out['unallocated'] = b.unallocated as number[];
  out['attributes'] = b.attributes.map(encodeAttribute);
  out['deleted'] = b.deleted;
  out['sequenceNumber'] = b.sequenceNumber;
  out['sequenceNumberForAllocation'] = b.sequenceNumberForAllocation as Record<string, number>;
  return out;
}

/** One entry of a block's `attributes`, field names as Calico's AllocationAttribute (empty ones omitted). */
export function encodeAttribute(a: AllocationAttribute): JsonValue {
  const out: Record<string, JsonValue> = {};
  if (a.handleId !== undefined) out['handle_id'] = a.handleId;
  for (const _ in a.secondary) {
    out['secondary'] = a.secondary as Record<string, string>;
    break;
  }
  if (a.alternate !== undefined) out['alternate'] = a.alternate as Record<string, string>;
  if (a.releasedAt !== undefined) out['releasedAt'] = a.releasedAt;
  return out;
}

export class BlockDecodeError extends Error {
  override readonly name = 'BlockDecodeError';
  readonly code = 'InvalidBlock';
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isJsonObject(v as JsonValue)) throw new BlockDecodeError(`${where} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as object)) out[k] = String(x);
  return out;
}

/** Decode a stored block (`key` names it in errors); throws BlockDecodeError naming the key and the field. */
export function decodeBlock(value: JsonValue, key: string): AllocationBlock {
  if (!isJsonObject(value)) throw new BlockDecodeError(`${key}: block value is not an object`);
  const where = (f: string) => `${key}: field ${f}`;
  let cidr: CIDR;
  try {
    cidr = parseCIDR(String(value['cidr']));
  } catch (e) {
    throw new BlockDecodeError(`${where('cidr')}: ${(e as Error).message}`);
  }
  const allocations = value['allocations'];
  if (!Array.isArray(allocations)) throw new BlockDecodeError(`${where('allocations')} is not a list`);
  const unallocated = value['unallocated'] ?? [];
  if (!Array.isArray(unallocated)) throw new BlockDecodeError(`${where('unallocated')} is not a list`);
  const attributes = value['attributes'] ?? [];
  if (!Array.isArray(attributes)) throw new BlockDecodeError(`${where('attributes')} is not a list`);
  const affinity = value['affinity'];
  const seqs = value['sequenceNumberForAllocation'];
  const seqOut: Record<string, number> = {};
  if (isJsonObject(seqs)) for (const [k, v] of Object.entries(seqs)) seqOut[k] = Number(v);
  return {
    cidr,
    affinity: typeof affinity === 'string' && affinity !== '' ? affinity : null,
    // Tabby before 0.1 wrote `affinityClaimTime`; read both.
    ...(typeof value['affinity_claim_time'] === 'string'
      ? { affinityClaimTime: value['affinity_claim_time'] }
      : typeof value['affinityClaimTime'] === 'string'
        ? { affinityClaimTime: value['affinityClaimTime'] }
        : {}),
    allocations: allocations.map((a, i) => {
      if (a === null) return null;
      if (typeof a !== 'number') throw new BlockDecodeError(`${where(`allocations[${i}]`)} is not a number or null`);
      return a;
    }),
    unallocated: unallocated.map((o, i) => {
      if (typeof o !== 'number') throw new BlockDecodeError(`${where(`unallocated[${i}]`)} is not a number`);
      return o;
    }),
    attributes: attributes.map((a, i) => {
      if (!isJsonObject(a)) throw new BlockDecodeError(`${where(`attributes[${i}]`)} is not an object`);
      const h = a['handle_id'];
      return {
        ...(typeof h === 'string' ? { handleId: h } : {}),
        secondary: stringMap(a['secondary'], where(`attributes[${i}].secondary`)),
        ...(isJsonObject(a['alternate']) ? { alternate: stringMap(a['alternate'], where(`attributes[${i}].alternate`)) } : {}),
        ...(typeof a['releasedAt'] === 'string' ? { releasedAt: a['releasedAt'] } : {}),
      };
    }),
    sequenceNumber: typeof value['sequenceNumber'] === 'number' ? value['sequenceNumber'] : 0,
    sequenceNumberForAllocation: seqOut,
    deleted: value['deleted'] === true,
    strictAffinity: value['strictAffinity'] === true,
  };
}

/** A block read under its key: as decodeBlock, and the block must be the one the key names. */
export function decodeBlockAt(key: string, value: JsonValue): AllocationBlock {
  const b = decodeBlock(value, key);
  const named = parseBlockKey(key);
  if (named === undefined || !cidrEquals(named, b.cidr)) throw new BlockDecodeError(`${key}: key does not match the block's cidr ${formatCIDR(b.cidr)}`);
  return b;
}

// ---- BlockAffinity: /calico/ipam/v2/host/<node>/<family>/block/<cidr> ----
// {"state":"pending|confirmed|pendingDeletion","deleted":false}

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

// ---- IPAMHandle: /calico/ipam/v2/handle/<id>, {"block":{"10.0.0.0/26":2},"deleted":false} ----

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

// ---- The same records decoded from key and value, for the typed cluster view ----
// Invariant: a value decodes only under the key it belongs to, so a consumer can index by key
// and trust the value. Errors are StoredValueErrors naming the key.

/** A block with the node of its `host:<node>` affinity (undefined for a block without one). */
export type StoredBlock = AllocationBlock & { readonly node?: string };

export interface StoredBlockAffinity extends BlockAffinity {
  readonly node: string;
  readonly cidr: CIDR;
}

export type StoredHandle = IpamHandle;

const bad = (key: string, issue: string): StoredValueError => new StoredValueError(key, [issue]);

export function decodeStoredBlock(key: string, value: unknown): StoredBlock {
  if (parseBlockKey(key) === undefined) throw bad(key, 'not a block key (/calico/ipam/v2/assignment/ipv4|ipv6/block/<cidr>)');
  let b: AllocationBlock;
  try {
    b = decodeBlockAt(key, value as JsonValue);
  } catch (e) {
    throw bad(key, (e as Error).message);
  }
  return b.affinity?.startsWith('host:') ? { ...b, node: b.affinity.slice(5) } : b;
}

export function decodeStoredAffinity(key: string, value: unknown): StoredBlockAffinity {
  const at = parseAffinityKey(key);
  if (at === undefined) throw bad(key, 'not a block affinity key (/calico/ipam/v2/host/<node>/ipv4|ipv6/block/<cidr>)');
  return { node: at.node, cidr: at.block, ...decodeAffinity(value as JsonValue) };
}

export function decodeStoredHandle(key: string, value: unknown): StoredHandle {
  const handleId = parseHandleKey(key);
  if (handleId === undefined) throw bad(key, 'not a handle key (/calico/ipam/v2/handle/<id>)');
  return decodeHandle(value as JsonValue, handleId);
}
