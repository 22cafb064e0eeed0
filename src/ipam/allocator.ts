// BlockAllocator: Calico's block IPAM over the Datastore contract (calico-internals.md §4).
//
// Invariant: an address is handed out at most once. Every write that can race is a
// compare-and-swap on the revision the decision was based on, so two allocators can never both
// take one ordinal: the loser's transaction fails and it re-reads and decides again, within a
// bounded, jittered retry budget (retry.ts). Caches (blocks, affinities, pools/config) are hints
// only — a stale hint costs a failed CAS, never a duplicate.
//
// Write order and crash safety. etcd transactions span keys, so each step below is one atomic
// transaction and a crash between steps leaves one of the states listed, all of which `ipam
// check` reads without seeing a duplicate and which GC (or the next allocation) repairs:
//   allocate   txn{ block CAS (ordinals marked, sequence numbers recorded),
//                   handle create-or-CAS (count += n) }          — block and handle never disagree
//   release    txn{ block CAS (ordinals freed to the FIFO tail; block deleted if now empty and
//                   unaffine), handle CAS (count -= n; deleted at zero) }      (release.ts)
//   claim      txn{ block create (affinity host:<node>), affinity create (confirmed) } (claim.ts)
//              — a free subnet is claimed atomically: no crash window. Calico's two phases
//              remain for a subnet whose affinity key already exists (a claim Calico, or a
//              crash mid-claim, left pending):
//              1. affinity := pending (create, or CAS from any non-confirmed state)
//              2. txn{ block create (affinity host:<node>), affinity CAS pending → confirmed }
//              crash after 1: a pending affinity with no block. The node finishes the claim on
//              its next allocation; GC deletes it if the node is gone, if another node won the
//              block, or if it is still pending one grace period later.
//              If 2 loses (the block exists, affine elsewhere) the pending affinity is deleted
//              by CAS; a crash before that leaves the same repairable state.
//   reclaim    txn{ block CAS (empty, affinity → us), other node's affinity delete, ours put }
// Requests for one node that are in flight together are written together (group commit:
// group-commit.ts, assign-batch.ts, release.ts): one transaction writes each block once and every
// request's handle, each request applied as its own step. That is the same transaction shape as
// above with more handles in it, so the crash analysis is unchanged. Requests the node's blocks
// cannot serve in full (a block to claim, borrowing, a repair) take the one-at-a-time path below,
// under the same per-node mutex, so in one process a node's writes never race each other.
// The only crash outcome with an address lost to use is "allocated but the caller never learned
// of it" (crash after the allocate txn): the allocation carries its pod/namespace/node
// attributes and no WorkloadEndpoint appears, so GC frees it after the leak grace period.

import type { Datastore, TxnOp, TxnResult } from '../datastore/index.js';
import { type CIDR, type IPAddr, type IPFamily, cidrContains, enclosingCIDR, formatCIDR } from '../ip/index.js';
import { handleKey, isValidHandleId, isValidNodeName, type AllocationBlock, encodeBlock, type IpamConfig, type IpamHandle, cooldownSeconds, encodeHandle } from '../model/index.js';
import { parseSelector } from '../selector/index.js';
import { type Logger, nullLogger } from '../util/log.js';
import {
  type AllocationAttrs,
  type AssignIPRequest,
  type AssignedAddress,
  type AutoAssignRequest,
  type AutoAssignResult,
  type Ipam,
  IpamError,
  type ReleaseRequest,
  type TunnelIpam,
} from './api.js';
import { ASSIGNS_PER_BATCH, AssignBatcher, type AssignRequest, type AssignResult, type HandleSeen } from './assign-batch.js';
import { type BlockListing, IpamCache, type RequestContext } from './cache.js';
import { BlockClaimer } from './claim.js';
import { affineNode, assignFromBlock, assignOrdinal, assignableCount, collectCooled, ordinalOf, reusableAt } from './core/block.js';
import { BlockIndex } from './core/block-index.js';
import { fnv1a32 } from './core/block-order.js';
import { type IpamPool, type SelectorParser, choosePools, overlapLosers, poolContaining } from './core/pools.js';
import { adjustHandle, effectiveMaxBlocks } from './core/records.js';
import { type TunnelType, poolServesTunnel, tunnelSpec } from './core/tunnel.js';
import { GroupCommit } from './group-commit.js';
import { KeyedMutex } from '../util/index.js';
import { Releaser, assigned, parseAddress } from './release.js';
import { DEFAULT_RETRY, type RetryPolicy, RetryableConflict, withRetries } from './retry.js';
import { IpamStore, type StoredAffinity, type Versioned } from './store.js';

