// IPAMBlock: the unit of allocation and of compare-and-swap (calico-internals.md §4.1).
//
// A block is a /blockSize slice of a pool. Each ordinal (offset in the block) is either free —
// listed once in `unallocated`, a FIFO: allocation takes from the head, release appends to the
// tail, so a freed address is reused as late as possible — or allocated, with `allocations[ord]`
// indexing an attribute record {handle_id, secondary attrs}. Exactly one of the two holds for
// every ordinal; `blockProblems` checks it.
//
// `sequenceNumber` rises on every write of the block; when an ordinal is allocated the current
// value is recorded in `sequenceNumberForAllocation[ord]`. A release that names the sequence number
// it was given can therefore never free the same address after it was released and handed out
// again (ABA). Values are kept below 2^53 (microseconds since the epoch at creation) so they
// round-trip through JSON numbers exactly.
//
// Cooldown (calico-internals.md §4.3). With IPCooldownSeconds > 0 a release does not free the
// ordinal: it stays allocated, pointing at an attribute record that keeps the handle and owner
// attributes and carries `releasedAt` (Calico's ReleasedAt). Such a "cooling" ordinal is in no
// sense owned — releases, handle lookups and usage views skip it — but it is not in `unallocated`
// either, so nothing that assigns from the FIFO can hand it out. `collectCooled` moves ordinals
// whose cooldown has passed to the FIFO tail (oldest release first); every write path that knows
// the configuration calls it. With cooldown 0 a release frees at once, exactly as without the
// feature. A block holding only cooling ordinals is not empty (it is not deleted or released).
//
// Every function here is pure: it returns a new block and never mutates its input. The block's
// type and its stored form (Calico's JSON field names) are the model's (model/ipam-records.ts).

import { type CIDR, type IPAddr, cidrSize, formatCIDR } from '../../ip/index.js';
import type { AllocationAttribute, AllocationBlock } from '../../model/index.js';

const hostAffinity = (node: string): string => `host:${node}`;

/** The node a block is affine to, or undefined when unaffine or virtual. */
export function affineNode(b: AllocationBlock): string | undefined {
  return b.affinity?.startsWith('host:') ? b.affinity.slice(5) : undefined;
}

export function newBlock(cidr: CIDR, node: string | null, now: Date): AllocationBlock {
  const size = Number(cidrSize(cidr));
  return {
    cidr,
    affinity: node === null ? null : hostAffinity(node),
    ...(node === null ? {} : { affinityClaimTime: now.toISOString() }),
    allocations: new Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    sequenceNumber: now.getTime() * 1000,
    sequenceNumberForAllocation: {},
    deleted: false,
    strictAffinity: false,
  };
}

export const ordinalOf = (b: AllocationBlock, a: IPAddr): number => Number(a.value - b.cidr.base);
export const addressAt = (b: AllocationBlock, ord: number): IPAddr => ({ family: b.cidr.family, value: b.cidr.base + BigInt(ord) });

export function allocatedCount(b: AllocationBlock): number {
  return b.allocations.reduce<number>((n, a) => (a === null ? n : n + 1), 0);
}

/** Allocated ordinals, cooling ones included: a block holding only cooling addresses is not empty. */
export const isEmpty = (b: AllocationBlock): boolean => allocatedCount(b) === 0;

/** Free ordinals that `isReserved` does not exclude. */
export function assignableCount(b: AllocationBlock, isReserved?: (a: IPAddr) => boolean): number {
  if (!isReserved) return b.unallocated.length;
  return b.unallocated.reduce((n, ord) => (isReserved(addressAt(b, ord)) ? n : n + 1), 0);
}

export function attributeOf(b: AllocationBlock, ord: number): AllocationAttribute | undefined {
  const idx = b.allocations[ord];
  return idx === null || idx === undefined ? undefined : b.attributes[idx];
}

/** The ordinal was released and is cooling down: allocated in the block, owned by nobody. */
export function isCooling(b: AllocationBlock, ord: number): boolean {
  return attributeOf(b, ord)?.releasedAt !== undefined;
}

