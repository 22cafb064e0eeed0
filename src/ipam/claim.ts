// Claiming blocks for a node (calico-internals.md §4.2 steps 5–6): find a free subnet in the
// node's seeded order, then claim it. The block create is the arbiter between nodes racing for
// one subnet: exactly one create succeeds. See allocator.ts for the crash analysis.
//
// Calico claims in two phases (affinity `pending`, then block create + affinity `confirmed`)
// because its Kubernetes backend has no multi-key transactions. etcd has them, so a fresh
// subnet is claimed in one transaction that creates the block and its confirmed affinity
// together: no crash window at all. The two-phase path remains for a subnet whose affinity key
// already exists (a pending claim a crash left behind, which this node now finishes).
//
// Finding a free subnet reads only the block keys (their CIDRs), never the blocks themselves:
// a cluster's blocks hold ~11 KB each, and a claim is on the allocation path. Only when a pool
// has no free subnet left are the blocks read, to look for an empty one to take over.

import type { Datastore } from '../datastore/index.js';
import { isDatastoreError } from '../datastore/index.js';
import { type CIDR, type IPFamily, cidrContains, cidrsOverlap, formatCIDR } from '../ip/index.js';
import type { Logger } from '../util/log.js';
import { affineNode, isEmpty, newBlock, withAffinity } from './core/block.js';
import { BlockIndex } from './core/block-index.js';
import { blockCandidates, blockOrderSeed } from './core/block-order.js';
import { affinityKey, blockKey, encodeBlock, decodeAffinity, encodeAffinity, type AllocationBlock } from '../model/index.js';
import type { IpamPool } from './core/pools.js';
import type { ReservationSet } from './core/reservations.js';
import type { IpamStore, StoredAffinity, Versioned } from './store.js';

/** Calico lets a node take over another node's empty block only after it has been claimed this long. */
export const EMPTY_BLOCK_MIN_RECLAIM_AGE_MS = 60_000;

/** How far past the pool's existing blocks the subnet walk goes before giving up (huge reservations). */
const EXTRA_SUBNET_STEPS = 4096;

export type ClaimOutcome = 'claimed' | 'taken';

/**
 * What a claim did. `claimed` with `block` and `affinity` when this call wrote both (the caller
 * may cache them as they are now in the datastore); without them when the two-phase path ran.
 */
export interface Claim {
  readonly outcome: ClaimOutcome;
  readonly block?: Versioned<AllocationBlock>;
  readonly affinity?: StoredAffinity;
}

