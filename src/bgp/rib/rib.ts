// The RIBs of one speaker (RFC 4271 §3.2), pure and single-owner:
// - Adj-RIB-In (after import policy) and Loc-RIB share one table per family, as BIRD does: each
//   prefix has one RibEntry holding every peer's path, best first. A peer's Adj-RIB-In is its
//   paths across the table; no per-peer copy of the prefixes exists.
// - Adj-RIB-Out is what export policy makes of the Loc-RIB for each peer. It is not stored: it is
//   recomputed (and cached per attribute set) when a best path changes; what is stored per peer is
//   the queue of changes not yet sent, so repeated changes to a prefix before the next send
//   collapse into one (MRAI pacing), and `drain` groups the queue by attributes for packing.
//
// A path is a tag (slot·4 + flags) and an attribute set. The first path lives in two fields of
// the entry and further paths in a flat array [tag, attrs, tag, attrs, …] made only when a
// second peer sends the prefix: most prefixes have one path, and an array per prefix was a
// quarter of the heap at 100k prefixes. Invariant: when an entry has an accepted path, the best
// one is path 0; entries with no paths are removed from the table.

import type { CIDR, IPFamily } from '../../ip/index.js';
import type { Nlri, PathAttributes, UpdateMessage } from '../wire/index.js';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST } from '../wire/index.js';
import { AttrSet, AttrTable, type NextHop, type OutAttrs, type RouteSource } from './attrs.js';
import { comparePaths } from './decision.js';
import { PrefixTable } from './prefix-table.js';
import { ADV, Journal, type OutBits, PEND, getBit, setBit } from './adj-rib-out.js';
import { ACCEPT_ALL, type PrefixFilter, filterAccepts, isAcceptAll } from './filter.js';
import { type ExportTarget, type LocalSpeaker, exportAttrs, importAttrs, importLoop } from './policy.js';

const STALE = 1;
const REJECTED = 2;
export const LOCAL_SLOT = 0;


export class RibEntry implements OutBits {
  /** Path 0 (the best accepted one, when any is accepted); `set0` undefined = no path at all. */
  tag0: number;
  set0: AttrSet | undefined;
  /** Paths 1…n as [tag, attrs, tag, attrs, …]; undefined while the entry has one path. */
  more: Array<number | AttrSet> | undefined = undefined;
  pend = 0;
  adv = 0;
  qpos = -1;
  wide: Uint32Array | undefined = undefined;
  /** The route key as received (its path ID dropped), reused for sending: no copy per prefix. */
  constructor(readonly nlri: Nlri, tag: number, first: AttrSet) {
    this.tag0 = tag;
    this.set0 = first;
  }
  get prefix(): CIDR {
    return this.nlri.prefix;
  }
  /** The Loc-RIB route: the best accepted path, if any. */
  get best(): AttrSet | undefined {
    return this.set0 !== undefined && (this.tag0 & REJECTED) === 0 ? this.set0 : undefined;
  }
  /** How many paths the entry holds. */
  get count(): number {
    return this.set0 === undefined ? 0 : 1 + (this.more === undefined ? 0 : this.more.length >> 1);
  }
  tagAt(i: number): number {
    return i === 0 ? this.tag0 : (this.more![2 * i - 2] as number);
  }
  setAt(i: number): AttrSet {
    return i === 0 ? this.set0! : (this.more![2 * i - 1] as AttrSet);
  }
  /** Overwrites path i (0 ≤ i < count). */
  put(i: number, tag: number, set: AttrSet): void {
    if (i === 0) {
      this.tag0 = tag;
      this.set0 = set;
    } else {
      this.more![2 * i - 2] = tag;
      this.more![2 * i - 1] = set;
    }
  }
  /** Appends a path after the others (arrival order is kept). */
  add(tag: number, set: AttrSet): void {
    if (this.set0 === undefined) this.put(0, tag, set);
    else if (this.more === undefined) this.more = [tag, set];
    else this.more.push(tag, set);
  }
  /** Removes path i, keeping the others in their order. */
  removeAt(i: number): void {
    const last = this.count - 1;
    for (let j = i; j < last; j++) this.put(j, this.tagAt(j + 1), this.setAt(j + 1));
    if (last === 0) {
      this.set0 = undefined;
      this.tag0 = 0;
    } else if (last === 1) this.more = undefined;
    else this.more!.length -= 2;
  }
  /** Every path with its slot and flags, for status output. */
  *allPaths(): Generator<{ slot: number; attrs: AttrSet; stale: boolean; rejected: boolean; best: boolean }> {
    for (let i = 0; i < this.count; i++) {
      const tag = this.tagAt(i);
      yield { slot: tag >> 2, attrs: this.setAt(i), stale: (tag & STALE) !== 0, rejected: (tag & REJECTED) !== 0, best: i === 0 && (tag & REJECTED) === 0 };
    }
  }
}


