// IPAM garbage collector: the controller that acts on core/gc-plan.ts. One pass = snapshot →
// plan → re-validate each action against fresh state → perform it with compare-and-swap.
//
// Never frees a live allocation: an address is released only if (1) the plan found it leaked for
// the grace period (or its node gone), (2) a fresh read of WorkloadEndpoints and Nodes made just
// before the release still finds it leaked, and (3) the release carries the address's handle and
// sequence number, so if it was released and handed out again in the meantime the block refuses
// the release. Every other write (blocks, affinities, handles) is a CAS on the revision the plan
// saw. First-seen times live in this object, so a long-running loop measures the grace period
// across passes; a one-off pass (tabbyctl ipam gc) also trusts allocations' `timestamp` attribute.
// Each pass also returns cooled addresses (ipCooldownSeconds passed) to their blocks' free lists,
// judged on the block as read just before the CAS write, with the cooldown of that snapshot.

import type { Datastore, TxnOp } from '../datastore/index.js';
import { isDatastoreError } from '../datastore/index.js';
import { formatCIDR } from '../ip/index.js';
import {
  BlockAllocator,
  DEFAULT_LEAK_GRACE_PERIOD_MS,
  type GcPlan,
  IpamStore,
  affineNode,
  classify,
  collectCooled,
  endpointsByIp,
  isEmpty,
  planGc,
  withAffinity,
} from '../ipam/index.js';
import { affinityKey, encodeAffinity, encodeBlock, encodeHandle, handleKey } from '../model/index.js';
import { type Logger, nullLogger } from '../util/log.js';

export interface IpamGcOptions {
  /** How long an address must look leaked before it is freed (default 15 minutes). */
  readonly leakGracePeriodMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export interface GcPassResult {
  readonly revision: number;
  /** Released addresses whose cooldown passed, returned to their blocks' free lists. */
  readonly cooledAddresses: number;
  readonly releasedAddresses: string[];
  readonly releasedHandles: number;
  readonly releasedBlocks: string[];
  readonly affinitiesFixed: number;
  readonly handlesFixed: number;
  /** Leaked addresses still inside the grace period. */
  readonly candidates: number;
  /** Planned actions dropped because fresh state no longer justified them. */
  readonly skipped: number;
}

const CONFLICT = (err: unknown) => isDatastoreError(err, 'Conflict') || isDatastoreError(err, 'NotFound') || isDatastoreError(err, 'AlreadyExists');

export class IpamGarbageCollector {
  private readonly store: IpamStore;
  private readonly allocator: BlockAllocator;
  private readonly grace: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private firstSeen = new Map<string, number>();

  constructor(private readonly ds: Datastore, opts: IpamGcOptions = {}) {
    this.store = new IpamStore(ds);
    this.allocator = new BlockAllocator(ds);
    this.grace = opts.leakGracePeriodMs ?? DEFAULT_LEAK_GRACE_PERIOD_MS;
    this.log = opts.logger ?? nullLogger;
    this.now = opts.now ?? Date.now;
  }

  get leakGracePeriodMs(): number {
    return this.grace;
  }

  async runOnce(): Promise<GcPassResult> {
    const snap = await this.store.snapshot();
    const plan = planGc(snap, { now: this.now(), leakGracePeriodMs: this.grace, firstSeen: this.firstSeen });
    this.firstSeen = plan.firstSeen;
    let skipped = 0;
    const skip = (what: string, why: string) => {
      skipped++;
      this.log.info('gc: skipped', { what, why });
    };

    const released = await this.releaseLeaks(plan, skip);
    let cooledAddresses = 0;
    const cooldown = snap.config.ipCooldownSeconds ?? 0;
    for (const c of plan.cooledBlocks) {
      const current = await this.store.getBlock(c.block);
      if (!current) continue; // deleted since: nothing left to return
      const { block, collected } = collectCooled(current.value, new Date(this.now()), cooldown);
      if (collected.length === 0) continue; // a write in between already returned them
      if (await this.tryTxn([{ op: 'update', key: current.key, value: encodeBlock(block), revision: current.revision }], `block ${formatCIDR(c.block)}`, skip)) {
        cooledAddresses += collected.length;
        this.log.info('gc: returned cooled addresses', { block: formatCIDR(c.block), count: collected.length });
      }
    }
    const releasedBlocks: string[] = [];
    for (const b of plan.releaseBlocks) {
      // Judge by the block as it is now (releases above may have changed it), not as planned.
      const current = await this.store.getBlock(b.block);
      if (!current || (current.value.affinity === null ? '' : affineNode(current.value)) !== b.node) {
        skip(`block ${formatCIDR(b.block)}`, 'its owner changed since the snapshot');
        continue;
      }
      const empty = isEmpty(current.value);
      if (!empty && !b.nodeGone) {
        skip(`block ${formatCIDR(b.block)}`, 'no longer empty');
        continue;
      }
      const ops: TxnOp[] = [
        empty
          ? { op: 'delete', key: b.blockKey, revision: current.revision }
          : { op: 'update', key: b.blockKey, value: encodeBlock(withAffinity(current.value, null, new Date(this.now()))), revision: current.revision },
        ...(b.affinity ? [{ op: 'delete' as const, key: b.affinity.key, revision: b.affinity.revision }] : []),
      ];
      if (await this.tryTxn(ops, `block ${formatCIDR(b.block)}`, skip)) {
        releasedBlocks.push(formatCIDR(b.block));
        this.log.info('gc: released block', { block: formatCIDR(b.block), node: b.node, reason: b.reason, deleted: empty });
      }
    }

    let affinitiesFixed = 0;
    for (const f of plan.affinityFixes) {
      const op: TxnOp =
        f.action === 'delete'
          ? { op: 'delete', key: f.key, revision: f.revision }
          : { op: 'update', key: f.key, value: encodeAffinity({ state: 'confirmed', deleted: false }), revision: f.revision };
      if (await this.tryTxn([op], f.key, skip)) {
        affinitiesFixed++;
        this.log.info('gc: fixed affinity', { key: f.key, action: f.action, reason: f.reason });
      }
    }
    for (const m of plan.missingAffinities) {
      if (await this.tryTxn([{ op: 'create', key: affinityKey(m.node, m.block), value: encodeAffinity({ state: 'confirmed', deleted: false }) }], `affinity ${m.node} ${formatCIDR(m.block)}`, skip)) affinitiesFixed++;
    }

    let handlesFixed = 0;
    for (const h of plan.handleFixes) {
      const key = h.key || handleKey(h.handleId);
      const value = encodeHandle({ handleId: h.handleId, block: h.counts ?? {}, deleted: false });
      const op: TxnOp =
        h.revision === undefined
          ? { op: 'create', key, value }
          : h.counts === null
            ? { op: 'delete', key, revision: h.revision }
            : { op: 'update', key, value, revision: h.revision };
      if (await this.tryTxn([op], `handle ${h.handleId}`, skip)) {
        handlesFixed++;
        this.log.info('gc: repaired handle', { handle: h.handleId, reason: h.reason });
      }
    }

    return {
      revision: snap.revision,
      cooledAddresses,
      releasedAddresses: released.addresses,
      releasedHandles: released.handles,
      releasedBlocks,
      affinitiesFixed,
      handlesFixed,
      candidates: plan.candidates,
      skipped,
    };
  }

