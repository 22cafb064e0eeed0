// Giving addresses back (calico-internals.md §4.3): by address — optionally guarded by the
// handle and the sequence number the caller was given, so a stale release can never free an
// address that was released and handed out again — or by handle. Each block's release is one
// transaction: the block (freed ordinals appended to its FIFO; deleted when it is left empty and
// has no owner) together with the handle records' counts (deleted at zero).
//
// Releases in flight together for blocks of one node are written together (group-commit.ts,
// under the node's mutex that assignments take too): each request is applied to the block as its
// own step, in arrival order, with its own guards — so a stale request in a batch frees nothing,
// whatever the others do — and one transaction writes each block once plus every handle touched.
// A conflict re-reads and works the whole batch out again. A release by handle whose handle spans
// more than one block (dual stack) is written on its own, as before.
//
// Cooldown (core/block.ts): with the IPAM configuration's ipCooldownSeconds > 0, released
// ordinals stay allocated, stamped with the release time, instead of joining the FIFO; and every
// block this writes first has its cooled ordinals returned to the FIFO. With 0 (the default) a
// release is exactly as above. The configuration comes from the allocator's request context
// (cache.ts), so a change reaches releases as soon as it reaches assignments.

import type { Datastore, TxnOp } from '../datastore/index.js';
import { MAX_TXN_OPS } from '../datastore/index.js';
import { type CIDR, type IPAddr, enclosingCIDR, formatCIDR, formatIP, parseIP } from '../ip/index.js';
import { blockKey, isValidHandleId, type AllocationBlock, encodeBlock, type IpamHandle, cooldownSeconds, encodeHandle } from '../model/index.js';
import { type AssignedAddress, IpamError, type ReleaseRequest } from './api.js';
import type { IpamCache } from './cache.js';
import { addressAt, affineNode, collectCooled, isEmpty, ordinalOf, ordinalsOfHandle, releaseFromBlock, sequenceOf } from './core/block.js';
import { adjustHandle } from './core/records.js';
import { GroupCommit, type Outcome } from './group-commit.js';
import type { KeyedMutex } from '../util/index.js';
import { type RetryPolicy, withRetries } from './retry.js';
import type { IpamStore, Versioned } from './store.js';

/** Addresses released per transaction, leaving room for their handles' records. */
const RELEASES_PER_TXN = 60;
/** Release requests written in one transaction. */
const RELEASE_TICKETS_PER_BATCH = 60;
/** Lock key for blocks affine to no node (not a node name: those have no "/"). */
const UNAFFINE = '/unaffine';

/** A release of addresses in one block: by address (each with its guards), or every address of one handle. */
type BlockReleaseRequest =
  | { readonly cidr: CIDR; readonly items: readonly { addr: IPAddr; req: ReleaseRequest }[] }
  | { readonly cidr: CIDR; readonly handleId: string; readonly handle: Versioned<IpamHandle> };

/** The addresses released, or `slow`: the handle now spans several blocks, and its caller releases it on its own. */
type ReleaseResult = readonly string[] | 'slow';