export interface PeerCounters {
  /** Prefixes the peer currently announces to us (accepted or not). */
  received: number;
  /** Of those, the ones import policy accepted. */
  accepted: number;
  /** Prefixes our Adj-RIB-Out holds for the peer. */
  advertised: number;
}

/** A peer as the RIB sees it: its export target while up, its import source, its filters. */
export interface RibPeer {
  source: RouteSource;
  target: ExportTarget | undefined;
  families: ReadonlySet<IPFamily>;
  importFilter: PrefixFilter;
  exportFilter: PrefixFilter;
  readonly counters: PeerCounters;
}

export interface OutBatch {
  /** Announcements grouped by attribute set: pack each into full UPDATEs. */
  /** `key` names the exported attribute set: equal keys, interchangeable attributes. */
  readonly announce: { attrs: PathAttributes; key: string; nlri: Nlri[] }[];
  readonly withdraw: { family: IPFamily; nlri: Nlri[] }[];
}

export type BestChangeListener = (entry: RibEntry, oldBest: AttrSet | undefined, newBest: AttrSet | undefined) => void;

export class Rib {
  readonly tables: Record<IPFamily, PrefixTable<RibEntry>> = { 4: new PrefixTable(4), 6: new PrefixTable(6) };
  readonly attrTable: AttrTable;
  private readonly peers: (RibPeer | undefined)[] = [];
  private readonly localSource: RouteSource;
  private sessionKeys = 0;
  /** Entries whose best path changed, drained by each up peer from its own cursor. */
  private readonly journal = new Journal<RibEntry>();
  /** Slots of the peers that are up (their bits are set on changes). */
  private readonly upSlots: number[] = [];

  constructor(readonly local: LocalSpeaker, private readonly onBestChange: BestChangeListener = () => {}) {
    this.attrTable = new AttrTable(local.localAs);
    this.localSource = { slot: LOCAL_SLOT, kind: 'local', asn: local.localAs, routerId: local.routerId, rrClient: false };
    this.peers[LOCAL_SLOT] = undefined;
  }

  /** Registers a configured peer; returns its slot. */
  addPeer(source: Omit<RouteSource, 'slot'>, filters: { importFilter?: PrefixFilter; exportFilter?: PrefixFilter } = {}): number {
    const slot = Math.max(this.peers.length, 1);
    this.peers[slot] = {
      source: { ...source, slot },
      target: undefined,
      families: new Set(),
      importFilter: filters.importFilter ?? ACCEPT_ALL,
      exportFilter: filters.exportFilter ?? ACCEPT_ALL,
      counters: { received: 0, accepted: 0, advertised: 0 },
    };
    return slot;
  }

  peer(slot: number): RibPeer {
    const p = this.peers[slot];
    if (!p) throw new RangeError(`no peer in RIB slot ${slot}`);
    return p;
  }

  /** The session came up: remember how to export to it and queue the whole table (initial dump). */
  peerUp(slot: number, target: Omit<ExportTarget, 'slot' | 'sessionKey'>, routerId: number, families: ReadonlySet<IPFamily>): void {
    const p = this.peer(slot);
    if (p.target) this.peerDown(slot, false);
    p.source = { ...p.source, routerId };
    p.target = { ...target, slot, sessionKey: ++this.sessionKeys };
    p.families = families;
    p.counters.advertised = 0;
    this.upSlots.push(slot);
    this.journal.join(slot);
    for (const family of families) this.requeue(slot, family);
  }

