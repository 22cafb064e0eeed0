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
//   a pending affinity to finish) is answered `slow` and its caller takes the one-at-a-time
//   path (allocator.ts) under the same node mutex.
// - One request per handle per batch: a second request for a handle already in the batch is
//   deferred to the next one, so each handle is written once per transaction.

import type { Datastore, TxnOp } from '../datastore/index.js';
import { MAX_TXN_OPS, isDatastoreError } from '../datastore/index.js';
import { type CIDR, type IPAddr, type IPFamily, formatCIDR } from '../ip/index.js';
import { handleKey, type AllocationBlock, encodeBlock, type IpamHandle, encodeHandle } from '../model/index.js';
import type { Logger } from '../util/log.js';
import type { AssignedAddress } from './api.js';
import type { IpamCache } from './cache.js';
import { affineNode, assignFromBlock, assignableCount } from './core/block.js';
import { adjustHandle } from './core/records.js';
import type { Outcome } from './group-commit.js';
import { assigned } from './release.js';
import { type RetryPolicy, withRetries } from './retry.js';
import type { IpamStore, StoredAffinity, Versioned } from './store.js';

/** Requests written in one transaction: their handles plus the blocks stay far below MAX_TXN_OPS. */
export const ASSIGNS_PER_BATCH = 60;
/** Larger requests take the one-at-a-time path (they may span many blocks). */
const MAX_BATCHED_COUNT = 16;
/** Block values per transaction, well inside etcd's default 1.5 MiB request limit. */
const MAX_BATCH_BYTES = 1 << 20;

/** A handle record as a request last saw it: the record, `absent` (create it), or `unknown` (read it before writing). */
export type HandleSeen = Versioned<IpamHandle> | 'absent' | 'unknown';

export interface AssignRequest {
  readonly family: IPFamily;
  readonly count: number;
  readonly handleId: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly inPools: (c: CIDR) => boolean;
  readonly reserved: ((a: IPAddr) => boolean) | undefined;
  /** The block as this request may assign from it (cooled addresses freed), when that differs. */
  readonly prepare: ((b: AllocationBlock) => AllocationBlock) | undefined;
  readonly handle: HandleSeen;
}

/**
 * Served: the addresses and the handle record as written. Slow: the node's blocks cannot serve
 * it; `lead` (the first such request of its family in the batch) takes the one-at-a-time path,
 * which claims a block, `retry` (the others) queue once more, to be served from that block.
 */
export type AssignResult = { readonly addresses: AssignedAddress[]; readonly handle: Versioned<IpamHandle> } | { readonly slow: 'lead' | 'retry'; readonly handle: HandleSeen };

type OpOwner = { kind: 'block'; cidr: CIDR } | { kind: 'handle'; index: number };

const done = (value: AssignResult): Outcome<AssignResult> => ({ kind: 'done', value });