/** The ordinal is allocated to an owner (allocated and not cooling). */
export function isActive(b: AllocationBlock, ord: number): boolean {
  const a = attributeOf(b, ord);
  return a !== undefined && a.releasedAt === undefined;
}

export interface CoolingOrdinal {
  readonly ordinal: number;
  readonly releasedAt: string;
  /** The handle and owner attributes it had before release (for reports). */
  readonly handleId: string | undefined;
  readonly secondary: Readonly<Record<string, string>>;
}

export function coolingOrdinals(b: AllocationBlock): CoolingOrdinal[] {
  const out: CoolingOrdinal[] = [];
  b.allocations.forEach((idx, ordinal) => {
    const a = idx === null ? undefined : b.attributes[idx];
    if (a?.releasedAt !== undefined) out.push({ ordinal, releasedAt: a.releasedAt, handleId: a.handleId, secondary: a.secondary });
  });
  return out;
}

/** When a cooling ordinal released at `releasedAt` may be handed out again (ms since the epoch). */
export function reusableAt(releasedAt: string, cooldownSeconds: number): number {
  const t = Date.parse(releasedAt);
  // An unreadable stamp cannot hold an address forever: treat it as long cooled.
  return Number.isFinite(t) ? t + cooldownSeconds * 1000 : 0;
}