  /** The session went down. With `keepStale` (graceful restart) its paths stay, marked stale. */
  peerDown(slot: number, keepStale: boolean): void {
    const p = this.peer(slot);
    if (p.target) this.attrTable.forgetExports(p.target.sessionKey);
    p.target = undefined;
    p.counters.advertised = 0;
    const at = this.upSlots.indexOf(slot);
    if (at >= 0) this.upSlots.splice(at, 1);
    this.journal.leave(slot);
    // Forget what this peer was told: the next session starts from nothing.
    const forget = (e: RibEntry) => {
      setBit(e, PEND, slot, false);
      setBit(e, ADV, slot, false);
    };
    for (const f of [4, 6] as const) for (const e of this.tables[f].values()) forget(e);
    for (const e of this.journal.entries) forget(e);
    if (keepStale) this.markStale(slot);
    else this.removePeerPaths(slot, () => true);
  }

  /** Queue every route of a family for the peer again: the initial dump, or a route refresh. */
  requeue(slot: number, family: IPFamily): void {
    if (!this.peer(slot).target) return;
    for (const entry of this.tables[family].values()) {
      if (!entry.best) continue;
      setBit(entry, PEND, slot, true);
      this.journal.push(entry);
    }
  }

  /** Marks the peer's paths stale (graceful restart helper, enhanced route refresh BoRR). */
  markStale(slot: number, family?: IPFamily): void {
    for (const f of family ? [family] : ([4, 6] as const)) {
      for (const entry of this.tables[f].values()) {
        for (let i = 0; i < entry.count; i++) if (entry.tagAt(i) >> 2 === slot) entry.put(i, entry.tagAt(i) | STALE, entry.setAt(i));
      }
    }
  }

  /** Removes the peer's paths still stale (End-of-RIB, restart timer expiry, EoRR). */
  sweepStale(slot: number, family?: IPFamily): number {
    return this.removePeerPaths(slot, (tag) => (tag & STALE) !== 0, family);
  }

  hasStale(slot: number): boolean {
    for (const f of [4, 6] as const) {
      for (const entry of this.tables[f].values()) {
        for (let i = 0; i < entry.count; i++) {
          const tag = entry.tagAt(i);
          if (tag >> 2 === slot && (tag & STALE) !== 0) return true;
        }
      }
    }
    return false;
  }

  /** Originates a prefix of ours, optionally tagged with communities (Calico's prefixAdvertisements). */
  originate(prefix: CIDR, tags: Pick<PathAttributes, 'communities' | 'largeCommunities'> = {}): void {
    const attrs: PathAttributes = { origin: 'igp', asPath: [], ...(tags.communities?.length ? { communities: tags.communities } : {}), ...(tags.largeCommunities?.length ? { largeCommunities: tags.largeCommunities } : {}) };
    const set = this.attrTable.intern(prefix.family, attrs, { self: true }, this.localSource);
    this.setPath({ prefix }, LOCAL_SLOT, set, false);
  }

  withdrawLocal(prefix: CIDR): void {
    this.setPath({ prefix }, LOCAL_SLOT, null, false);
  }

  /**
   * Applies one UPDATE from a peer (already decoded; AS4 already reconciled). Returns the families
   * this UPDATE marked End-of-RIB (RFC 4724 §2).
   */
  applyUpdate(slot: number, msg: UpdateMessage): IPFamily[] {
    const p = this.peer(slot);
    const a = msg.attributes;
    for (const n of msg.withdrawn) this.setPath(n, slot, null, false);
    const unreach = a.mpUnreach;
    if (unreach && unreach.safi === SAFI_UNICAST) for (const n of unreach.withdrawn) this.setPath(n, slot, null, false);

    const reach = a.mpReach && a.mpReach.safi === SAFI_UNICAST ? a.mpReach : undefined;
    if (msg.treatAsWithdraw) {
      for (const n of msg.nlri) this.setPath(n, slot, null, false);
      for (const n of reach?.nlri ?? []) this.setPath(n, slot, null, false);
    } else if (msg.nlri.length > 0 || (reach && reach.nlri.length > 0)) {
      const kept = importAttrs(a, p.source);
      const loop = importLoop(a, p.source, this.local) !== undefined;
      if (msg.nlri.length > 0 && a.nextHop) {
        this.announce(p, 4, kept, { address: a.nextHop }, msg.nlri, loop);
      }
      if (reach && reach.nlri.length > 0 && (reach.afi === AFI_IPV4 || reach.afi === AFI_IPV6)) {
        const nh = reach.nextHop;
        const nextHop: NextHop = nh.kind === 'ipv4' ? { address: nh.address } : nh.kind === 'ipv6' ? (nh.linkLocal ? { address: nh.global, linkLocal: nh.linkLocal } : { address: nh.global }) : {};
        this.announce(p, reach.afi === AFI_IPV4 ? 4 : 6, kept, nextHop, reach.nlri, loop);
      }
    }

    // End-of-RIB: an empty UPDATE (IPv4), or one holding only an empty MP_UNREACH_NLRI.
    const eor: IPFamily[] = [];
    const attrCount = Object.keys(a).filter((k) => k !== 'layout').length;
    if (msg.withdrawn.length === 0 && msg.nlri.length === 0) {
      if (attrCount === 0) eor.push(4);
      else if (attrCount === 1 && unreach && unreach.withdrawn.length === 0 && unreach.safi === SAFI_UNICAST) {
        if (unreach.afi === AFI_IPV4) eor.push(4);
        if (unreach.afi === AFI_IPV6) eor.push(6);
      }
    }
    return eor;
  }

