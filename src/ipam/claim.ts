// Claiming blocks for a node (calico-internals.md §4.2 steps 5–6): find a free subnet in the
// node's seeded order, then the two-phase claim — affinity `pending`, then one transaction that
// creates the block and confirms the affinity. The block create is the arbiter between nodes
// racing for one subnet: exactly one create succeeds. See allocator.ts for the crash analysis.

import type { Datastore } from '../datastore/datastore.js';
import { isDatastoreError } from '../datastore/datastore.js';
import { type CIDR, type IPFamily, cidrContains, formatCIDR } from '../ip/index.js';
import type { Logger } from '../util/log.js';
import { affineNode, encodeBlock, isEmpty, newBlock, withAffinity } from './core/block.js';
import { blockCandidates, blockOrderSeed } from './core/block-order.js';
import { affinityKey, blockKey } from './core/keys.js';
import type { IpamPool } from './core/pools.js';
import { decodeAffinity, encodeAffinity } from './core/records.js';
import type { ReservationSet } from './core/reservations.js';
import type { IpamStore, StoredAffinity } from './store.js';

/** Calico lets a node take over another node's empty block only after it has been claimed this long. */
export const EMPTY_BLOCK_MIN_RECLAIM_AGE_MS = 60_000;

/** How far past the pool's existing blocks the subnet walk goes before giving up (huge reservations). */
const EXTRA_SUBNET_STEPS = 4096;

export type ClaimOutcome = 'claimed' | 'taken';

export class BlockClaimer {
  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly now: () => Date,
    private readonly log: Logger,
  ) {}

  /**
   * Claim one new block for `node` from `pools`: a subnet with no block, else an empty block of
   * another node old enough to reclaim. Returns false when the pools have neither.
   */
  async claimNew(pools: readonly IpamPool[], node: string, family: IPFamily, reservations: ReservationSet): Promise<boolean> {
    const { blocks } = await this.store.listBlocks(family);
    const existing = new Set(blocks.map((vb) => formatCIDR(vb.value.cidr)));
    for (const pool of pools) {
      const inPool = blocks.filter((vb) => cidrContains(pool.cidr, vb.value.cidr)).length;
      let steps = 0;
      for (const cidr of blockCandidates(pool, blockOrderSeed(pool, node, this.now().getTime() >>> 0))) {
        if (++steps > inPool + EXTRA_SUBNET_STEPS) break;
        if (existing.has(formatCIDR(cidr)) || reservations.coversBlock(cidr)) continue;
        // Even when another node wins this subnet ('taken') the state moved on: the caller's loop
        // looks again with a fresh block list.
        await this.claim(cidr, node);
        return true;
      }
    }
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