export interface AllocatorOptions {
  readonly now?: () => Date;
  readonly parseSelector?: SelectorParser;
  readonly retry?: RetryPolicy;
  /**
   * How long pools, IPAM config, reservations and node labels read from the datastore are reused
   * (ms). 0 reads them for every request. A long-lived agent sets ~1000: a pool disabled now may
   * still serve requests for that long, which Calico's own caches also allow.
   */
  readonly contextTtlMs?: number;
  readonly logger?: Logger;
}

/**
 * A block as this request may assign from it: with ipCooldownSeconds > 0, addresses whose
 * cooldown has passed are back in the free list (the write that assigns also returns them).
 * Undefined when cooldown is off (the common case: nothing to do).
 */
function cooledView(config: IpamConfig, now: () => Date): ((b: AllocationBlock) => AllocationBlock) | undefined {
  const seconds = cooldownSeconds(config);
  return seconds > 0 ? (b) => collectCooled(b, now(), seconds).block : undefined;
}

interface FamilyPlan {
  readonly family: IPFamily;
  readonly count: number;
  readonly pools: IpamPool[];
}

/** The handle record as this request last saw it; only this file's one-at-a-time paths change it. */
interface HandleState {
  seen: HandleSeen;
}

export class BlockAllocator implements Ipam, TunnelIpam {
  readonly store: IpamStore;
  private readonly now: () => Date;
  private readonly retry: RetryPolicy;
  private readonly log: Logger;
  private readonly claimer: BlockClaimer;
  private readonly nodeLock = new KeyedMutex();
  /** Everything remembered between requests (cache.ts states its invariants). */
  private readonly cache: IpamCache;
  private readonly releaser: Releaser;
  /** The fast path: concurrent assignments for one node written together (assign-batch.ts). */
  readonly batcher: AssignBatcher;
  private readonly assigns: GroupCommit<AssignRequest, AssignResult>;

  constructor(readonly ds: Datastore, opts: AllocatorOptions = {}) {
    this.store = new IpamStore(ds);
    this.now = opts.now ?? (() => new Date());
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.log = opts.logger ?? nullLogger;
    this.cache = new IpamCache(this.store, opts.contextTtlMs ?? 0, opts.parseSelector ?? parseSelector, this.log);
    this.claimer = new BlockClaimer(ds, this.store, this.now, this.log);
    this.releaser = new Releaser(ds, this.store, this.cache, this.retry, (addr) => this.locateBlock(addr), this.nodeLock, this.now);
    this.batcher = new AssignBatcher(ds, this.store, this.cache, this.retry, this.log);
    this.assigns = new GroupCommit(this.nodeLock, ASSIGNS_PER_BATCH, this.batcher.settle);
  }

  /** Forget every cached read (tests, or after a configuration change). */
  invalidate(): void {
    this.cache.clear();
  }

  // ---------------------------------------------------------------- automatic assignment

  async autoAssign(req: AutoAssignRequest): Promise<AutoAssignResult> {
    return this.autoAssignWith(req, () => true);
  }