  /** Re-validate against fresh endpoints and nodes, then release with handle + sequence guards. */
  private async releaseLeaks(plan: GcPlan, skip: (what: string, why: string) => void): Promise<{ addresses: string[]; handles: number }> {
    if (plan.releaseHandles.length === 0) return { addresses: [], handles: 0 };
    const [weps, nodes] = await Promise.all([this.store.listWorkloadEndpoints(), this.store.listNodes()]);
    const byIp = endpointsByIp(weps);
    const nodeNames = new Set(nodes.map((n) => n.name));
    const addresses: string[] = [];
    let handles = 0;
    for (const h of plan.releaseHandles) {
      const still = h.addresses.every((a) => {
        const use = classify(a.attrs, a.ip, byIp, (n) => nodeNames.has(n));
        return use.state === 'leaked' && (!a.nodeGone || use.nodeGone);
      });
      if (!still) {
        skip(`handle ${h.handleId ?? '(none)'}`, 'an address is in use again');
        continue;
      }
      const got = await this.allocator.releaseIPs(
        h.addresses.map((a) => ({ ip: a.ip, sequenceNumber: a.sequenceNumber, ...(h.handleId === undefined ? {} : { handleId: h.handleId }) })),
      );
      if (got.length < h.addresses.length) skip(`handle ${h.handleId ?? '(none)'}`, `${h.addresses.length - got.length} addresses changed owner before release`);
      if (got.length > 0) {
        handles++;
        addresses.push(...got);
        this.log.info('gc: released leaked addresses', { handle: h.handleId, addresses: got, reason: h.reason });
      }
    }
    return { addresses, handles };
  }

  private async tryTxn(ops: TxnOp[], what: string, skip: (what: string, why: string) => void): Promise<boolean> {
    try {
      await this.ds.txn(ops);
      return true;
    } catch (err) {
      if (!CONFLICT(err)) throw err;
      skip(what, `changed since the snapshot (${(err as Error).message})`);
      return false;
    }
  }
}

export function renderGcResult(r: GcPassResult): string {
  const lines = [
    `Released ${r.releasedAddresses.length} leaked addresses (${r.releasedHandles} handles)${r.releasedAddresses.length ? `: ${r.releasedAddresses.join(', ')}` : ''}`,
    `Released ${r.releasedBlocks.length} blocks${r.releasedBlocks.length ? `: ${r.releasedBlocks.join(', ')}` : ''}`,
    `Repaired ${r.affinitiesFixed} affinities and ${r.handlesFixed} handles`,
    `${r.candidates} leaked addresses are still inside the grace period; ${r.skipped} actions skipped because the datastore changed`,
    ...(r.cooledAddresses > 0 ? [`Returned ${r.cooledAddresses} released addresses to their blocks' free lists (cooldown over)`] : []),
  ];
  return lines.join('\n') + '\n';
}

export interface IpamGcLoopOptions extends IpamGcOptions {
  /** Time between passes (default: half the grace period, between 1 s and 5 minutes). */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Called after every pass (metrics, tests). */
  readonly onPass?: (r: GcPassResult) => void;
}

/** Run GC passes until the signal aborts. A failing pass is logged and retried next interval. */
export async function runIpamGcLoop(ds: Datastore, opts: IpamGcLoopOptions = {}): Promise<void> {
  const gc = new IpamGarbageCollector(ds, opts);
  const log = opts.logger ?? nullLogger;
  const interval = opts.intervalMs ?? Math.min(5 * 60_000, Math.max(1000, gc.leakGracePeriodMs / 2));
  while (!opts.signal?.aborted) {
    try {
      const r = await gc.runOnce();
      opts.onPass?.(r);
      log.info('gc pass', { released: r.releasedAddresses.length, blocks: r.releasedBlocks.length, candidates: r.candidates, skipped: r.skipped });
    } catch (err) {
      log.error('gc pass failed', { error: err as Error });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, interval);
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }
}
