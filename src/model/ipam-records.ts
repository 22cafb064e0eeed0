// The IPAM records as stored (libcalico-go model: block.go, block_affinity.go, ipam_handle.go),
// decoded from key and value for readers outside IPAM: the typed cluster view, routes, BGP.
// IPAM's allocator keeps its own working form of a block (ipam/core/block.ts); this is the
// read-only view every other reader shares. Pure; errors name the key and the field.
//
// Invariant: a value decodes only under the key it belongs to (a block's cidr matches its key),
// so a consumer can index by key and trust the value.

import { type CIDR, formatCIDR } from '../ip/index.js';
import { parseAffinityKey, parseBlockKey, parseHandleKey } from './ipam-keys.js';
import { StoredValueError } from './stored.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

/** `/calico/ipam/v2/host/<node>/<family>/block/<cidr>`: the node's claim on a block. */
export interface StoredBlockAffinity {
  readonly node: string;
  readonly cidr: CIDR;
  readonly state: AffinityState;
  readonly deleted: boolean;
}

/** `/calico/ipam/v2/assignment/<family>/block/<cidr>`: who owns the block and which addresses are in use. */
export interface StoredBlock {
  readonly cidr: CIDR;
  /** The node of a `host:<node>` affinity; undefined for a block without one. */
  readonly node?: string;
  /** Ordinal → attribute index, null when free (Calico's `allocations`). */
  readonly allocations: readonly (number | null)[];
  readonly attributes: readonly { readonly handleId?: string; readonly secondary: Readonly<Record<string, string>> }[];
  readonly deleted: boolean;
}

/** `/calico/ipam/v2/handle/<id>`: how many addresses a handle holds in each block. */
export interface StoredHandle {
  readonly handleId: string;
  readonly block: Readonly<Record<string, number>>;
  readonly deleted: boolean;
}

const bad = (key: string, issue: string): StoredValueError => new StoredValueError(key, [issue]);

/** Older Calico wrote empty affinity values; they mean a confirmed affinity (model/block_affinity.go). */
export function decodeStoredAffinity(key: string, value: unknown): StoredBlockAffinity {
  const at = parseAffinityKey(key);
  if (at === undefined) throw bad(key, 'not a block affinity key (/calico/ipam/v2/host/<node>/ipv4|ipv6/block/<cidr>)');
  const s = isObj(value) ? value['state'] : undefined;
  if (s !== undefined && s !== 'pending' && s !== 'confirmed' && s !== 'pendingDeletion') throw bad(key, `state ${JSON.stringify(s)} is not pending, confirmed or pendingDeletion`);
  return { node: at.node, cidr: at.block, state: s ?? 'confirmed', deleted: isObj(value) && value['deleted'] === true };
}

export function decodeStoredBlock(key: string, value: unknown): StoredBlock {
  const cidr = parseBlockKey(key);
  if (cidr === undefined) throw bad(key, 'not a block key (/calico/ipam/v2/assignment/ipv4|ipv6/block/<cidr>)');
  if (!isObj(value)) throw bad(key, 'a block must be an object');
  if (value['cidr'] !== formatCIDR(cidr)) throw bad(key, `cidr ${JSON.stringify(value['cidr'])} is not the block of the key (${formatCIDR(cidr)})`);
  const allocations = value['allocations'];
  if (!Array.isArray(allocations) || !allocations.every((a) => a === null || Number.isInteger(a))) throw bad(key, 'allocations must be a list of attribute indexes or null');
  const attributes = value['attributes'] ?? [];
  if (!Array.isArray(attributes) || !attributes.every(isObj)) throw bad(key, 'attributes must be a list of objects');
  const affinity = value['affinity'];
  const node = typeof affinity === 'string' && affinity.startsWith('host:') ? affinity.slice(5) : undefined;
  return {
    cidr,
    ...(node === undefined ? {} : { node }),
    allocations: allocations as (number | null)[],
    attributes: (attributes as Obj[]).map((a) => ({
      ...(typeof a['handle_id'] === 'string' ? { handleId: a['handle_id'] } : {}),
      secondary: isObj(a['secondary']) ? Object.fromEntries(Object.entries(a['secondary']).map(([k, x]) => [k, String(x)])) : {},
    })),
    deleted: value['deleted'] === true,
  };
}

export function decodeStoredHandle(key: string, value: unknown): StoredHandle {
  const handleId = parseHandleKey(key);
  if (handleId === undefined) throw bad(key, 'not a handle key (/calico/ipam/v2/handle/<id>)');
  if (!isObj(value)) throw bad(key, 'a handle must be an object');
  const block: Record<string, number> = {};
  const counts = value['block'] ?? {};
  if (!isObj(counts)) throw bad(key, 'block must map block CIDRs to address counts');
  for (const [c, n] of Object.entries(counts)) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw bad(key, `block[${JSON.stringify(c)}] must be a whole number of addresses, not ${JSON.stringify(n)}`);
    if (n > 0) block[c] = n;
  }
  return { handleId, block, deleted: value['deleted'] === true };
}