  private async autoAssignWith(req: AutoAssignRequest, poolFilter: (p: IpamPool) => boolean): Promise<AutoAssignResult> {
    validateCommon(req.handleId, req.node);
    for (const [n, what] of [[req.num4, 'num4'], [req.num6, 'num6']] as const) {
      if (!Number.isInteger(n) || n < 0 || n > 1024) throw new IpamError('InvalidRequest', `${what} must be an integer in 0..1024, got ${n}`);
    }
    // Cached reads are taken without a trip through the event loop: this is every request's path.
    const ctx = this.cache.cachedContext() ?? (await this.cache.requestContext());
    const nodeLabels = this.cache.cachedLabels(req.node) ?? (await this.cache.nodeLabels(req.node));
    const plans: FamilyPlan[] = [];
    for (const family of [4, 6] as const) {
      const count = family === 4 ? req.num4 : req.num6;
      if (count === 0) continue;
      const explicit = family === 4 ? req.ipv4Pools : req.ipv6Pools;
      const choice = choosePools(ctx.pools.filter(poolFilter), {
        family,
        ...(explicit ? { explicit } : {}),
        nodeLabels,
        ...(req.namespaceLabels ? { namespaceLabels: req.namespaceLabels } : {}),
        use: req.intendedUse ?? 'Workload',
      }, ctx.parseSelector);
      if (!choice.ok) throw new IpamError(choice.code, `node ${req.node}, handle ${req.handleId}: ${choice.message}`);
      plans.push({ family, count, pools: choice.pools });
    }
    const handle: HandleState = { seen: 'absent' };
    const got: AssignedAddress[] = [];
    try {
      for (const plan of plans) await this.assignFamilyBatched(plan, req, ctx, handle, got);
    } catch (err) {
      // All or nothing: a request that cannot be met in full gives back what it took.
      if (got.length > 0) await this.releaseIPs(got.map((a) => ({ ip: a.ip, sequenceNumber: a.sequenceNumber, handleId: req.handleId })));
      throw err;
    }
    return { ipv4: got.filter((a) => a.family === 4), ipv6: got.filter((a) => a.family === 6) };
  }

  /**
   * One family of a request: queued with the node's other requests in flight and written in
   * their batch when the node's blocks can serve it in full; otherwise (or when it is too big to
   * batch) the one-at-a-time path, still under the node's mutex.
   */
  private async assignFamilyBatched(plan: FamilyPlan, req: AutoAssignRequest, ctx: RequestContext, handle: HandleState, sink: AssignedAddress[]): Promise<void> {
    const request: AssignRequest = {
      family: plan.family,
      count: plan.count,
      handleId: req.handleId,
      attrs: attrsFor(req.attrs),
      inPools: (c) => plan.pools.some((p) => cidrContains(p.cidr, c)),
      reserved: ctx.reserved,
      prepare: cooledView(ctx.config, this.now),
      handle: handle.seen,
    };
    // At most two rounds: a request its batch could not serve while another request of the batch
    // went to claim a block queues once more, to be served from that block with the rest.
    for (let round = 0; round < 2; round++) {
      const served = await this.assigns.submit(req.node, { ...request, handle: handle.seen }, async (o) => {
        if (o.kind === 'failed') throw o.error;
        if (o.kind !== 'done') throw new Error('internal: a deferred request was answered');
        handle.seen = o.value.handle;
        if ('addresses' in o.value) sink.push(...o.value.addresses);
        else if (o.value.slow === 'retry' && round === 0) return false;
        else await this.assignFamily(plan, req, ctx, handle, sink);
        return true;
      });
      if (served) return;
    }
  }

