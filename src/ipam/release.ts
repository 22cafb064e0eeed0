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
// release is exactly as above. The configuration is read through `cooldownSeconds` (by default
// from the datastore, reused for a second), so a change reaches releases within that time.

import type { Datastore, TxnOp } from '../datastore/datastore.js';
import { MAX_TXN_OPS } from '../datastore/datastore.js';
import { type Ticket, GroupCommit } from './group-commit.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { type CIDR, type IPAddr, enclosingCIDR, formatCIDR, formatIP, parseIP } from '../ip/index.js';
import { type AssignedAddress, IpamError, type ReleaseRequest } from './api.js';
import type { BlockCache } from './block-cache.js';
import { type AllocationBlock, addressAt, affineNode, collectCooled, encodeBlock, isEmpty, ordinalOf, ordinalsOfHandle, releaseFromBlock, sequenceOf } from './core/block.js';
import { isValidHandleId } from './core/keys.js';
import { type IpamHandle, adjustHandle, cooldownSeconds, encodeHandle } from './core/records.js';
import { blockKey } from './core/keys.js';
import { type RetryPolicy, withRetries } from './retry.js';
import type { IpamStore, Versioned } from './store.js';

/** Addresses released per transaction, leaving room for their handles' records. */
const RELEASES_PER_TXN = 60;
/** Release requests written in one transaction. */
const RELEASE_TICKETS_PER_BATCH = 60;
/** Lock key for blocks affine to no node (not a node name: those have no "/"). */
const UNAFFINE = '/unaffine';
/** How long the default cooldown reader reuses the configuration it read (ms). */
const CONFIG_REUSE_MS = 1000;

export interface ReleaserOptions {
  /** The configured ipCooldownSeconds; default: read from the datastore, reused for a second. */
  readonly cooldownSeconds?: () => Promise<number>;
  readonly now?: () => Date;
}

interface ReleaseTicket extends Ticket {
  readonly cidr: CIDR;
  /** By address: these items, each with its guards. */
  readonly items?: { addr: IPAddr; req: ReleaseRequest }[];
  /** By handle: every ordinal of this handle in the block, and the handle record deleted. */
  readonly handleId?: string;
  handle?: Versioned<IpamHandle> | undefined;
  handleStale?: boolean;
  result?: string[];
  /** Settled without a result: the caller releases on its own (the handle spans several blocks). */
  slow?: boolean;
}

