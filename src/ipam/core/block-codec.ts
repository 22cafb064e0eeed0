// The stored form of an IPAMBlock: JSON with the field names of Calico's model.AllocationBlock
// (libcalico-go/lib/backend/model/block.go), so blocks written by either implementation read back
// in the other. Decoding names the key and field of anything malformed. Pure.

import { type CIDR, formatCIDR, parseCIDR } from '../../ip/index.js';
import type { AllocationAttribute, AllocationBlock } from './block.js';
import type { JsonValue } from '../../util/index.js';

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

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new BlockDecodeError(`${where} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

/** Decode a stored block; throws BlockDecodeError naming the key and the field. */
export function decodeBlock(value: JsonValue, key: string): AllocationBlock {
  if (!isObj(value)) throw new BlockDecodeError(`${key}: block value is not an object`);
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
  if (isObj(seqs)) for (const [k, v] of Object.entries(seqs)) seqOut[k] = Number(v);
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
      if (!isObj(a)) throw new BlockDecodeError(`${where(`attributes[${i}]`)} is not an object`);
      const h = a['handle_id'];
      return {
        ...(typeof h === 'string' ? { handleId: h } : {}),
        secondary: stringMap(a['secondary'], where(`attributes[${i}].secondary`)),
        ...(isObj(a['alternate']) ? { alternate: stringMap(a['alternate'], where(`attributes[${i}].alternate`)) } : {}),
        ...(typeof a['releasedAt'] === 'string' ? { releasedAt: a['releasedAt'] } : {}),
      };
    }),
    sequenceNumber: typeof value['sequenceNumber'] === 'number' ? value['sequenceNumber'] : 0,
    sequenceNumberForAllocation: seqOut,
    deleted: value['deleted'] === true,
    strictAffinity: value['strictAffinity'] === true,
  };
}
