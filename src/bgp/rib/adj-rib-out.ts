// Per-peer Adj-RIB-Out state as bits on each RibEntry, and the change journal peers drain.
//
// For every prefix and peer two bits: `pend` (the prefix changed since we last told this peer)
// and `adv` (the peer holds an announcement of it from us). A change sets `pend` for every peer
// that is up and appends the entry to one journal shared by all peers; each peer drains the
// journal from its own cursor, at its own pace, and only then computes what to send (export
// policy, cached per attribute set). So a change costs a few bit operations whatever the number
// of peers, repeated changes before a send collapse, and no per-peer copy of the table exists:
// 100k prefixes × 10 peers is two numbers per prefix instead of a million map entries.
//
// Slots 0..30 live in the two number fields; a speaker with more peers keeps the rest in a small
// Uint32Array per entry ([pend words…, adv words…]) made when first needed.

export interface OutBits {
  pend: number;
  adv: number;
  /** Position in the journal, -1 when not queued. */
  qpos: number;
  wide: Uint32Array | undefined;
}

const NARROW = 31;
export const PEND = 0;
export const ADV = 1;

export function getBit(e: OutBits, field: 0 | 1, slot: number): boolean {
  if (slot < NARROW) return ((field === PEND ? e.pend : e.adv) & (1 << slot)) !== 0;
  const w = e.wide;
  if (!w) return false;
  const half = w.length >> 1;
  const i = (slot >> 5) + (field === PEND ? 0 : half);
  return i < (field === PEND ? half : w.length) && (w[i]! & (1 << (slot & 31))) !== 0;
}

export function setBit(e: OutBits, field: 0 | 1, slot: number, on: boolean): void {
  if (slot < NARROW) {
    const m = 1 << slot;
    if (field === PEND) e.pend = on ? e.pend | m : e.pend & ~m;
    else e.adv = on ? e.adv | m : e.adv & ~m;
    return;
  }
  let w = e.wide;
  const need = (slot >> 5) + 1;
  if (!w || w.length >> 1 < need) {
    if (!on) return;
    const grown = new Uint32Array(need * 2);
    if (w) {
      const half = w.length >> 1;
      grown.set(w.subarray(0, half), 0);
      grown.set(w.subarray(half), need);
    }
    e.wide = w = grown;
  }
  const i = (slot >> 5) + (field === PEND ? 0 : w.length >> 1);
  const m = 1 << (slot & 31);
  w[i] = on ? w[i]! | m : w[i]! & ~m;
}

/** The journal of changed entries and each peer's position in it. */
export class Journal<E extends OutBits> {
  readonly entries: E[] = [];
  private readonly cursors = new Map<number, number>();

  /** Queue `e` so that every active cursor will still reach it. */
  push(e: E): void {
    if (e.qpos >= 0 && e.qpos >= this.maxCursor()) return;
    e.qpos = this.entries.length;
    this.entries.push(e);
  }

  private maxCursor(): number {
    let m = 0;
    for (const c of this.cursors.values()) if (c > m) m = c;
    return m;
  }

  /** A peer starts reading at the end (what is already queued was decided before it was up). */
  join(slot: number): void {
    this.cursors.set(slot, this.entries.length);
  }

  leave(slot: number): void {
    this.cursors.delete(slot);
    this.compact();
  }

  cursor(slot: number): number {
    return this.cursors.get(slot) ?? this.entries.length;
  }

  advance(slot: number, to: number): void {
    this.cursors.set(slot, to);
    this.compact();
  }

  /** When every peer has read everything, start over (entries forget their positions). */
  private compact(): void {
    const n = this.entries.length;
    if (n === 0) return;
    for (const c of this.cursors.values()) if (c < n) return;
    for (const e of this.entries) e.qpos = -1;
    this.entries.length = 0;
    for (const k of this.cursors.keys()) this.cursors.set(k, 0);
  }
}
