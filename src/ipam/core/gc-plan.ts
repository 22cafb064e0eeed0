// IPAM garbage collection, the decisions (calico-internals.md §4.5). Pure: a snapshot, what the
// previous passes saw (first-seen times) and the clock in; the actions to take out. The
// controller (controllers/ipam-gc.ts) re-validates each action against fresh state and performs
// it with compare-and-swap, so a plan built from a stale snapshot can never free a live address.
//
// Rules:
// - A leaked address (see usage.ts) becomes a confirmed leak once it has been leaked for the
//   grace period — measured from when GC first saw it leaked, or from the allocation's own
//   `timestamp` attribute when that is earlier (an allocation older than the grace period is no
//   CNI ADD in flight) — or at once when its node is gone.
// - Release is all-or-none per handle: a handle is released only when every one of its
//   addresses is a confirmed leak.
// - A node's empty block is released once seen empty for the grace period, but never the node's
//   last block of a family. Blocks of deleted nodes lose their affinity at once (deleted if empty).
// - Affinities that point nowhere (no block, or a block owned elsewhere) are removed; a pending
//   affinity with no block only after the grace period, since its node may be mid-claim.
// - Handle records are repaired to the blocks' counts; handles with no addresses are deleted after
//   the grace period.
// - Released addresses whose cooldown (ipCooldownSeconds) has passed are returned to their
//   block's free list, so an idle block's cooled addresses become assignable without a release.

import { type CIDR, formatCIDR } from '../../ip/index.js';
import { affineNode, collectCooled, isEmpty } from './block.js';
import type { IpamSnapshot, StoredAffinity, Versioned } from './snapshot.js';
import { type AllocationView, allAllocations, handleCounts } from './usage.js';
import { type AllocationBlock } from '../../model/index.js';

export const DEFAULT_LEAK_GRACE_PERIOD_MS = 15 * 60_000;

export interface GcReleaseHandle {
  readonly handleId: string | undefined;
  readonly addresses: { ip: string; sequenceNumber: number; block: string; attrs: Readonly<Record<string, string>>; nodeGone: boolean }[];
  readonly reason: string;
}

export interface GcBlockRelease {
  readonly block: CIDR;
  readonly blockKey: string;
  readonly blockRevision: number;
  readonly node: string;
  /** The node's affinity record, when there is one. */
  readonly affinity?: { key: string; revision: number };
  /** Empty blocks are deleted; non-empty blocks of deleted nodes only lose their owner. */
  readonly empty: boolean;
  /** The owner is gone: release whatever the block holds now (not only if still empty). */
  readonly nodeGone: boolean;
  readonly reason: string;
}

export interface GcAffinityFix {
  readonly key: string;
  readonly revision: number;
  readonly action: 'delete' | 'confirm';
  readonly reason: string;
}

export interface GcHandleFix {
  readonly handleId: string;
  readonly key: string;
  /** undefined: the handle record is missing and must be created. */
  readonly revision: number | undefined;
  /** null: delete the record. */
  readonly counts: Record<string, number> | null;
  readonly reason: string;
}

export interface GcMissingAffinity {
  readonly node: string;
  readonly block: CIDR;
}

export interface GcCooledBlock {
  readonly block: CIDR;
  /** Addresses whose cooldown has passed, as the snapshot saw them. */
  readonly count: number;
}

export interface GcPlan {
  /** Blocks holding released addresses that have cooled down (returned to the free list). */
  readonly cooledBlocks: GcCooledBlock[];
  readonly releaseHandles: GcReleaseHandle[];
  readonly releaseBlocks: GcBlockRelease[];
  readonly affinityFixes: GcAffinityFix[];
  readonly missingAffinities: GcMissingAffinity[];
  readonly handleFixes: GcHandleFix[];
  /** Leaked addresses still inside their grace period. */
  readonly candidates: number;
  /** First-seen times to carry to the next pass (only for things still suspect). */
  readonly firstSeen: Map<string, number>;
}

export interface GcPlanOptions {
  readonly now: number;
  readonly leakGracePeriodMs: number;
  readonly firstSeen: ReadonlyMap<string, number>;
}

