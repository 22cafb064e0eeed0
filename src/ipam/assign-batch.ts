// The allocator's fast path: assignments for one node from the node's own blocks, written as a
// batch (group-commit.ts). Every request queued while the previous write was in flight is
// served from the node's confirmed affine blocks in arrival order, and one transaction writes
// each touched block once (compare-and-swap on the revision it was read at) together with each
// request's handle (create, or CAS on the revision this request last saw).
//
// Invariants, the same as one request at a time:
// - An address is handed out at most once: the batch's blocks are CAS-written; a conflict
//   fails the whole transaction, and the batch is worked out again from fresh reads (bounded,
//   jittered retries, retry.ts), so nothing from a failed attempt is ever returned.
// - Each request's assignment is applied to the block as its own step (its own sequence
//   number; FIFO order of the free list), exactly as if the requests had come one by one.
// - All or nothing per request: a request either gets all it asked for from this batch or
//   nothing from it; one the node's blocks cannot serve in full (new block to claim, borrowing,
//   a pending affinity to finish) is handed back `slow` and its caller takes the one-at-a-time
//   path (allocator.ts) under the same node mutex.
// - One ticket per handle per batch: a second request for a handle already in the batch waits
//   for the next one, so each handle is written once per transaction.

import type { Datastore, TxnOp } from '../datastore/datastore.js';
import { MAX_TXN_OPS, isDatastoreError } from '../datastore/datastore.js';
import { type CIDR, type IPAddr, type IPFamily, formatCIDR } from '../ip/index.js';
import type { Logger } from '../util/log.js';
import type { AssignedAddress } from './api.js';
import type { BlockCache } from './block-cache.js';
import { type AllocationBlock, affineNode, assignFromBlock, assignableCount, encodeBlock } from './core/block.js';
import { handleKey } from './core/keys.js';
import { type IpamHandle, adjustHandle, encodeHandle } from './core/records.js';
import type { Ticket } from './group-commit.js';
import { assigned } from './release.js';
import { type RetryPolicy, withRetries } from './retry.js';
import type { IpamStore, StoredAffinity, Versioned } from './store.js';

/** Requests written in one transaction: their handles plus the blocks stay far below MAX_TXN_OPS. */
export const ASSIGNS_PER_BATCH = 60;
/** Larger requests take the one-at-a-time path (they may span many blocks). */
const MAX_BATCHED_COUNT = 16;
/** Block values per transaction, well inside etcd's default 1.5 MiB request limit. */
const MAX_BATCH_BYTES = 1 << 20;

/** The handle record as this request last saw it; `current` undefined = believed absent. */
export class HandleCursor {
  current: Versioned<IpamHandle> | undefined;
  stale = false;
  constructor(readonly handleId: string) {}
}

export interface AssignTicket extends Ticket {
  readonly node: string;
  readonly family: IPFamily;
  readonly count: number;
  readonly handleId: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly inPools: (c: CIDR) => boolean;
  readonly reserved: ((a: IPAddr) => boolean) | undefined;
  /** The block as this request may assign from it (cooled addresses freed), when that differs. */
  readonly prepare: ((b: AllocationBlock) => AllocationBlock) | undefined;
  readonly cursor: HandleCursor;
  /** Settled with the addresses assigned. */
  result?: AssignedAddress[];
  /**
   * Settled without addresses: the node's blocks cannot serve it. `lead` (the first such request
   * of its family in the batch) takes the one-at-a-time path, which claims a block; `retry` (the
   * others) queue once more, to be served in one batch from the block the lead claimed.
   */
  slow?: 'lead' | 'retry';
}

/** The allocator's per-node affinity cache: a cached list (or none), a read, and invalidation. */
export interface AffinitySource {
  cached(node: string, family: IPFamily): StoredAffinity[] | undefined;
  read(node: string, family: IPFamily): Promise<StoredAffinity[]>;
  drop(node: string, family: IPFamily): void;
}

type OpOwner = { kind: 'block'; cidr: CIDR } | { kind: 'handle'; ticket: AssignTicket };

