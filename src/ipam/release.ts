// Giving addresses back (calico-internals.md §4.3): by address — optionally guarded by the
// handle and the sequence number the caller was given, so a stale release can never free an
// address that was released and handed out again — or by handle. Each block's release is one
// transaction: the block (freed ordinals appended to its FIFO; deleted when it is left empty and
// has no owner) together with the handle records' counts (deleted at zero).

import type { Datastore, TxnOp } from '../datastore/datastore.js';
import { MAX_TXN_OPS } from '../datastore/datastore.js';
import { type CIDR, type IPAddr, enclosingCIDR, formatCIDR, formatIP, parseIP } from '../ip/index.js';
import { type AssignedAddress, IpamError, type ReleaseRequest } from './api.js';
import type { BlockCache } from './block-cache.js';
import { type AllocationBlock, addressAt, encodeBlock, isEmpty, ordinalOf, ordinalsOfHandle, releaseFromBlock, sequenceOf } from './core/block.js';
import { isValidHandleId } from './core/keys.js';
import { adjustHandle, encodeHandle } from './core/records.js';
import { type RetryPolicy, withRetries } from './retry.js';
import type { IpamStore, Versioned } from './store.js';

/** Addresses released per transaction, leaving room for their handles' records. */
const RELEASES_PER_TXN = 60;

export class Releaser {
  constructor(
    private readonly ds: Datastore,
    private readonly store: IpamStore,
    private readonly cache: BlockCache,
    private readonly retry: RetryPolicy,
    private readonly locate: (addr: IPAddr) => Promise<CIDR | undefined>,
  ) {}

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
    const released: string[] = [];
    for (const { cidr, items } of byBlock.values()) {
      for (let i = 0; i < items.length; i += RELEASES_PER_TXN) released.push(...(await this.releaseInBlock(cidr, items.slice(i, i + RELEASES_PER_TXN))));
    }
    return released;
  }

  private releaseInBlock(cidr: CIDR, items: { addr: IPAddr; req: ReleaseRequest }[]): Promise<string[]> {
    return withRetries(
      `releasing addresses in block ${formatCIDR(cidr)}`,
      this.retry,
      async () => {
        const vb = await this.cache.get(cidr);
        if (!vb) return [];
        const rel = releaseFromBlock(
          vb.value,
          items.map(({ addr, req }) => ({
            ordinal: ordinalOf(vb.value, addr),
            ...(req.sequenceNumber === undefined ? {} : { sequenceNumber: req.sequenceNumber }),
            ...(req.handleId === undefined ? {} : { handleId: req.handleId }),
          })),
        );
        if (rel.released.length === 0) return [];
        const counts = new Map<string, number>();
        for (const r of rel.released) if (r.handleId !== undefined) counts.set(r.handleId, (counts.get(r.handleId) ?? 0) + 1);
        const ops: TxnOp[] = [blockWriteOp(vb, rel.block)];
        for (const [handleId, n] of counts) {
          const h = await this.store.getHandle(handleId);
          if (!h) continue; // no record to keep in step (written by an older, non-atomic writer)
          const next = adjustHandle(h.value, formatCIDR(cidr), -n);
          ops.push(Object.keys(next.block).length === 0 ? { op: 'delete', key: h.key, revision: h.revision } : { op: 'update', key: h.key, value: encodeHandle(next), revision: h.revision });
        }
        const res = await this.ds.txn(ops);
        this.cache.remember(rel.block, ops[0]!, res, 0);
        return rel.released.map((r) => formatIP(addressAt(rel.block, r.ordinal)));
      },
      () => this.cache.forget(cidr),
    );
  }

  async releaseByHandle(handleId: string): Promise<string[]> {
    if (!isValidHandleId(handleId)) throw new IpamError('InvalidRequest', `handle id "${handleId}" is not valid (non-empty, no "/")`);
    return withRetries(
      `releasing handle ${handleId}`,
      this.retry,
      async () => {
        const h = await this.store.getHandle(handleId);
        if (!h) return [];
        const ops: TxnOp[] = [];
        const released: string[] = [];
        const writes: { block: AllocationBlock; index: number }[] = [];
        for (const text of Object.keys(h.value.block)) {
          const cidr = tryBlockCidr(text);
          const vb = cidr && (await this.cache.get(cidr));
          if (!vb) continue;
          const rel = releaseFromBlock(vb.value, ordinalsOfHandle(vb.value, handleId).map((ordinal) => ({ ordinal, handleId })));
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
  return { ip: formatIP(a), blockCidr: `${formatIP(a)}/${block.cidr.prefix}`, family: a.family, sequenceNumber: sequenceOf(block, ord) };
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