export class AssignBatcher {
  /** Transactions written by batches and the requests they carried (tests, benchmarks). */
  transactions = 0;
  batchedRequests = 0;

  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly cache: IpamCache,
    private readonly retry: RetryPolicy,
    private readonly log: Logger,
  ) {}

  /** Answer every request of `batch` (GroupCommit's contract). */
  readonly settle = async (node: string, batch: readonly AssignRequest[]): Promise<Outcome<AssignResult>[]> => {
    const outcomes: (Outcome<AssignResult> | undefined)[] = batch.map(() => undefined);
    const handles = batch.map((r) => r.handle);
    const seen = new Set<string>();
    batch.forEach((r, i) => {
      if (seen.has(r.handleId)) outcomes[i] = { kind: 'defer' };
      seen.add(r.handleId);
    });
    const owners: OpOwner[] = [];
    try {
      await withRetries(
        `assigning addresses to ${batch.length} request(s) on node ${node}`,
        this.retry,
        () => this.attempt(node, batch, outcomes, handles, owners),
        (err) => this.onConflict(node, batch, handles, owners, err),
      );
    } catch (error) {
      return outcomes.map((o) => o ?? { kind: 'failed', error });
    }
    return outcomes.map((o) => o ?? { kind: 'defer' });
  };

  /** One try at the undecided requests; fills `outcomes` for those it serves or sends the slow way. */
  private async attempt(node: string, batch: readonly AssignRequest[], outcomes: (Outcome<AssignResult> | undefined)[], handles: HandleSeen[], owners: OpOwner[]): Promise<void> {
    owners.length = 0;
    const open = batch.flatMap((r, i) => (outcomes[i] === undefined ? [i] : []));
    await Promise.all(
      open.map(async (i) => {
        if (handles[i] === 'unknown') handles[i] = (await this.store.getHandle(batch[i]!.handleId)) ?? 'absent';
      }),
    );
    const usable = new Map<IPFamily, Versioned<AllocationBlock>[]>();
    for (const i of open) {
      const { family, prepare } = batch[i]!;
      if (!usable.has(family)) usable.set(family, this.cachedUsableBlocks(node, family, prepare) ?? (await this.usableBlocks(node, family, prepare)));
    }
    // Every request of a batch comes from one allocator and configuration: one view of the blocks.
    const prepared = new Map<string, AllocationBlock>();
    const view = (vb: Versioned<AllocationBlock>, prepare: AssignRequest['prepare']): AllocationBlock => {
      if (!prepare) return vb.value;
      let b = prepared.get(vb.key);
      if (!b) prepared.set(vb.key, (b = prepare(vb.value)));
      return b;
    };

    // Work each request out in turn on the batch's working copies of the blocks.
    const working = new Map<string, { vb: Versioned<AllocationBlock>; block: AllocationBlock }>();
    let bytes = 0;
    const planned: { i: number; picks: { key: string; cidr: string; ords: number[] }[] }[] = [];
    const deferred = new Set<number>();
    const led = new Set<IPFamily>();
    for (const i of open) {
      const r = batch[i]!;
      const cands = (usable.get(r.family) ?? []).filter((vb) => r.inPools(vb.value.cidr));
      const now = (vb: Versioned<AllocationBlock>) => working.get(vb.key)?.block ?? view(vb, r.prepare);
      const available = cands.reduce((n, vb) => n + assignableCount(now(vb), r.reserved), 0);
      if (r.count > MAX_BATCHED_COUNT || available < r.count) {
        outcomes[i] = done({ slow: r.count <= MAX_BATCHED_COUNT && led.has(r.family) ? 'retry' : 'lead', handle: handles[i]! });
        if (r.count <= MAX_BATCHED_COUNT) led.add(r.family);
        continue;
      }
      const picks: { key: string; cidr: string; ords: number[] }[] = [];
      const touched = new Map<string, { vb: Versioned<AllocationBlock>; block: AllocationBlock }>();
      let need = r.count;
      let extraBytes = 0;
      for (const vb of cands) {
        if (need === 0) break;
        const a = assignFromBlock(touched.get(vb.key)?.block ?? now(vb), need, r.handleId, r.attrs, r.reserved);
        if (a.ordinals.length === 0) continue;
        // Sizing a block means encoding it: only worth it when the transaction holds another block already.
        if (!working.has(vb.key) && (working.size > 0 || touched.size > 0)) extraBytes += Buffer.byteLength(JSON.stringify(encodeBlock(vb.value)));
        touched.set(vb.key, { vb, block: a.block });
        picks.push({ key: vb.key, cidr: formatCIDR(vb.value.cidr), ords: a.ordinals });
        need -= a.ordinals.length;
      }
      const blocksAfter = new Set([...working.keys(), ...touched.keys()]).size;
      if (planned.length > 0 && (blocksAfter + planned.length + 1 > MAX_TXN_OPS || bytes + extraBytes > MAX_BATCH_BYTES)) {
        deferred.add(i); // no room in this transaction: next batch
        continue;
      }
      for (const [k, v] of touched) working.set(k, v);
      bytes += extraBytes;
      planned.push({ i, picks });
    }
    if (planned.length === 0) return;

    const ops: TxnOp[] = [];
    for (const { vb, block } of working.values()) {
      owners.push({ kind: 'block', cidr: vb.value.cidr });
      ops.push({ op: 'update', key: vb.key, value: encodeBlock(block), revision: vb.revision });
    }
    const records: IpamHandle[] = [];
    for (const { i, picks } of planned) {
      const seen = handles[i]!;
      const r = batch[i]!;
      let h: IpamHandle = { ...(typeof seen === 'object' ? seen.value : { handleId: r.handleId, block: {} }), deleted: false };
      for (const p of picks) h = adjustHandle(h, p.cidr, p.ords.length);
      records.push(h);
      owners.push({ kind: 'handle', index: i });
      const key = handleKey(r.handleId);
      ops.push(typeof seen === 'object' ? { op: 'update', key, value: encodeHandle(h), revision: seen.revision } : { op: 'create', key, value: encodeHandle(h) });
    }
    const res = await this.ds.txn(ops);
    this.transactions++;
    this.batchedRequests += planned.length;

    let n = 0;
    for (const { block } of working.values()) this.cache.wrote(block, ops[n]!, res, n++);
    planned.forEach(({ i, picks }, p) => {
      const handle = { key: handleKey(batch[i]!.handleId), value: records[p]!, revision: res.results[n + p]!.revision };
      outcomes[i] = done({ addresses: picks.flatMap((pk) => pk.ords.map((o) => assigned(working.get(pk.key)!.block, o))), handle });
    });
    for (const i of deferred) outcomes[i] = { kind: 'defer' };
    this.log.debug('assigned batch', { node, requests: planned.length, blocks: working.size, revision: res.revision });
  }

  /**
   * The node's confirmed blocks with a free address (cached copies), in address order; anything
   * to repair is left to the slow path.
   */
  private async usableBlocks(node: string, family: IPFamily, prepare: AssignRequest['prepare']): Promise<Versioned<AllocationBlock>[]> {
    const affinities = await this.cache.nodeAffinities(node, family);
    for (const aff of affinities) if (aff.affinity.state === 'confirmed' && !this.cache.peekBlock(aff.block)) await this.cache.block(aff.block);
    return this.usableOf(affinities, node, prepare);
  }

  /** The same from cached affinities and blocks alone, without a trip through the event loop; undefined when something must be read. */
  private cachedUsableBlocks(node: string, family: IPFamily, prepare: AssignRequest['prepare']): Versioned<AllocationBlock>[] | undefined {
    const affinities = this.cache.cachedAffinities(node, family);
    if (!affinities) return undefined;
    for (const aff of affinities) if (aff.affinity.state === 'confirmed' && !this.cache.peekBlock(aff.block)) return undefined;
    return this.usableOf(affinities, node, prepare);
  }

  private usableOf(affinities: readonly StoredAffinity[], node: string, prepare: AssignRequest['prepare']): Versioned<AllocationBlock>[] {
    const out: Versioned<AllocationBlock>[] = [];
    for (const aff of affinities) {
      if (aff.affinity.state !== 'confirmed') continue;
      const vb = this.cache.peekBlock(aff.block);
      if (!vb || affineNode(vb.value) !== node) continue;
      // A full block may still have addresses whose cooldown has passed.
      if (vb.value.unallocated.length > 0 || (prepare && prepare(vb.value).unallocated.length > 0)) out.push(vb);
    }
    return out.sort((a, b) => (a.value.cidr.base < b.value.cidr.base ? -1 : a.value.cidr.base > b.value.cidr.base ? 1 : 0));
  }

  private onConflict(node: string, batch: readonly AssignRequest[], handles: HandleSeen[], owners: OpOwner[], err: unknown): void {
    const at = isDatastoreError(err) ? err.opIndex : undefined;
    const owner = at === undefined ? undefined : owners[at];
    if (owner?.kind === 'handle') handles[owner.index] = 'unknown';
    else if (owner?.kind === 'block') this.cache.forgetBlock(owner.cidr);
    else {
      // We cannot tell which key moved; forget everything the batch leaned on.
      for (const family of new Set(batch.map((r) => r.family))) this.cache.forgetFamily(node, family);
      handles.fill('unknown');
    }
  }
}