export class Releaser {
  private readonly batches: GroupCommit<BlockReleaseRequest, ReleaseResult>;
  /** Transactions written by release batches (tests and logs). */
  transactions = 0;

  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly cache: IpamCache,
    private readonly retry: RetryPolicy,
    private readonly locate: (addr: IPAddr) => Promise<CIDR | undefined>,
    lock: KeyedMutex,
    private readonly now: () => Date,
  ) {
    this.batches = new GroupCommit(lock, RELEASE_TICKETS_PER_BATCH, (key, batch) => this.settle(key, batch));
  }

  /** The block as this write should start from (cooled ordinals returned), and how to release. */
  private async releasePlan(): Promise<{ prepare: (b: AllocationBlock) => AllocationBlock; releasedAt: Date | undefined }> {
    const cooldown = cooldownSeconds((await this.cache.requestContext()).config);
    const now = this.now();
    return { prepare: (b) => collectCooled(b, now, cooldown).block, releasedAt: cooldown > 0 ? now : undefined };
  }

  /** Queue a release of block `cidr` under the mutex of the node the block (as last seen) belongs to. */
  private async submit(request: BlockReleaseRequest, slow: () => Promise<string[]>): Promise<string[]> {
    const vb = await this.cache.block(request.cidr);
    const key = (vb && affineNode(vb.value)) ?? UNAFFINE;
    return this.batches.submit(key, request, async (o) => {
      if (o.kind === 'failed') throw o.error;
      if (o.kind !== 'done') throw new Error('internal: a deferred release was answered');
      return o.value === 'slow' ? slow() : [...o.value];
    });
  }

  async releaseIPs(reqs: readonly ReleaseRequest[]): Promise<string[]> {
    const byBlock = new Map<string, { cidr: CIDR; items: { addr: IPAddr; req: ReleaseRequest }[] }>();
    for (const req of reqs) {
      const addr = parseAddress(req.ip);
      const cidr = await this.locate(addr);
      if (!cidr) continue;
      const g = byBlock.get(formatCIDR(cidr)) ?? { cidr, items: [] };
      g.items.push({ addr, req });
      byBlock.set(formatCIDR(cidr), g);
    }
    const chunks: Promise<string[]>[] = [];
    for (const { cidr, items } of byBlock.values()) {
      for (let i = 0; i < items.length; i += RELEASES_PER_TXN) chunks.push(this.submit({ cidr, items: items.slice(i, i + RELEASES_PER_TXN) }, async () => []));
    }
    return (await Promise.all(chunks)).flat();
  }

  async releaseByHandle(handleId: string): Promise<string[]> {
    if (!isValidHandleId(handleId)) throw new IpamError('InvalidRequest', `handle id "${handleId}" is not valid (non-empty, no "/")`);
    const h = await this.store.getHandle(handleId);
    if (!h) return [];
    const blocks = Object.keys(h.value.block);
    const cidr = blocks.length === 1 ? tryBlockCidr(blocks[0]!) : undefined;
    if (!cidr) return this.releaseHandleAlone(handleId);
    return this.submit({ cidr, handleId, handle: h }, () => this.releaseHandleAlone(handleId));
  }

  /** Answer a batch of release requests (GroupCommit's contract): one transaction for all of them. */
  private async settle(key: string, batch: readonly BlockReleaseRequest[]): Promise<Outcome<ReleaseResult>[]> {
    const outcomes: (Outcome<ReleaseResult> | undefined)[] = batch.map(() => undefined);
    // A by-handle request's handle record as last read; undefined after a conflict (read it again).
    const handles = batch.map((r): Versioned<IpamHandle> | undefined => ('handle' in r ? r.handle : undefined));
    try {
      await withRetries(
        `releasing addresses of ${batch.length} request(s) in blocks of ${key === UNAFFINE ? 'no node' : `node ${key}`}`,
        this.retry,
        () => this.attempt(batch, outcomes, handles),
        () => {
          batch.forEach((r, i) => {
            this.cache.forgetBlock(r.cidr);
            handles[i] = undefined;
          });
        },
      );
    } catch (error) {
      return outcomes.map((o) => o ?? { kind: 'failed', error });
    }
    return outcomes.map((o) => o ?? { kind: 'defer' });
  }

  private async attempt(batch: readonly BlockReleaseRequest[], outcomes: (Outcome<ReleaseResult> | undefined)[], handles: (Versioned<IpamHandle> | undefined)[]): Promise<void> {
    const open = batch.flatMap((r, i) => (outcomes[i] === undefined ? [i] : []));
    await Promise.all(
      open.map(async (i) => {
        const r = batch[i]!;
        if (!('handleId' in r) || handles[i]) return;
        const h = (handles[i] = await this.store.getHandle(r.handleId));
        const blocks = h ? Object.keys(h.value.block) : [];
        if (!h) outcomes[i] = { kind: 'done', value: [] };
        else if (blocks.length !== 1 || blocks[0] !== formatCIDR(r.cidr)) outcomes[i] = { kind: 'done', value: 'slow' };
      }),
    );
    // Each request in turn, on the batch's working copies of the blocks.
    const plan = await this.releasePlan();
    const working = new Map<string, { vb: Versioned<AllocationBlock>; block: AllocationBlock }>();
    const deletedHandles = new Map<string, Versioned<IpamHandle>>();
    const deltas = new Map<string, Map<string, number>>(); // handle → block cidr → addresses released
    const planned: { i: number; ips: string[] }[] = [];
    const deferred: number[] = [];
    for (const i of open) {
      if (outcomes[i] !== undefined) continue;
      const r = batch[i]!;
      const k = blockKey(r.cidr);
      const vb = working.get(k)?.vb ?? (await this.cache.block(r.cidr));
      const cur = working.get(k)?.block ?? (vb && plan.prepare(vb.value));
      let released: { ordinal: number; handleId: string | undefined }[] = [];
      let next = cur;
      if (vb && cur) {
        const reqs =
          'items' in r
            ? r.items.map(({ addr, req }) => ({
                ordinal: ordinalOf(cur, addr),
                ...(req.sequenceNumber === undefined ? {} : { sequenceNumber: req.sequenceNumber }),
                ...(req.handleId === undefined ? {} : { handleId: req.handleId }),
              }))
            : ordinalsOfHandle(cur, r.handleId).map((ordinal) => ({ ordinal, handleId: r.handleId }));
        const rel = releaseFromBlock(cur, reqs, plan.releasedAt);
        released = rel.released;
        next = rel.block;
      }
      // A handle this batch deletes outright must not also be adjusted (and the reverse).
      const touched = new Set(released.flatMap((x) => (x.handleId === undefined ? [] : [x.handleId])));
      const clash = 'handleId' in r ? deltas.has(r.handleId) || deletedHandles.has(r.handleId) : [...touched].some((h) => deletedHandles.has(h));
      const handlesAfter = new Set([...deltas.keys(), ...deletedHandles.keys(), ...touched]).size;
      if (planned.length > 0 && (clash || working.size + 1 + handlesAfter > MAX_TXN_OPS)) {
        deferred.push(i);
        continue;
      }
      if (vb && next && released.length > 0) working.set(k, { vb, block: next });
      if ('handleId' in r) deletedHandles.set(r.handleId, handles[i]!);
      else {
        for (const x of released) {
          if (x.handleId === undefined) continue;
          const m = deltas.get(x.handleId) ?? new Map<string, number>();
          m.set(formatCIDR(r.cidr), (m.get(formatCIDR(r.cidr)) ?? 0) + 1);
          deltas.set(x.handleId, m);
        }
      }
      planned.push({ i, ips: next ? released.map((x) => formatIP(addressAt(next, x.ordinal))) : [] });
    }
    if (planned.length === 0) return;

    const ops: TxnOp[] = [];
    const blocksWritten: AllocationBlock[] = [];
    for (const { vb, block } of working.values()) {
      ops.push(blockWriteOp(vb, block));
      blocksWritten.push(block);
    }
    for (const h of deletedHandles.values()) ops.push({ op: 'delete', key: h.key, revision: h.revision });
    const records = await Promise.all([...deltas.keys()].map((id) => this.store.getHandle(id)));
    [...deltas.values()].forEach((perBlock, n) => {
      const h = records[n];
      if (!h) return; // no record to keep in step (written by an older, non-atomic writer)
      let next = h.value;
      for (const [cidr, count] of perBlock) next = adjustHandle(next, cidr, -count);
      ops.push(Object.keys(next.block).length === 0 ? { op: 'delete', key: h.key, revision: h.revision } : { op: 'update', key: h.key, value: encodeHandle(next), revision: h.revision });
    });
    if (ops.length > 0) {
      const res = await this.ds.txn(ops);
      this.transactions++;
      blocksWritten.forEach((block, n) => this.cache.wrote(block, ops[n]!, res, n));
    }
    for (const { i, ips } of planned) outcomes[i] = { kind: 'done', value: ips };
    for (const i of deferred) outcomes[i] = { kind: 'defer' };
  }

  /** Release by handle in one transaction of its own: every block the handle names, and the handle. */
  private async releaseHandleAlone(handleId: string): Promise<string[]> {
    const touched: CIDR[] = [];
    return withRetries(
      `releasing handle ${handleId}`,
      this.retry,
      async () => {
        const h = await this.store.getHandle(handleId);
        if (!h) return [];
        const plan = await this.releasePlan();
        const ops: TxnOp[] = [];
        const released: string[] = [];
        const writes: { block: AllocationBlock; index: number }[] = [];
        for (const text of Object.keys(h.value.block)) {
          const cidr = tryBlockCidr(text);
          const vb = cidr && (await this.cache.block(cidr));
          if (!vb) continue;
          touched.push(vb.value.cidr);
          const base = plan.prepare(vb.value);
          const rel = releaseFromBlock(base, ordinalsOfHandle(base, handleId).map((ordinal) => ({ ordinal, handleId })), plan.releasedAt);
          if (rel.released.length === 0) continue;
          writes.push({ block: rel.block, index: ops.length });
          ops.push(blockWriteOp(vb, rel.block));
          released.push(...rel.released.map((r) => formatIP(addressAt(rel.block, r.ordinal))));
        }
        ops.push({ op: 'delete', key: h.key, revision: h.revision });
        if (ops.length > MAX_TXN_OPS) throw new IpamError('InvalidRequest', `handle ${handleId} spans ${ops.length - 1} blocks, more than one transaction can release`);
        const res = await this.ds.txn(ops);
        for (const w of writes) this.cache.wrote(w.block, ops[w.index]!, res, w.index);
        return released;
      },
      () => {
        for (const cidr of touched.splice(0)) this.cache.forgetBlock(cidr);
      },
    );
  }

  /** The addresses a handle holds now (read fresh). */
  async assignedToHandle(handleId: string): Promise<AssignedAddress[]> {
    const h = await this.store.getHandle(handleId);
    if (!h) return [];
    const out: AssignedAddress[] = [];
    for (const text of Object.keys(h.value.block)) {
      const cidr = tryBlockCidr(text);
      const vb = cidr && (await this.store.getBlock(cidr));
      if (vb) for (const ord of ordinalsOfHandle(vb.value, handleId)) out.push(assigned(vb.value, ord));
    }
    return out;
  }
}

function blockWriteOp(vb: Versioned<AllocationBlock>, block: AllocationBlock): TxnOp {
  // An unowned block with nothing left in it is deleted, as Calico does on release.
  return isEmpty(block) && block.affinity === null
    ? { op: 'delete', key: vb.key, revision: vb.revision }
    : { op: 'update', key: vb.key, value: encodeBlock(block), revision: vb.revision };
}

export function assigned(block: AllocationBlock, ord: number): AssignedAddress {
  const a = addressAt(block, ord);
  const ip = formatIP(a);
  return { ip, blockCidr: `${ip}/${block.cidr.prefix}`, family: a.family, sequenceNumber: sequenceOf(block, ord) };
}

export function parseAddress(text: string): IPAddr {
  try {
    return parseIP(text);
  } catch (e) {
    throw new IpamError('InvalidRequest', (e as Error).message, { cause: e });
  }
}

/** A handle record's block key ("10.0.0.0/26") as a CIDR, or undefined when malformed. */
function tryBlockCidr(text: string): CIDR | undefined {
  try {
    return enclosingCIDR(parseIP(text.split('/')[0]!), Number(text.split('/')[1]));
  } catch {
    return undefined;
  }
}