export function planGc(snap: IpamSnapshot, opts: GcPlanOptions): GcPlan {
  const { now, leakGracePeriodMs: grace } = opts;
  const firstSeen = new Map<string, number>();
  /** Has `key` been suspect for the grace period (recording it if new)? `since` is earlier evidence. */
  const aged = (key: string, since?: number): boolean => {
    const seen = Math.min(opts.firstSeen.get(key) ?? now, since ?? Infinity);
    firstSeen.set(key, seen);
    return now - seen >= grace;
  };

  // ---- addresses, all-or-none per handle
  const allocs = allAllocations(snap);
  const byHandle = new Map<string, AllocationView[]>();
  const loose: AllocationView[] = [];
  for (const a of allocs) {
    if (a.handleId === undefined) loose.push(a);
    else byHandle.set(a.handleId, [...(byHandle.get(a.handleId) ?? []), a]);
  }
  let candidates = 0;
  const confirmed = (a: AllocationView): boolean => {
    if (a.use.state !== 'leaked') return false;
    const ts = a.attrs['timestamp'] ? Date.parse(a.attrs['timestamp']) : NaN;
    const ok = aged(`leak|${a.ip}|${a.handleId ?? ''}|${a.sequenceNumber}`, Number.isFinite(ts) ? ts : undefined) || a.use.nodeGone;
    if (!ok) candidates++;
    return ok;
  };
  const releaseHandles: GcReleaseHandle[] = [];
  const toRelease = (handleId: string | undefined, list: AllocationView[], reason: string): GcReleaseHandle => ({
    handleId,
    addresses: list.map((a) => ({
      ip: a.ip,
      sequenceNumber: a.sequenceNumber,
      block: formatCIDR(a.block),
      attrs: a.attrs,
      nodeGone: a.use.state === 'leaked' && a.use.nodeGone,
    })),
    reason,
  });
  for (const [handleId, list] of byHandle) {
    const verdicts = list.map(confirmed);
    if (verdicts.every(Boolean)) releaseHandles.push(toRelease(handleId, list, reasonFor(list)));
  }
  for (const a of loose) if (confirmed(a)) releaseHandles.push(toRelease(undefined, [a], reasonFor([a])));

  // ---- blocks
  const releaseBlocks: GcBlockRelease[] = [];
  const affinityOf = new Map(snap.affinities.map((a) => [`${a.node}|${formatCIDR(a.block)}`, a]));
  const blocksOfNode = new Map<string, Versioned<AllocationBlock>[]>();
  for (const vb of snap.blocks) {
    const n = affineNode(vb.value);
    if (n !== undefined) blocksOfNode.set(`${n}|${vb.value.cidr.family}`, [...(blocksOfNode.get(`${n}|${vb.value.cidr.family}`) ?? []), vb]);
  }
  const released = new Set<string>();
  for (const vb of snap.blocks) {
    const node = affineNode(vb.value);
    const cidr = formatCIDR(vb.value.cidr);
    const aff = node === undefined ? undefined : affinityOf.get(`${node}|${cidr}`);
    const base = {
      block: vb.value.cidr,
      blockKey: vb.key,
      blockRevision: vb.revision,
      ...(aff ? { affinity: { key: aff.key, revision: aff.revision } } : {}),
    };
    if (node === undefined) {
      if (vb.value.affinity === null && isEmpty(vb.value)) releaseBlocks.push({ ...base, node: '', empty: true, nodeGone: false, reason: `unowned block ${cidr} is empty` });
      continue;
    }
    if (!snap.nodes.has(node)) {
      releaseBlocks.push({ ...base, node, empty: isEmpty(vb.value), nodeGone: true, reason: `node ${node} no longer exists` });
      released.add(`${node}|${cidr}`);
      continue;
    }
    if (!isEmpty(vb.value)) continue;
    const siblings = blocksOfNode.get(`${node}|${vb.value.cidr.family}`) ?? [];
    const remaining = siblings.filter((s) => !released.has(`${node}|${formatCIDR(s.value.cidr)}`));
    if (remaining.length <= 1) continue; // a node keeps its last block
    if (aged(`empty|${cidr}|${node}`)) {
      releaseBlocks.push({ ...base, node, empty: true, nodeGone: false, reason: `block ${cidr} of node ${node} has been empty for the grace period` });
      released.add(`${node}|${cidr}`);
    }
  }

  // ---- affinities
  const affinityFixes: GcAffinityFix[] = [];
  const blockByCidr = new Map(snap.blocks.map((vb) => [formatCIDR(vb.value.cidr), vb]));
  for (const a of snap.affinities) {
    const cidr = formatCIDR(a.block);
    if (released.has(`${a.node}|${cidr}`)) continue; // goes with its block
    const vb = blockByCidr.get(cidr);
    const fix = affinityFix(a, vb, snap, aged);
    if (fix) affinityFixes.push(fix);
  }
  const missingAffinities: GcMissingAffinity[] = [];
  for (const vb of snap.blocks) {
    const node = affineNode(vb.value);
    if (node !== undefined && snap.nodes.has(node) && !affinityOf.has(`${node}|${formatCIDR(vb.value.cidr)}`)) missingAffinities.push({ node, block: vb.value.cidr });
  }

  // ---- handle records
  const handleFixes: GcHandleFix[] = [];
  const actual = handleCounts(allocs);
  const recorded = new Set<string>();
  for (const h of snap.handles) {
    recorded.add(h.value.handleId);
    const real = actual.get(h.value.handleId);
    if (!real) {
      if (aged(`orphan|${h.value.handleId}|${h.revision}`)) handleFixes.push({ handleId: h.value.handleId, key: h.key, revision: h.revision, counts: null, reason: 'handle holds no addresses' });
      continue;
    }
    if (!sameCounts(real, h.value.block)) handleFixes.push({ handleId: h.value.handleId, key: h.key, revision: h.revision, counts: real, reason: `counts ${JSON.stringify(h.value.block)} differ from the blocks' ${JSON.stringify(real)}` });
  }
  for (const [id, counts] of actual) {
    if (!recorded.has(id)) handleFixes.push({ handleId: id, key: '', revision: undefined, counts, reason: 'addresses reference a handle with no record' });
  }

  const cooldown = snap.config.ipCooldownSeconds ?? 0;
  const cooledBlocks: GcCooledBlock[] = [];
  for (const vb of snap.blocks) {
    const { collected } = collectCooled(vb.value, new Date(now), cooldown);
    if (collected.length > 0) cooledBlocks.push({ block: vb.value.cidr, count: collected.length });
  }

  return { cooledBlocks, releaseHandles, releaseBlocks, affinityFixes, missingAffinities, handleFixes, candidates, firstSeen };
}