export class Releaser {
  private readonly batches: GroupCommit<ReleaseTicket>;
  private readonly cooldownSeconds: () => Promise<number>;
  private readonly now: () => Date;
  private configRead: { seconds: number; at: number } | undefined;
  /** Transactions written by release batches (tests and logs). */
  transactions = 0;

  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly cache: BlockCache,
    private readonly retry: RetryPolicy,
    private readonly locate: (addr: IPAddr) => Promise<CIDR | undefined>,
    lock: KeyedMutex,
    opts: ReleaserOptions = {},
  ) {
    this.batches = new GroupCommit(lock, RELEASE_TICKETS_PER_BATCH, (key, batch) => this.settle(key, batch));
    this.cooldownSeconds = opts.cooldownSeconds ?? (() => this.storedCooldown());
    this.now = opts.now ?? (() => new Date());
  }

  private async storedCooldown(): Promise<number> {
    const hit = this.configRead;
    if (hit && Date.now() - hit.at < CONFIG_REUSE_MS) return hit.seconds;
    const seconds = cooldownSeconds(await this.store.config());
    this.configRead = { seconds, at: Date.now() };
    return seconds;
  }

  /** The block as this write should start from (cooled ordinals returned), and how to release. */
  private async releasePlan(): Promise<{ prepare: (b: AllocationBlock) => AllocationBlock; releasedAt: Date | undefined }> {
    const cooldown = await this.cooldownSeconds();
    const now = this.now();
    return { prepare: (b) => collectCooled(b, now, cooldown).block, releasedAt: cooldown > 0 ? now : undefined };
  }

  /** Queue a release of block `cidr` under the mutex of the node the block (as last seen) belongs to. */
  private async submit(ticket: ReleaseTicket, slow: () => Promise<string[]>): Promise<string[]> {
    const vb = await this.cache.get(ticket.cidr);
    const key = (vb && affineNode(vb.value)) ?? UNAFFINE;
    return this.batches.submit(key, ticket, async () => {
      if (ticket.error !== undefined) throw ticket.error;
      return ticket.result ?? slow();
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
      for (let i = 0; i < items.length; i += RELEASES_PER_TXN) {
        const ticket: ReleaseTicket = { settled: false, cidr, items: items.slice(i, i + RELEASES_PER_TXN) };
        chunks.push(this.submit(ticket, async () => []));
      }
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
    return this.submit({ settled: false, cidr, handleId, handle: h }, () => this.releaseHandleAlone(handleId));
  }

  /** Settle a batch of release tickets (GroupCommit's contract): one transaction for all of them. */
  private async settle(key: string, batch: ReleaseTicket[]): Promise<void> {
    try {
      await withRetries(
        `releasing addresses of ${batch.length} request(s) in blocks of ${key === UNAFFINE ? 'no node' : `node ${key}`}`,
        this.retry,
        () => this.attempt(batch),
        () => {
          for (const t of batch) {
            this.cache.forget(t.cidr);
            if (t.handleId !== undefined) t.handleStale = true;
          }
        },
      );
    } catch (err) {
      for (const t of batch) if (!t.settled) Object.assign(t, { settled: true, error: err });
    }
  }

  private async attempt(batch: ReleaseTicket[]): Promise<void> {
    const open = batch.filter((t) => !t.settled);
    for (const t of open) t.deferred = false;
    await Promise.all(
      open
        .filter((t) => t.handleStale)
        .map(async (t) => {
          t.handle = await this.store.getHandle(t.handleId!);
          t.handleStale = false;
          const blocks = t.handle ? Object.keys(t.handle.value.block) : [];
          if (!t.handle) Object.assign(t, { settled: true, result: [] });
          else if (blocks.length !== 1 || blocks[0] !== formatCIDR(t.cidr)) Object.assign(t, { settled: true, slow: true });
        }),
    );
    // Each request in turn, on the batch's working copies of the blocks.
    const plan = await this.releasePlan();
    const working = new Map<string, { vb: Versioned<AllocationBlock>; block: AllocationBlock }>();
    const deletedHandles = new Map<string, Versioned<IpamHandle>>();
    const deltas = new Map<string, Map<string, number>>(); // handle → block cidr → addresses released
    const planned: { t: ReleaseTicket; ips: string[] }[] = [];
    for (const t of open) {
      if (t.settled) continue;
      const k = blockKey(t.cidr);
      const vb = working.get(k)?.vb ?? (await this.cache.get(t.cidr));
      const cur = working.get(k)?.block ?? (vb && plan.prepare(vb.value));
      let released: { ordinal: number; handleId: string | undefined }[] = [];
      let next = cur;
      if (vb && cur) {
        const reqs = t.items
          ? t.items.map(({ addr, req }) => ({
              ordinal: ordinalOf(cur, addr),
              ...(req.sequenceNumber === undefined ? {} : { sequenceNumber: req.sequenceNumber }),
              ...(req.handleId === undefined ? {} : { handleId: req.handleId }),
            }))
          : ordinalsOfHandle(cur, t.handleId!).map((ordinal) => ({ ordinal, handleId: t.handleId! }));
        const rel = releaseFromBlock(cur, reqs, plan.releasedAt);
        released = rel.released;
        next = rel.block;
      }
      // A handle this batch deletes outright must not also be adjusted (and the reverse).
      const touched = new Set(released.flatMap((r) => (r.handleId === undefined ? [] : [r.handleId])));
      const clash = t.handleId !== undefined ? deltas.has(t.handleId) || deletedHandles.has(t.handleId) : [...touched].some((h) => deletedHandles.has(h));
      const handlesAfter = new Set([...deltas.keys(), ...deletedHandles.keys(), ...touched]).size;
      if (planned.length > 0 && (clash || working.size + 1 + handlesAfter > MAX_TXN_OPS)) {
        t.deferred = true;
        continue;
      }
      if (vb && next && released.length > 0) working.set(k, { vb, block: next });
      if (t.handleId !== undefined) deletedHandles.set(t.handleId, t.handle!);
      else {
        for (const r of released) {
          if (r.handleId === undefined) continue;
          const m = deltas.get(r.handleId) ?? new Map<string, number>();
          m.set(formatCIDR(t.cidr), (m.get(formatCIDR(t.cidr)) ?? 0) + 1);
          deltas.set(r.handleId, m);
        }
      }
      planned.push({ t, ips: next ? released.map((r) => formatIP(addressAt(next, r.ordinal))) : [] });
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
      blocksWritten.forEach((block, i) => this.cache.remember(block, ops[i]!, res, i));
    }
    for (const { t, ips } of planned) Object.assign(t, { settled: true, result: ips });
  }

  /** Release by handle in one transaction of its own: every block the handle names, and the handle. */
  private async releaseHandleAlone(handleId: string): Promise<string[]> {
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
          const vb = cidr && (await this.cache.get(cidr));
          if (!vb) continue;
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
        for (const w of writes) this.cache.remember(w.block, ops[w.index]!, res, w.index);
        return released;
      },
      () => this.cache.clear(),
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