export class AssignBatcher {
  /** Transactions written by batches and the requests they carried (tests, benchmarks). */
  transactions = 0;
  batchedRequests = 0;
  /**
   * The last list `cachedUsableBlocks` made per node and family, with what it was made from: the
   * cached affinity list and the block cache's `gains`. While both stand, no block outside the
   * list can have become usable, so the list only needs its own entries brought up to date; a
   * node holding many full blocks pays nothing per request for them.
   */
  private readonly usableMemo = new Map<string, { affinities: readonly StoredAffinity[]; gains: number; blocks: Versioned<AllocationBlock>[] }>();

  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly blocks: BlockCache,
    private readonly retry: RetryPolicy,
    private readonly affinities: AffinitySource,
    private readonly log: Logger,
  ) {}

  /** Settle every ticket of `batch` (GroupCommit's contract). */
  readonly settle = async (node: string, batch: AssignTicket[]): Promise<void> => {
    const handles = new Set<string>();
    const work: AssignTicket[] = [];
    for (const t of batch) {
      if (handles.has(t.handleId)) t.deferred = true;
      else {
        handles.add(t.handleId);
        work.push(t);
      }
    }
    const owners: OpOwner[] = [];
    try {
      await withRetries(
        `assigning addresses to ${work.length} request(s) on node ${node}`,
        this.retry,
        () => this.attempt(node, work, owners),
        (err) => this.onConflict(node, work, owners, err),
      );
    } catch (err) {
      for (const t of work) if (!t.settled) Object.assign(t, { settled: true, error: err });
    }
  };

  private async attempt(node: string, work: AssignTicket[], owners: OpOwner[]): Promise<void> {
    owners.length = 0;
    const open = work.filter((t) => !t.settled);
    for (const t of open) t.deferred = false;
    const stale = open.filter((t) => t.cursor.stale);
    if (stale.length > 0) {
      await Promise.all(
        stale.map(async (t) => {
          t.cursor.current = await this.store.getHandle(t.handleId);
          t.cursor.stale = false;
        }),
      );
    }
    const usable = new Map<IPFamily, Versioned<AllocationBlock>[]>();
    for (const t of open) {
      if (!usable.has(t.family)) usable.set(t.family, this.cachedUsableBlocks(node, t.family, t.prepare) ?? (await this.usableBlocks(node, t.family, t.prepare)));
    }
    // Every ticket of a batch comes from one allocator and configuration: one view of the blocks.
    const prepared = new Map<string, AllocationBlock>();
    const view = (vb: Versioned<AllocationBlock>, prepare: AssignTicket['prepare']): AllocationBlock => {
      if (!prepare) return vb.value;
      let b = prepared.get(vb.key);
      if (!b) prepared.set(vb.key, (b = prepare(vb.value)));
      return b;
    };

    // Work each request out in turn on the batch's working copies of the blocks.
    const working = new Map<string, { vb: Versioned<AllocationBlock>; block: AllocationBlock }>();
    let bytes = 0;
    const planned: { t: AssignTicket; picks: { key: string; cidr: string; ords: number[] }[] }[] = [];
    const led = new Set<IPFamily>();
    for (const t of open) {
      const cands = (usable.get(t.family) ?? []).filter((vb) => t.inPools(vb.value.cidr));
      const now = (vb: Versioned<AllocationBlock>) => working.get(vb.key)?.block ?? view(vb, t.prepare);
      const available = cands.reduce((n, vb) => n + assignableCount(now(vb), t.reserved), 0);
      if (t.count > MAX_BATCHED_COUNT) {
        Object.assign(t, { settled: true, slow: 'lead' });
        continue;
      }
      if (available < t.count) {
        Object.assign(t, { settled: true, slow: led.has(t.family) ? 'retry' : 'lead' });
        led.add(t.family);
        continue;
      }
      const picks: { key: string; cidr: string; ords: number[] }[] = [];
      const touched = new Map<string, { vb: Versioned<AllocationBlock>; block: AllocationBlock }>();
      let need = t.count;
      let extraBytes = 0;
      for (const vb of cands) {
        if (need === 0) break;
        const r = assignFromBlock(touched.get(vb.key)?.block ?? now(vb), need, t.handleId, t.attrs, t.reserved);
        if (r.ordinals.length === 0) continue;
        // Sizing a block's value builds its text pieces: only worth it when the transaction holds another block already.
        if (!working.has(vb.key) && (working.size > 0 || touched.size > 0)) extraBytes += Buffer.byteLength(JSON.stringify(encodeBlock(vb.value)));
        touched.set(vb.key, { vb, block: r.block });
        picks.push({ key: vb.key, cidr: formatCIDR(vb.value.cidr), ords: r.ordinals });
        need -= r.ordinals.length;
      }
      const blocksAfter = new Set([...working.keys(), ...touched.keys()]).size;
      if (planned.length > 0 && (blocksAfter + planned.length + 1 > MAX_TXN_OPS || bytes + extraBytes > MAX_BATCH_BYTES)) {
        t.deferred = true; // no room in this transaction: next batch
        continue;
      }
      for (const [k, v] of touched) working.set(k, v);
      bytes += extraBytes;
      planned.push({ t, picks });
    }
    if (planned.length === 0) return;

    const ops: TxnOp[] = [];
    for (const { vb, block } of working.values()) {
      owners.push({ kind: 'block', cidr: vb.value.cidr });
      ops.push({ op: 'update', key: vb.key, value: encodeBlock(block), revision: vb.revision });
    }
    const handles: IpamHandle[] = [];
    for (const { t, picks } of planned) {
      let h: IpamHandle = { ...(t.cursor.current?.value ?? { handleId: t.handleId, block: {} }), deleted: false };
      for (const p of picks) h = adjustHandle(h, p.cidr, p.ords.length);
      handles.push(h);
      owners.push({ kind: 'handle', ticket: t });
      const key = handleKey(t.handleId);
      ops.push(t.cursor.current ? { op: 'update', key, value: encodeHandle(h), revision: t.cursor.current.revision } : { op: 'create', key, value: encodeHandle(h) });
    }
    const res = await this.ds.txn(ops);
    this.transactions++;
    this.batchedRequests += planned.length;

    let i = 0;
    for (const { block } of working.values()) this.blocks.remember(block, ops[i]!, res, i++);
    planned.forEach(({ t, picks }, n) => {
      t.cursor.current = { key: handleKey(t.handleId), value: handles[n]!, revision: res.results[i + n]!.revision };
      t.result = picks.flatMap((p) => p.ords.map((o) => assigned(working.get(p.key)!.block, o)));
      t.settled = true;
    });
    this.log.debug('assigned batch', { node, requests: planned.length, blocks: working.size, revision: res.revision });
  }

  /**
   * The node's confirmed blocks with a free address (cached copies), in address order; anything
   * to repair is left to the slow path. Full blocks are dropped here, before any per-request work:
   * a node that has filled many blocks pays a map lookup for each, nothing more.
   */
  private async usableBlocks(node: string, family: IPFamily, prepare: AssignTicket['prepare']): Promise<Versioned<AllocationBlock>[]> {
    const affinities = await this.affinities.read(node, family);
    for (const aff of affinities) if (aff.affinity.state === 'confirmed' && !this.blocks.peek(aff.block)) await this.blocks.get(aff.block);
    return usableOf(affinities, this.blocks, node, prepare);
  }

  /** The same from cached affinities and blocks alone, without a trip through the event loop; undefined when something must be read. */
  private cachedUsableBlocks(node: string, family: IPFamily, prepare: AssignTicket['prepare']): Versioned<AllocationBlock>[] | undefined {
    const affinities = this.affinities.cached(node, family);
    if (!affinities) return undefined;
    const key = `${family}|${node}`;
    // With cooldown a full block may have addresses to give back: no shortcut then.
    const memo = prepare ? undefined : this.usableMemo.get(key);
    if (memo && memo.affinities === affinities && memo.gains === this.blocks.gains) {
      const blocks = this.current(memo.blocks, node);
      if (blocks) {
        this.usableMemo.set(key, { ...memo, blocks });
        return blocks;
      }
    }
    for (const aff of affinities) if (aff.affinity.state === 'confirmed' && !this.blocks.peek(aff.block)) return undefined;
    const blocks = usableOf(affinities, this.blocks, node, prepare);
    if (!prepare) this.usableMemo.set(key, { affinities, gains: this.blocks.gains, blocks });
    return blocks;
  }

  /** A remembered usable list with each entry's current cached copy, full ones left out; undefined if an entry left the cache. */
  private current(list: readonly Versioned<AllocationBlock>[], node: string): Versioned<AllocationBlock>[] | undefined {
    const out: Versioned<AllocationBlock>[] = [];
    for (const vb of list) {
      const now = this.blocks.peek(vb.value.cidr);
      if (!now || affineNode(now.value) !== node) return undefined;
      if (now.value.unallocated.length > 0) out.push(now);
    }
    return out;
  }

  private onConflict(node: string, work: AssignTicket[], owners: OpOwner[], err: unknown): void {
    const at = isDatastoreError(err) ? err.opIndex : undefined;
    const owner = at === undefined ? undefined : owners[at];
    if (owner?.kind === 'handle') owner.ticket.cursor.stale = true;
    else if (owner?.kind === 'block') this.blocks.forget(owner.cidr);
    else {
      // We cannot tell which key moved; forget everything the batch leaned on.
      for (const family of new Set(work.map((t) => t.family))) {
        this.blocks.forgetFamily(family);
        this.affinities.drop(node, family);
      }
      for (const t of work) t.cursor.stale = true;
    }
  }
}

function usableOf(affinities: readonly StoredAffinity[], blocks: BlockCache, node: string, prepare: AssignTicket['prepare']): Versioned<AllocationBlock>[] {
  const out: Versioned<AllocationBlock>[] = [];
  for (const aff of affinities) {
    if (aff.affinity.state !== 'confirmed') continue;
    const vb = blocks.peek(aff.block);
    if (!vb || affineNode(vb.value) !== node) continue;
    // A full block may still have addresses whose cooldown has passed.
    if (vb.value.unallocated.length > 0 || (prepare && prepare(vb.value).unallocated.length > 0)) out.push(vb);
  }
  return out.sort((a, b) => (a.value.cidr.base < b.value.cidr.base ? -1 : a.value.cidr.base > b.value.cidr.base ? 1 : 0));
}