  /** Appends to `sink` as it goes, so a failure part-way still lets the caller give back what was taken. */
  private async assignFamily(plan: FamilyPlan, req: AutoAssignRequest, ctx: RequestContext, handle: HandleState, sink: AssignedAddress[]): Promise<void> {
    const before = sink.length;
    const taken = () => sink.length - before;
    const maxBlocks = effectiveMaxBlocks(ctx.config, req.maxBlocksPerHost);
    const inPools = (c: CIDR) => plan.pools.some((p) => cidrContains(p.cidr, c));
    await withRetries(
      `assigning IPv${plan.family} addresses to ${req.handleId} on node ${req.node}`,
      this.retry,
      async () => {
        // Each pass writes something (an assignment, a claim, a repaired affinity); the guard
        // only bounds a pathological datastore that keeps changing without letting us finish.
        let listing: BlockListing | undefined;
        // A remembered listing may do for claiming; giving up takes one made now.
        let listNow = false;
        for (let pass = 0; taken() < plan.count; pass++) {
          if (pass > 4 * plan.count + 2 * maxBlocks + 16) throw new RetryableConflict('allocation is not converging');
          const want = plan.count - taken();
          const mine = (await this.cache.nodeAffinities(req.node, plan.family)).filter((a) => inPools(a.block));
          // 1. Blocks affine to this node (finishing any claim a crash left pending).
          if (await this.fillFromAffine(mine, want, req, ctx, handle, sink)) continue;
          // Before claiming or giving up: are our copies of our own blocks still current?
          if (listing === undefined) {
            listing = await this.cache.blockListing(plan.family, listNow);
            if (await this.revalidate(mine, listing)) continue;
          }
          // 2. Claim a new block while under the per-node cap.
          const owned = mine.filter((a) => a.affinity.state !== 'pendingDeletion').length;
          if (ctx.config.autoAllocateBlocks && owned < maxBlocks) {
            const claim = await this.claimer.claimNew(plan.pools, req.node, plan.family, ctx.reservations, listing.cidrs);
            listing = undefined; // a claim changes what exists
            if (claim) {
              this.cache.claimed(req.node, plan.family, claim);
              continue;
            }
          }
          // 3. Borrow from other nodes' blocks unless strict affinity forbids it.
          if (!ctx.config.strictAffinity && (await this.borrow(plan, want, req, ctx, handle, sink))) continue;
          if (!listNow) {
            listNow = true;
            listing = undefined;
            continue;
          }
          throw this.exhausted(plan, req, ctx, owned, maxBlocks);
        }
      },
      () => this.onConflict(req.node, plan.family, handle),
    );
  }

  private exhausted(plan: FamilyPlan, req: AutoAssignRequest, ctx: RequestContext, owned: number, maxBlocks: number): IpamError {
    const pools = plan.pools.map((p) => `${p.name} (${formatCIDR(p.cidr)})`).join(', ');
    if (owned >= maxBlocks) {
      return new IpamError(
        'BlockLimit',
        `node ${req.node} holds ${owned} IPv${plan.family} blocks, the limit (maxBlocksPerHost ${maxBlocks}); they are full` +
          (ctx.config.strictAffinity ? ' and strict affinity forbids borrowing' : ' and no other block has a free address') +
          ` in pools ${pools}`,
      );
    }
    return new IpamError('PoolExhausted', `no IPv${plan.family} addresses available in pools ${pools} for node ${req.node}`);
  }

  /**
   * Our cached copies of this node's blocks against a listing of revisions. A block another
   * process released addresses into (GC, `tabbyctl ipam release`, an agent restarted elsewhere)
   * would otherwise look full, and the node would claim a new block — or report exhaustion —
   * with free addresses in its own. Copies newer than the listing are current as far as it can
   * tell. Re-reads what changed; true when something did.
   */
  private async revalidate(mine: readonly StoredAffinity[], listing: BlockListing): Promise<boolean> {
    const revisions = new Map(listing.keys.map((k) => [k.key, k.revision]));
    let changed = false;
    for (const aff of mine) {
      const cached = this.cache.peekBlock(aff.block);
      if (cached && listing.revision > cached.revision && revisions.get(cached.key) !== cached.revision) {
        await this.cache.freshBlock(aff.block);
        changed = true;
      }
    }
    return changed;
  }

  /** The block as a request may assign from it: cooled addresses back in the free list. */
  private viewOf(ctx: RequestContext, b: AllocationBlock): AllocationBlock {
    return cooledView(ctx.config, this.now)?.(b) ?? b;
  }