/** Calico writes ReleasedAt as an RFC 3339 time in whole seconds; round up so a cooldown is never cut short. */
export function releaseStamp(now: Date): string {
  return new Date(Math.ceil(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface CollectResult {
  readonly block: AllocationBlock;
  /** Ordinals returned to the free list, in the order they were appended. */
  readonly collected: number[];
}

/**
 * Return cooled ordinals (released at least `cooldownSeconds` ago) to the FIFO tail, oldest
 * release first. Returns the input block itself when nothing has cooled.
 */
export function collectCooled(b: AllocationBlock, now: Date, cooldownSeconds: number): CollectResult {
  const cooled = coolingOrdinals(b)
    .filter((c) => reusableAt(c.releasedAt, cooldownSeconds) <= now.getTime())
    .sort((x, y) => Date.parse(x.releasedAt) - Date.parse(y.releasedAt) || x.ordinal - y.ordinal);
  if (cooled.length === 0) return { block: b, collected: [] };
  const allocations = [...b.allocations];
  const seqs: Record<string, number> = { ...b.sequenceNumberForAllocation };
  for (const c of cooled) {
    allocations[c.ordinal] = null;
    delete seqs[String(c.ordinal)];
  }
  const compacted = compactAttributes(allocations, b.attributes);
  const collected = cooled.map((c) => c.ordinal);
  return {
    block: { ...b, ...compacted, unallocated: [...b.unallocated, ...collected], sequenceNumberForAllocation: seqs, sequenceNumber: b.sequenceNumber + 1 },
    collected,
  };
}

export function sequenceOf(b: AllocationBlock, ord: number): number {
  return b.sequenceNumberForAllocation[String(ord)] ?? 0;
}

function sameAttrs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Index in `attrs` of the first active record for (handle, attrs), appending one when none matches. */
function attributeIndex(attrs: AllocationAttribute[], handleId: string, secondary: Readonly<Record<string, string>>): number {
  const i = attrs.findIndex((a) => a.handleId === handleId && a.releasedAt === undefined && sameAttrs(a.secondary, secondary));
  if (i >= 0) return i;
  attrs.push({ handleId, secondary: { ...secondary } });
  return attrs.length - 1;
}

export interface BlockAssignment {
  readonly block: AllocationBlock;
  readonly ordinals: number[];
}

/**
 * Take up to `n` free ordinals from the head of the FIFO, skipping reserved addresses (which stay
 * where they are). Returns fewer than `n` when the block runs short.
 */
export function assignFromBlock(
  b: AllocationBlock,
  n: number,
  handleId: string,
  secondary: Readonly<Record<string, string>>,
  isReserved?: (a: IPAddr) => boolean,
): BlockAssignment {
  const taken: number[] = [];
  const rest: number[] = [];
  for (const ord of b.unallocated) {
    if (taken.length < n && !isReserved?.(addressAt(b, ord))) taken.push(ord);
    else rest.push(ord);
  }
  if (taken.length === 0) return { block: b, ordinals: [] };
  return { block: markAllocated(b, taken, rest, handleId, secondary), ordinals: taken };
}

export type OrdinalAssignment =
  | { readonly ok: true; readonly block: AllocationBlock }
  | { readonly ok: false; readonly owner: AllocationAttribute | undefined };

/** Allocate one specific ordinal (a fixed address); fails naming the current owner if taken. */
export function assignOrdinal(
  b: AllocationBlock,
  ord: number,
  handleId: string,
  secondary: Readonly<Record<string, string>>,
): OrdinalAssignment {
  if (b.allocations[ord] !== null || !b.unallocated.includes(ord)) return { ok: false, owner: attributeOf(b, ord) };
  return { ok: true, block: markAllocated(b, [ord], b.unallocated.filter((o) => o !== ord), handleId, secondary) };
}

function markAllocated(
  b: AllocationBlock,
  ords: number[],
  unallocated: number[],
  handleId: string,
  secondary: Readonly<Record<string, string>>,
): AllocationBlock {
  const attributes = [...b.attributes];
  const idx = attributeIndex(attributes, handleId, secondary);
  const allocations = [...b.allocations];
  const seqs: Record<string, number> = { ...b.sequenceNumberForAllocation };
  for (const ord of ords) {
    allocations[ord] = idx;
    seqs[String(ord)] = b.sequenceNumber;
  }
  return { ...b, allocations, unallocated, attributes, sequenceNumberForAllocation: seqs, sequenceNumber: b.sequenceNumber + 1 };
}

export interface OrdinalRelease {
  readonly ordinal: number;
  /** Release only if the ordinal still carries this sequence number. */
  readonly sequenceNumber?: number;
  /** Release only if the ordinal still belongs to this handle. */
  readonly handleId?: string;
}

export type ReleaseSkip = 'NotAllocated' | 'BadSequenceNumber' | 'HandleMismatch';

export interface BlockRelease {
  readonly block: AllocationBlock;
  /** Released ordinals with the handle each belonged to. */
  readonly released: { ordinal: number; handleId: string | undefined }[];
  readonly skipped: { ordinal: number; reason: ReleaseSkip }[];
}

/**
 * Release ordinals whose guards still hold. Without `releasedAt` they are freed to the FIFO tail;
 * with it (cooldown on) they stay allocated as cooling ordinals stamped with that time. An ordinal
 * already cooling counts as not allocated.
 */
export function releaseFromBlock(b: AllocationBlock, reqs: readonly OrdinalRelease[], releasedAt?: Date): BlockRelease {
  const allocations = [...b.allocations];
  const unallocated = [...b.unallocated];
  const attributes = [...b.attributes];
  const seqs: Record<string, number> = { ...b.sequenceNumberForAllocation };
  const released: BlockRelease['released'] = [];
  const skipped: BlockRelease['skipped'] = [];
  const stamp = releasedAt === undefined ? undefined : releaseStamp(releasedAt);
  for (const r of reqs) {
    const idx = allocations[r.ordinal];
    const attr = idx === null || idx === undefined ? undefined : attributes[idx];
    if (idx === null || idx === undefined || attr?.releasedAt !== undefined) {
      skipped.push({ ordinal: r.ordinal, reason: 'NotAllocated' });
      continue;
    }
    if (r.sequenceNumber !== undefined && (seqs[String(r.ordinal)] ?? 0) !== r.sequenceNumber) {
      skipped.push({ ordinal: r.ordinal, reason: 'BadSequenceNumber' });
      continue;
    }
    if (r.handleId !== undefined && attr?.handleId !== r.handleId) {
      skipped.push({ ordinal: r.ordinal, reason: 'HandleMismatch' });
      continue;
    }
    delete seqs[String(r.ordinal)];
    if (stamp === undefined) {
      allocations[r.ordinal] = null;
      unallocated.push(r.ordinal);
    } else {
      allocations[r.ordinal] = coolingIndex(attributes, attr, stamp);
    }
    released.push({ ordinal: r.ordinal, handleId: attr?.handleId });
  }
  if (released.length === 0) return { block: b, released, skipped };
  const compacted = compactAttributes(allocations, attributes);
  return {
    block: { ...b, ...compacted, unallocated, sequenceNumberForAllocation: seqs, sequenceNumber: b.sequenceNumber + 1 },
    released,
    skipped,
  };
}

/** Index of the cooling record for (former owner, stamp), appending one when none matches. */
function coolingIndex(attrs: AllocationAttribute[], owner: AllocationAttribute | undefined, stamp: string): number {
  const secondary = owner?.secondary ?? {};
  const i = attrs.findIndex((a) => a.releasedAt === stamp && a.handleId === owner?.handleId && sameAttrs(a.secondary, secondary));
  if (i >= 0) return i;
  attrs.push({ ...(owner?.handleId === undefined ? {} : { handleId: owner.handleId }), secondary: { ...secondary }, releasedAt: stamp });
  return attrs.length - 1;
}

/** Drop attribute records no ordinal points at, renumbering the allocations. */
function compactAttributes(
  allocations: (number | null)[],
  attributes: readonly AllocationAttribute[],
): { allocations: (number | null)[]; attributes: AllocationAttribute[] } {
  const used = new Set(allocations.filter((a): a is number => a !== null));
  const remap = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  attributes.forEach((a, i) => {
    if (used.has(i)) {
      remap.set(i, kept.length);
      kept.push(a);
    }
  });
  return { allocations: allocations.map((a) => (a === null ? null : remap.get(a)!)), attributes: kept };
}

/** Ordinals allocated to `handleId` (cooling ordinals belong to no handle). */
export function ordinalsOfHandle(b: AllocationBlock, handleId: string): number[] {
  const out: number[] = [];
  b.allocations.forEach((idx, ord) => {
    const a = idx === null ? undefined : b.attributes[idx];
    if (a?.handleId === handleId && a.releasedAt === undefined) out.push(ord);
  });
  return out;
}

/** Same block with a new owner (or none); bumps the sequence number like every write. */
export function withAffinity(b: AllocationBlock, node: string | null, now: Date): AllocationBlock {
  const { affinityClaimTime: _drop, ...rest } = b;
  return node === null
    ? { ...rest, affinity: null, sequenceNumber: b.sequenceNumber + 1 }
    : { ...rest, affinity: hostAffinity(node), affinityClaimTime: now.toISOString(), sequenceNumber: b.sequenceNumber + 1 };
}

/** Structural problems of a block (each ordinal free xor allocated, indexes valid). */
export function blockProblems(b: AllocationBlock): string[] {
  const size = Number(cidrSize(b.cidr));
  const where = `block ${formatCIDR(b.cidr)}`;
  const problems: string[] = [];
  if (b.allocations.length !== size) problems.push(`${where}: allocations has ${b.allocations.length} entries, expected ${size}`);
  const seen = new Set<number>();
  for (const ord of b.unallocated) {
    if (!Number.isInteger(ord) || ord < 0 || ord >= size) problems.push(`${where}: unallocated ordinal ${ord} is outside 0..${size - 1}`);
    else if (seen.has(ord)) problems.push(`${where}: ordinal ${ord} is listed twice in unallocated`);
    else if (b.allocations[ord] !== null) problems.push(`${where}: ordinal ${ord} is both allocated and unallocated`);
    seen.add(ord);
  }
  b.allocations.forEach((idx, ord) => {
    if (idx === null) {
      if (!seen.has(ord)) problems.push(`${where}: ordinal ${ord} is neither allocated nor unallocated`);
    } else if (!Number.isInteger(idx) || idx < 0 || idx >= b.attributes.length) {
      problems.push(`${where}: ordinal ${ord} points at attribute ${idx}, which does not exist`);
    }
  });
  return problems;
}