export class BlockClaimer {
  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly now: () => Date,
    private readonly log: Logger,
  ) {}

  /**
   * Claim one new block for `node` from `pools` (`cidrs`: the family's existing blocks, from their
   * keys): a subnet with no block, else an empty block of
   * another node old enough to reclaim. Undefined when the pools have neither; otherwise the
   * state moved on (even when another node won the subnet) and the caller looks again.
   */
  async claimNew(pools: readonly IpamPool[], node: string, family: IPFamily, reservations: ReservationSet, cidrs: readonly CIDR[]): Promise<Claim | undefined> {
    const existing = new BlockIndex(cidrs);
    for (const pool of pools) {
      const inPool = cidrs.filter((c) => cidrsOverlap(pool.cidr, c)).length;
      let steps = 0;
      for (const cidr of blockCandidates(pool, blockOrderSeed(pool, node, this.now().getTime() >>> 0))) {
        if (++steps > inPool + EXTRA_SUBNET_STEPS) break;
        if (existing.overlaps(cidr) || reservations.coversBlock(cidr)) continue;
        return this.claimFresh(cidr, node);
      }
    }
    return (await this.reclaimEmpty(pools, node, family, reservations)) ? { outcome: 'claimed' } : undefined;
  }

  /** Take over another node's empty block, claimed long enough ago; false when there is none. */
  private async reclaimEmpty(pools: readonly IpamPool[], node: string, family: IPFamily, reservations: ReservationSet): Promise<boolean> {
    const { blocks } = await this.store.listBlocks(family);
    const now = this.now().getTime();
    for (const vb of blocks) {
      const owner = affineNode(vb.value);
      if (!owner || owner === node || !isEmpty(vb.value)) continue;
      if (!pools.some((p) => cidrContains(p.cidr, vb.value.cidr)) || reservations.coversBlock(vb.value.cidr)) continue;
      const claimedAt = vb.value.affinityClaimTime ? Date.parse(vb.value.affinityClaimTime) : 0;
      if (now - claimedAt < EMPTY_BLOCK_MIN_RECLAIM_AGE_MS) continue;
      // One transaction: the block (still empty, by CAS) changes hands and the affinities follow.
      const oldKey = affinityKey(owner, vb.value.cidr);
      const old = await this.ds.get(oldKey);
      await this.ds.txn([
        { op: 'update', key: vb.key, value: encodeBlock(withAffinity(vb.value, node, this.now())), revision: vb.revision },
        ...(old ? [{ op: 'delete' as const, key: oldKey, revision: old.revision }] : []),
        { op: 'put', key: affinityKey(node, vb.value.cidr), value: encodeAffinity({ state: 'confirmed', deleted: false }) },
      ]);
      this.log.info('reclaimed empty block', { block: formatCIDR(vb.value.cidr), from: owner, to: node });
      return true;
    }
    return false;
  }

  /**
   * Claim a subnet believed free: one transaction creating the block and our confirmed affinity.
   * If the block exists another node won it; if our affinity key exists (a claim a crash left
   * half done) the two-phase path takes over and finishes or drops it.
   */
  async claimFresh(cidr: CIDR, node: string): Promise<Claim> {
    const block = newBlock(cidr, node, this.now());
    const bKey = blockKey(cidr);
    const aKey = affinityKey(node, cidr);
    const affinity = { state: 'confirmed', deleted: false } as const;
    try {
      const res = await this.ds.txn([
        { op: 'create', key: bKey, value: encodeBlock(block) },
        { op: 'create', key: aKey, value: encodeAffinity(affinity) },
      ]);
      this.log.info('claimed block', { block: formatCIDR(cidr), node });
      return {
        outcome: 'claimed',
        block: { key: bKey, value: block, revision: res.results[0]!.revision },
        affinity: { key: aKey, node, block: cidr, affinity, revision: res.results[1]!.revision },
      };
    } catch (err) {
      if (!isDatastoreError(err, 'AlreadyExists')) throw err;
      if (err.opIndex === 0) return { outcome: 'taken' };
    }
    return { outcome: await this.claim(cidr, node) };
  }

  /** The two-phase claim of one subnet. Conflicts on our own affinity propagate (caller retries). */
  async claim(cidr: CIDR, node: string): Promise<ClaimOutcome> {
    const aKey = affinityKey(node, cidr);
    const pending = encodeAffinity({ state: 'pending', deleted: false });
    const current = await this.ds.get(aKey);
    let affRev: number;
    if (!current) affRev = (await this.ds.create(aKey, pending)).revision;
    else if (decodeAffinity(current.value).state === 'confirmed') affRev = current.revision;
    else affRev = (await this.ds.update(aKey, pending, current.revision)).revision;

    const confirmed = encodeAffinity({ state: 'confirmed', deleted: false });
    try {
      await this.ds.txn([
        { op: 'create', key: blockKey(cidr), value: encodeBlock(newBlock(cidr, node, this.now())) },
        { op: 'update', key: aKey, value: confirmed, revision: affRev },
      ]);
      this.log.info('claimed block', { block: formatCIDR(cidr), node });
      return 'claimed';
    } catch (err) {
      if (!(isDatastoreError(err, 'AlreadyExists') && err.opIndex === 0)) throw err;
    }
    const block = await this.store.getBlock(cidr);
    if (block && affineNode(block.value) === node) {
      await this.ds.update(aKey, confirmed, affRev);
      return 'claimed';
    }
    await this.deleteIfUnchanged(aKey, affRev);
    return 'taken';
  }

  async confirm(aff: StoredAffinity): Promise<void> {
    await this.ds.update(aff.key, encodeAffinity({ state: 'confirmed', deleted: false }), aff.revision);
  }

  /** Our affinity names a block that belongs to someone else (or nobody): remove it. */
  async dropStaleAffinity(aff: StoredAffinity): Promise<void> {
    this.log.info('removing stale affinity', { key: aff.key });
    await this.deleteIfUnchanged(aff.key, aff.revision);
  }

  private async deleteIfUnchanged(key: string, revision: number): Promise<void> {
    try {
      await this.ds.delete(key, revision);
    } catch (err) {
      // Someone else already changed or removed it; their state wins.
      if (!isDatastoreError(err, 'NotFound') && !isDatastoreError(err, 'Conflict')) throw err;
    }
  }
}