  /** Assign from this node's blocks; true when it wrote something (progress). */
  private async fillFromAffine(mine: StoredAffinity[], want: number, req: AutoAssignRequest, ctx: RequestContext, handle: HandleState, out: AssignedAddress[]): Promise<boolean> {
    const ordered = [...mine].sort((a, b) => (a.block.base < b.block.base ? -1 : a.block.base > b.block.base ? 1 : 0));
    for (const aff of ordered) {
      if (aff.affinity.state === 'pendingDeletion') continue;
      let vb = await this.cache.block(aff.block);
      if (!vb || affineNode(vb.value) !== req.node || aff.affinity.state === 'pending') {
        // About to finish, confirm or drop something: decide on fresh state, never on a cached hint
        // (a cached copy may predate this node reclaiming the block).
        vb = await this.cache.freshBlock(aff.block);
      }
      if (!vb) {
        // Affinity without a block: a claim that crashed between its two steps. Finish it.
        await this.claimer.claim(aff.block, req.node);
        this.cache.dropAffinities(req.node, aff.block.family);
        return true;
      }
      if (affineNode(vb.value) !== req.node) {
        // Our affinity is stale: the block belongs elsewhere. Drop it (CAS) and move on.
        await this.claimer.dropStaleAffinity(aff);
        this.cache.dropAffinities(req.node, aff.block.family);
        continue;
      }
      if (aff.affinity.state === 'pending') {
        await this.claimer.confirm(aff);
        this.cache.dropAffinities(req.node, aff.block.family);
      }
      if (assignableCount(this.viewOf(ctx, vb.value), ctx.reserved) === 0) continue;
      await this.writeAssignment(vb, want, req, ctx, handle, out);
      return true;
    }
    return false;
  }

  private async borrow(plan: FamilyPlan, want: number, req: AutoAssignRequest, ctx: RequestContext, handle: HandleState, out: AssignedAddress[]): Promise<boolean> {
    const { blocks } = await this.store.listBlocks(plan.family);
    const candidates = blocks
      .filter((vb) => plan.pools.some((p) => cidrContains(p.cidr, vb.value.cidr)) && affineNode(vb.value) !== req.node)
      .filter((vb) => assignableCount(this.viewOf(ctx, vb.value), ctx.reserved) > 0)
      // A per-node pseudo-random order, so borrowing nodes spread over blocks instead of queueing on one.
      .map((vb) => ({ vb, rank: fnv1a32(`${req.node}|${formatCIDR(vb.value.cidr)}`) }))
      .sort((a, b) => a.rank - b.rank);
    const first = candidates[0];
    if (!first) return false;
    this.cache.keepBlock(first.vb);
    await this.writeAssignment(first.vb, want, req, ctx, handle, out);
    return true;
  }

  /** One transaction: the block with up to `want` new allocations, and the handle's count. */
  private async writeAssignment(vb: Versioned<AllocationBlock>, want: number, req: AutoAssignRequest, ctx: RequestContext, handle: HandleState, out: AssignedAddress[]): Promise<void> {
    const { block, ordinals } = assignFromBlock(this.viewOf(ctx, vb.value), want, req.handleId, attrsFor(req.attrs), ctx.reserved);
    if (ordinals.length === 0) throw new RetryableConflict(`block ${formatCIDR(vb.value.cidr)} has no assignable address`);
    const res = await this.commit(vb, block, req.handleId, handle, ordinals.length);
    for (const ord of ordinals) out.push(assigned(block, ord));
    this.log.debug('assigned', { handle: req.handleId, node: req.node, block: formatCIDR(block.cidr), count: ordinals.length, revision: res.revision });
  }

  /** Block CAS plus handle create-or-CAS in one transaction; updates the caches on success. */
  private async commit(vb: Versioned<AllocationBlock>, block: AllocationBlock, handleId: string, handle: HandleState, delta: number): Promise<TxnResult> {
    if (handle.seen === 'unknown') handle.seen = (await this.store.getHandle(handleId)) ?? 'absent';
    const current = handle.seen === 'absent' ? undefined : handle.seen;
    const base: IpamHandle = current?.value ?? { handleId, block: {}, deleted: false };
    const record = adjustHandle({ ...base, deleted: false }, formatCIDR(block.cidr), delta);
    const key = handleKey(handleId);
    const ops: TxnOp[] = [
      { op: 'update', key: vb.key, value: encodeBlock(block), revision: vb.revision },
      current ? { op: 'update', key, value: encodeHandle(record), revision: current.revision } : { op: 'create', key, value: encodeHandle(record) },
    ];
    const res = await this.ds.txn(ops);
    this.cache.wrote(block, ops[0]!, res, 0);
    handle.seen = { key, value: record, revision: res.results[1]!.revision };
    return res;
  }

