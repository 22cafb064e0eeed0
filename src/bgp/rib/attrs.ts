// Interned attribute sets: every path in the RIB points at one shared, immutable AttrSet, so
// 100k prefixes announced with the same attributes cost one object, and "same attributes" is an
// identity comparison. An AttrSet belongs to one source (peer slot) and one family because the
// decision and export rules read both; it is released when its last path goes away.
//
// Invariants: `attrs` never holds MP_REACH/MP_UNREACH, AS4_* or layout (next hop lives in
// `nextHop`, AS4 is reconciled before interning); `refs` counts paths pointing here.

import type { IPAddr, IPFamily } from '../../ip/index.js';
import type { PathAttributes } from '../wire/index.js';

export type SourceKind = 'local' | 'ibgp' | 'ebgp';

/** Where a path came from, as the decision and export rules need it. */
export interface RouteSource {
  readonly slot: number;
  readonly kind: SourceKind;
  readonly asn: number;
  /** The peer's BGP Identifier (ours for local routes). */
  readonly routerId: number;
  readonly address?: IPAddr;
  /** We reflect for this peer (RFC 4456 client). */
  readonly rrClient: boolean;
}

/** A path's next hop; `self` for locally originated routes (resolved per receiving peer). */
export interface NextHop {
  readonly address?: IPAddr;
  readonly linkLocal?: IPAddr;
  readonly self?: true;
}

/** Attributes as sent to one peer, interned per (AttrSet, peer session). */
export interface OutAttrs {
  readonly attrs: PathAttributes;
  readonly key: string;
}

export const DEFAULT_LOCAL_PREF = 100;
const ORIGIN_RANK = { igp: 0, egp: 1, incomplete: 2 } as const;

export class AttrSet {
  refs = 0;
  /** Export results per receiving peer session (see rib.ts); null = not exported. */
  readonly exported = new Map<number, OutAttrs | null>();
  // Decision inputs, computed once.
  readonly localPref: number;
  readonly asPathLength: number;
  readonly originRank: number;
  readonly med: number;
  readonly neighborAs: number;
  readonly decisionId: number;
  readonly clusterListLength: number;

  constructor(
    readonly key: string,
    readonly family: IPFamily,
    readonly attrs: PathAttributes,
    readonly nextHop: NextHop,
    readonly source: RouteSource,
    localAs: number,
  ) {
    this.localPref = attrs.localPref ?? DEFAULT_LOCAL_PREF;
    let len = 0;
    let first: number | undefined;
    for (const seg of attrs.asPath ?? []) {
      if (seg.type === 'sequence') {
        len += seg.asns.length;
        first ??= seg.asns[0];
      } else if (seg.type === 'set') len += 1;
      // Confederation segments do not count (RFC 5065 §5.3).
    }
    this.asPathLength = len;
    this.originRank = ORIGIN_RANK[attrs.origin ?? 'incomplete'];
    this.med = attrs.med ?? 0;
    this.neighborAs = first ?? localAs;
    // RFC 4456 §9: ORIGINATOR_ID stands in for the router ID of the peer.
    this.decisionId = (attrs.originatorId ?? source.routerId) >>> 0;
    this.clusterListLength = attrs.clusterList?.length ?? 0;
  }
}

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v;
}

/** A canonical text for attributes; equal texts mean interchangeable attributes. */
export function attrsKey(attrs: PathAttributes, extra: unknown): string {
  return JSON.stringify([attrs, extra], replacer);
}

/** The intern table: one AttrSet per (source, family, attributes, next hop). */
export class AttrTable {
  private readonly sets = new Map<string, AttrSet>();
  constructor(private readonly localAs: number) {}

  intern(family: IPFamily, attrs: PathAttributes, nextHop: NextHop, source: RouteSource): AttrSet {
    const key = attrsKey(attrs, [family, source.slot, source.routerId, source.rrClient, nextHop]);
    let set = this.sets.get(key);
    if (!set) {
      set = new AttrSet(key, family, attrs, nextHop, source, this.localAs);
      this.sets.set(key, set);
    }
    return set;
  }

  retain(set: AttrSet): void {
    set.refs++;
  }

  release(set: AttrSet): void {
    if (--set.refs === 0) this.sets.delete(set.key);
  }

  get size(): number {
    return this.sets.size;
  }

  /** Drop every cached export result for one peer session (it went down or changed). */
  forgetExports(sessionKey: number): void {
    for (const s of this.sets.values()) s.exported.delete(sessionKey);
  }

  values(): IterableIterator<AttrSet> {
    return this.sets.values();
  }
}