  private announce(p: RibPeer, family: IPFamily, kept: PathAttributes, nextHop: NextHop, nlri: readonly Nlri[], loop: boolean): void {
    const set = this.attrTable.intern(family, kept, nextHop, p.source);
    const filter = p.importFilter;
    const all = isAcceptAll(filter);
    for (const n of nlri) {
      if (n.prefix.family !== family) continue; // an IPv6 prefix under an IPv4 AFI was refused by the codec
      this.setPath(n, p.source.slot, set, loop || (!all && !filterAccepts(filter, n.prefix)));
    }
  }

  /** Takes up to `limit` queued changes for the peer, grouped for packing. The peer's Adj-RIB-Out
   *  (its `adv` bits and count) is updated as if they were sent. */
  drain(slot: number, limit = Infinity): OutBatch {
    const p = this.peer(slot);
    const groups = new Map<string, { attrs: PathAttributes; key: string; nlri: Nlri[] }>();
    const w4: Nlri[] = [];
    const w6: Nlri[] = [];
    const entries = this.journal.entries;
    let i = this.journal.cursor(slot);
    let n = 0;
    // Runs of entries share their best path: without a per-prefix export filter, the export and
    // the group of the previous entry are those of the next one with the same best path.
    const perPrefix = !isAcceptAll(p.exportFilter);
    let lastBest: AttrSet | undefined;
    let lastOut: OutAttrs | null = null;
    let lastGroup: { attrs: PathAttributes; key: string; nlri: Nlri[] } | undefined;
    while (i < entries.length && n < limit) {
      const entry = entries[i++]!;
      if (!getBit(entry, PEND, slot)) continue;
      setBit(entry, PEND, slot, false);
      n++;
      const best = entry.best;
      const reuse = best !== undefined && best === lastBest && !perPrefix;
      const out: OutAttrs | null = reuse ? lastOut : best ? this.exportFor(best, p, entry) : null;
      const was = getBit(entry, ADV, slot);
      if (out) {
        if (!was) {
          setBit(entry, ADV, slot, true);
          p.counters.advertised++;
        }
        let g = reuse ? lastGroup : groups.get(out.key);
        if (!g) groups.set(out.key, (g = { attrs: out.attrs, key: out.key, nlri: [] }));
        g.nlri.push(entry.nlri);
        lastGroup = g;
      } else {
        lastGroup = undefined;
        if (was) {
          setBit(entry, ADV, slot, false);
          p.counters.advertised--;
          (entry.prefix.family === 4 ? w4 : w6).push(entry.nlri);
        }
      }
      lastBest = best;
      lastOut = out;
    }
    this.journal.advance(slot, i);
    const withdraw: { family: IPFamily; nlri: Nlri[] }[] = [];
    if (w4.length) withdraw.push({ family: 4, nlri: w4 });
    if (w6.length) withdraw.push({ family: 6, nlri: w6 });
    return { announce: [...groups.values()], withdraw };
  }