  private onConflict(node: string, family: IPFamily, handle: HandleState): void {
    // We cannot tell which key moved; forget everything this request leaned on.
    this.cache.forgetFamily(node, family);
    handle.seen = 'unknown';
  }

  // ---------------------------------------------------------------- fixed addresses

  async assignIP(req: AssignIPRequest): Promise<AssignedAddress> {
    validateCommon(req.handleId, req.node);
    const addr = parseAddress(req.ip);
    return this.nodeLock.run(req.node, async () => {
      const ctx = await this.cache.requestContext();
      const host = enclosingCIDR(addr, addr.family === 4 ? 32 : 128);
      const losers = overlapLosers(ctx.pools);
      const pool = poolContaining(ctx.pools.filter((p) => !p.disabled && !losers.has(p)), host);
      if (!pool) {
        const names = ctx.pools.filter((p) => !p.disabled && p.cidr.family === addr.family).map((p) => `${p.name} (${formatCIDR(p.cidr)})`);
        throw new IpamError('NotInPool', `${req.ip} is not in any enabled IP pool (enabled IPv${addr.family} pools: ${names.join(', ') || 'none'})`);
      }
      const use = req.intendedUse ?? 'Workload';
      if (!pool.allowedUses.includes(use)) {
        throw new IpamError('InvalidRequest', `${req.ip} is in pool ${pool.name}, whose allowedUses (${pool.allowedUses.join(', ')}) do not include ${use}`);
      }
      if (ctx.reservations.isReserved(addr)) throw new IpamError('Reserved', `${req.ip} is reserved by an IPReservation and cannot be assigned`);
      const handle: HandleState = { seen: 'absent' };
      return withRetries(
        `assigning ${req.ip} to ${req.handleId}`,
        this.retry,
        async () => {
          // The block holding the address may be of another size than the pool's blockSize today.
          const located = await this.locateBlock(addr);
          const cidr = located ?? enclosingCIDR(addr, pool.blockSize);
          const vb = located && (await this.cache.block(located));
          if (!vb) {
            const { blocks } = await this.store.listBlocks(addr.family);
            if (new BlockIndex(blocks.map((b) => b.value.cidr)).overlaps(cidr)) {
              throw new IpamError('InvalidRequest', `${req.ip} lies in no block, but blocks of another size overlap its /${pool.blockSize} block ${formatCIDR(cidr)} (pool ${pool.name}'s blockSize changed?); cannot claim it`);
            }
            await this.claimer.claim(cidr, req.node);
            this.cache.dropAffinities(req.node, cidr.family);
            throw new RetryableConflict(`claimed block ${formatCIDR(cidr)}; assigning next`);
          }
          const owner = affineNode(vb.value);
          if (ctx.config.strictAffinity && owner !== req.node) {
            throw new IpamError('StrictAffinity', `${req.ip} is in block ${formatCIDR(cidr)}, affine to ${owner ? `node ${owner}` : 'no node'}; strict affinity forbids node ${req.node} from using it`);
          }
          const r = assignOrdinal(this.viewOf(ctx, vb.value), ordinalOf(vb.value, addr), req.handleId, attrsFor(req.attrs));
          if (!r.ok) {
            // Confirm against the datastore before blaming another handle: our copy may be stale.
            const fresh = await this.store.getBlock(cidr);
            if (fresh && fresh.revision !== vb.revision) {
              this.cache.keepBlock(fresh);
              throw new RetryableConflict('block changed');
            }
            if (r.owner?.releasedAt !== undefined) {
              const until = new Date(reusableAt(r.owner.releasedAt, cooldownSeconds(ctx.config))).toISOString();
              throw new IpamError('AddressInUse', `${req.ip} was released at ${r.owner.releasedAt} and is cooling down until ${until} (ipCooldownSeconds ${cooldownSeconds(ctx.config)})`);
            }
            const who = r.owner?.handleId ?? '(no handle)';
            const attrs = r.owner && Object.keys(r.owner.secondary).length > 0 ? ` ${JSON.stringify(r.owner.secondary)}` : '';
            throw new IpamError('AddressInUse', `${req.ip} is already assigned to handle ${who}${attrs}`);
          }
          await this.commit(vb, r.block, req.handleId, handle, 1);
          return assigned(r.block, ordinalOf(r.block, addr));
        },
        () => this.onConflict(req.node, addr.family, handle),
      );
    });
  }