function affinityFix(a: StoredAffinity, vb: Versioned<AllocationBlock> | undefined, snap: IpamSnapshot, aged: (key: string) => boolean): GcAffinityFix | undefined {
  const cidr = formatCIDR(a.block);
  const del = (reason: string): GcAffinityFix => ({ key: a.key, revision: a.revision, action: 'delete', reason });
  if (!snap.nodes.has(a.node)) return vb && affineNode(vb.value) === a.node ? undefined : del(`node ${a.node} no longer exists`);
  if (!vb) return aged(`stale|${a.key}|${a.revision}`) ? del(`no block ${cidr} exists (interrupted claim)`) : undefined;
  if (affineNode(vb.value) !== a.node) return del(`block ${cidr} belongs to ${vb.value.affinity ?? 'no node'}`);
  if (a.affinity.state === 'pending') return { key: a.key, revision: a.revision, action: 'confirm', reason: `block ${cidr} exists and is affine to ${a.node}` };
  return undefined;
}

function sameCounts(a: Record<string, number>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function reasonFor(list: AllocationView[]): string {
  const a = list[0]!;
  if (a.use.state === 'leaked' && a.use.kind === 'tunnel') return `tunnel address of deleted node ${a.attrs['node'] ?? ''}`;
  const pod = a.attrs['namespace'] && a.attrs['pod'] ? ` for pod ${a.attrs['namespace']}/${a.attrs['pod']}` : '';
  return `no WorkloadEndpoint${pod}${a.use.state === 'leaked' && a.use.nodeGone ? `; node ${a.attrs['node']} is gone` : ''}`;
}
