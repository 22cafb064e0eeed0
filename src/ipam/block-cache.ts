// The allocator's copies of blocks it has read or written, each with the revision it was read
// at. A copy is only ever a hint: every write built from it is a compare-and-swap on that
// revision, so a stale copy costs one failed transaction (after which it is dropped), never a
// wrong allocation. Decisions that delete or repair records read fresh (`fresh`).

import type { TxnOp, TxnResult } from '../datastore/datastore.js';
import type { CIDR, IPFamily } from '../ip/index.js';
import type { AllocationBlock } from './core/block.js';
import { blockKey, blockPrefix } from './core/keys.js';
import type { IpamStore, Versioned } from './store.js';

export class BlockCache {
  private readonly blocks = new Map<string, Versioned<AllocationBlock>>();
  /**
   * Rises whenever the cache takes in a block it did not hold, or a copy with more free
   * addresses than the one it replaces. While it stands still, no block can have become usable
   * for assignment that was not usable before (assign-batch.ts relies on this).
   */
  gains = 0;

  constructor(private readonly store: IpamStore) {}

  /** The cached copy, else a read (absent blocks are not cached). */
  async get(cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    const hit = this.blocks.get(blockKey(cidr));
    return hit ?? this.fresh(cidr);
  }

  /** The cached copy only; no read. */
  peek(cidr: CIDR): Versioned<AllocationBlock> | undefined {
    return this.blocks.get(blockKey(cidr));
  }

  /** Always a read; the cache follows it. */
  async fresh(cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    const vb = await this.store.getBlock(cidr);
    if (vb) this.keep(vb);
    else this.blocks.delete(blockKey(cidr));
    return vb;
  }

  set(vb: Versioned<AllocationBlock>): void {
    this.keep(vb);
  }

  /** Record the outcome of a committed transaction whose op `index` wrote `block` (or deleted it). */
  remember(block: AllocationBlock, op: TxnOp, res: TxnResult, index: number): void {
    if (op.op === 'delete') this.blocks.delete(op.key);
    else this.keep({ key: op.key, value: block, revision: res.results[index]!.revision });
  }

  private keep(vb: Versioned<AllocationBlock>): void {
    const old = this.blocks.get(vb.key);
    if (!old || vb.value.unallocated.length > old.value.unallocated.length) this.gains++;
    this.blocks.set(vb.key, vb);
  }

  forget(cidr: CIDR): void {
    this.blocks.delete(blockKey(cidr));
  }

  forgetFamily(family: IPFamily): void {
    const prefix = blockPrefix(family);
    for (const k of [...this.blocks.keys()]) if (k.startsWith(prefix)) this.blocks.delete(k);
  }

  clear(): void {
    this.blocks.clear();
  }
}