  // ---------------------------------------------------------------- tunnel addresses

  /**
   * The node's tunnel address of this kind and family: the existing one if its handle has one,
   * else a new one from a pool allowing Tunnel use (and, for IPIP/VXLAN, with that mode on).
   */
  async assignTunnelAddress(node: string, family: IPFamily, type: TunnelType): Promise<AssignedAddress> {
    let spec;
    try {
      spec = tunnelSpec(node, family, type);
    } catch (e) {
      throw new IpamError('InvalidRequest', `tunnel address for node ${node}: ${(e as Error).message}`);
    }
    const existing = await this.releaser.assignedToHandle(spec.handleId);
    const mineOfFamily = existing.find((a) => a.family === family);
    if (mineOfFamily) return mineOfFamily;
    const res = await this.autoAssignWith(
      { handleId: spec.handleId, node, num4: family === 4 ? 1 : 0, num6: family === 6 ? 1 : 0, attrs: { node, type: spec.attrType }, intendedUse: 'Tunnel' },
      (p) => poolServesTunnel(p, type),
    );
    return (family === 4 ? res.ipv4 : res.ipv6)[0]!;
  }

  async releaseTunnelAddress(node: string, family: IPFamily, type: TunnelType): Promise<string[]> {
    return this.releaseByHandle(tunnelSpec(node, family, type).handleId);
  }

  // ---------------------------------------------------------------- release (release.ts)

  releaseIPs(reqs: readonly ReleaseRequest[]): Promise<string[]> {
    return this.releaser.releaseIPs(reqs);
  }

  releaseByHandle(handleId: string): Promise<string[]> {
    return this.releaser.releaseByHandle(handleId);
  }

  async addressesByHandle(handleId: string): Promise<string[]> {
    return (await this.releaser.assignedToHandle(handleId)).map((a) => a.ip);
  }

  /** The block holding an address: from its pool's block size, else by searching all blocks. */
  async locateBlock(addr: IPAddr): Promise<CIDR | undefined> {
    const ctx = await this.cache.requestContext();
    const host = enclosingCIDR(addr, addr.family === 4 ? 32 : 128);
    const pool = poolContaining(ctx.pools, host);
    if (pool) {
      const cidr = enclosingCIDR(addr, pool.blockSize);
      if (await this.cache.block(cidr)) return cidr;
    }
    // Pool deleted, or its blockSize changed after the block was made (blocks keep their size).
    const { blocks } = await this.store.listBlocks(addr.family);
    return blocks.find((vb) => cidrContains(vb.value.cidr, host))?.value.cidr;
  }
}

function attrsFor(attrs: AllocationAttrs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (typeof v === 'string') out[k] = v;
  return out;
}

function validateCommon(handleId: string, node: string): void {
  if (!isValidHandleId(handleId)) throw new IpamError('InvalidRequest', `handle id "${handleId}" is not valid (non-empty, at most 512 characters, no "/")`);
  if (!isValidNodeName(node)) throw new IpamError('InvalidRequest', `node name "${node}" is not valid (non-empty, no "/")`);
}