  /** Whether the peer has changes it has not drained yet. */
  hasPending(slot: number): boolean {
    return this.peer(slot).target !== undefined && this.journal.cursor(slot) < this.journal.entries.length;
  }

  private exportFor(best: AttrSet, p: RibPeer, entry: RibEntry): OutAttrs | null {
    const t = p.target;
    if (!t || !p.families.has(best.family)) return null;
    if (!isAcceptAll(p.exportFilter) && !filterAccepts(p.exportFilter, entry.prefix)) return null;
    let out = best.exported.get(t.sessionKey);
    if (out === undefined) {
      out = exportAttrs(best, t, this.local);
      best.exported.set(t.sessionKey, out);
    }
    return out;
  }

  private bestChanged(entry: RibEntry, oldBest: AttrSet | undefined, newBest: AttrSet | undefined): void {
    if (this.upSlots.length > 0) {
      for (const slot of this.upSlots) setBit(entry, PEND, slot, true);
      this.journal.push(entry);
    }
    this.onBestChange(entry, oldBest, newBest);
  }

  /** Sets (or with null removes) one peer's path for a prefix, then reselects the best. */
  private setPath(nlri: Nlri, slot: number, set: AttrSet | null, rejected: boolean): void {
    const prefix = nlri.prefix;
    const table = this.tables[prefix.family];
    let entry = table.get(prefix);
    if (!entry) {
      if (!set) return;
      const counters = slot === LOCAL_SLOT ? undefined : this.peers[slot]?.counters;
      this.attrTable.retain(set);
      entry = new RibEntry(nlri.pathId === undefined ? nlri : { prefix }, (slot << 2) | (rejected ? REJECTED : 0), set);
      table.set(prefix, entry);
      if (counters) {
        counters.received++;
        if (!rejected) counters.accepted++;
      }
      if (entry.best) this.bestChanged(entry, undefined, entry.best);
      return;
    }
    const n = entry.count;
    let i = 0;
    while (i < n && entry.tagAt(i) >> 2 !== slot) i++;
    const oldBest = entry.best;
    const counters = slot === LOCAL_SLOT ? undefined : this.peers[slot]?.counters;
    // Retain the new set before releasing the old one: they may be the same object.
    if (set) this.attrTable.retain(set);
    if (i < n) {
      const oldTag = entry.tagAt(i);
      this.attrTable.release(entry.setAt(i));
      if (counters && (oldTag & REJECTED) === 0) counters.accepted--;
      if (set) entry.put(i, (slot << 2) | (rejected ? REJECTED : 0), set);
      else {
        entry.removeAt(i);
        if (counters) counters.received--;
      }
    } else if (set) {
      entry.add((slot << 2) | (rejected ? REJECTED : 0), set);
      if (counters) counters.received++;
    } else return;
    if (set && counters && !rejected) counters.accepted++;
    this.select(entry);
    if (entry.count === 0) table.delete(prefix);
    const newBest = entry.best;
    if (oldBest !== newBest) this.bestChanged(entry, oldBest, newBest);
  }

  /** Moves the best accepted path to index 0. */
  private select(entry: RibEntry): void {
    if (entry.more === undefined) return; // one path (or none): nothing to choose between
    const n = entry.count;
    let best = -1;
    for (let i = 0; i < n; i++) {
      if ((entry.tagAt(i) & REJECTED) !== 0) continue;
      if (best < 0 || comparePaths(entry.setAt(i), entry.setAt(best)) < 0) best = i;
    }
    if (best > 0) {
      const t = entry.tag0;
      const a = entry.set0!;
      entry.put(0, entry.tagAt(best), entry.setAt(best));
      entry.put(best, t, a);
    }
  }

  private removePeerPaths(slot: number, which: (tag: number) => boolean, family?: IPFamily): number {
    let removed = 0;
    for (const f of family ? [family] : ([4, 6] as const)) {
      const doomed: RibEntry[] = [];
      for (const entry of this.tables[f].values()) {
        for (let i = 0; i < entry.count; i++) {
          const tag = entry.tagAt(i);
          if (tag >> 2 === slot && which(tag)) doomed.push(entry);
        }
      }
      for (const entry of doomed) {
        this.setPath(entry.nlri, slot, null, false);
        removed++;
      }
    }
    return removed;
  }
}
