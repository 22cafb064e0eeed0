// A block's stored JSON text, built without re-encoding what has not changed.
//
// Every allocation rewrites its whole block (~11 KB for a full /26 with Kubernetes handle ids
// and pod attributes), and encoding that object afresh each time cost more CPU than the rest of
// the allocation put together. A new version of a block differs from the one it was made from in
// a few ordinals (and, for a new pod, one appended attribute record), so each version remembers
// pieces of its text (WeakMaps keyed by the immutable objects of block.ts, so nothing outlives
// the versions that use it), and a version encoded with `prev` (the version it was made from)
// redoes only what differs:
// - each attribute record's text is remembered per record object (records are shared between
//   versions), and each version's joined list per list object: a list that is its predecessor's
//   plus one record costs one copy of the predecessor's text;
// - `allocations` and `sequenceNumberForAllocation` are written in groups of GROUP ordinals, each
//   group's text remembered; a new version rebuilds only the groups whose ordinals changed.
// Texts are built with Array.join, which gives flat strings: writing one out (UTF-8, into the
// request) is then a straight copy, not a walk over a tree of concatenations.
//
// The result is byte for byte `JSON.stringify(encodeBlock(b))` (tested over random walks), so a
// block written either way reads back the same. Field order and names follow block-codec.ts.
//
// `sequenceNumberForAllocation` is written ordinal by ordinal, which is JSON.stringify's order
// when every key is an ordinal of the block. A version with other keys (data some other writer
// made) is written by JSON.stringify itself. Whether a version has only ordinal keys is checked
// once per lineage: block.ts's functions, which make every new version from its predecessor,
// only ever set or delete ordinal keys, so a version made from a checked one is checked too.

import { JsonText } from '../../datastore/datastore.js';
import { formatCIDR } from '../../ip/index.js';
import { type AllocationAttribute, type AllocationBlock, encodeAttribute } from './block.js';

const attributeText = new WeakMap<AllocationAttribute, string>();

function textOf(a: AllocationAttribute): string {
  let t = attributeText.get(a);
  if (t === undefined) {
    t = JSON.stringify(encodeAttribute(a));
    attributeText.set(a, t);
  }
  return t;
}

const joinedText = new WeakMap<readonly AllocationAttribute[], string>();

function extendsBy(prev: readonly AllocationAttribute[], attrs: readonly AllocationAttribute[], extra: number): boolean {
  if (prev.length + extra !== attrs.length) return false;
  for (let i = 0; i < prev.length; i++) if (prev[i] !== attrs[i]) return false;
  return true;
}

/** The records' texts joined with commas (no brackets), remembered per list object. */
function attributesText(attrs: readonly AllocationAttribute[], prev: readonly AllocationAttribute[] | undefined): string {
  let text = joinedText.get(attrs);
  if (text !== undefined) return text;
  const before = prev && joinedText.get(prev);
  if (prev && before !== undefined && extendsBy(prev, attrs, 0)) text = before;
  else if (prev && before !== undefined && prev.length > 0 && extendsBy(prev, attrs, 1)) text = [before, textOf(attrs[attrs.length - 1]!)].join(',');
  else text = attrs.map(textOf).join(',');
  joinedText.set(attrs, text);
  return text;
}

/** Ordinals per remembered group: a /26 has 8 groups. */
const GROUP = 8;

/** One version's `allocations` and `sequenceNumberForAllocation` texts, by group of ordinals. */
interface OrdinalTexts {
  readonly allocations: readonly (number | null)[];
  readonly seqs: Readonly<Record<number, number>>;
  /** Per group: its allocation entries joined with commas. */
  readonly allocationGroups: readonly string[];
  /** Per group: its `"ord":seq` entries joined with commas, or '' when it has none. */
  readonly seqGroups: readonly string[];
  readonly allocationsJson: string;
  readonly seqsJson: string;
}

const ordinalTexts = new WeakMap<AllocationBlock, OrdinalTexts>();

/** Every key of the version's sequence map is an ordinal of the block holding a number. */
function onlyOrdinalSeqs(b: AllocationBlock): boolean {
  const keys = Object.keys(b.sequenceNumberForAllocation);
  const size = b.allocations.length;
  return keys.every((k) => {
    const ord = Number(k);
    return Number.isInteger(ord) && ord >= 0 && ord < size && String(ord) === k && Number.isFinite(b.sequenceNumberForAllocation[k]);
  });
}

function allocationGroup(allocations: readonly (number | null)[], g: number): string {
  const parts: string[] = [];
  for (let ord = g * GROUP; ord < Math.min(allocations.length, (g + 1) * GROUP); ord++) {
    const a = allocations[ord];
    parts.push(a === null || a === undefined ? 'null' : JSON.stringify(a));
  }
  return parts.join(',');
}

function seqGroup(seqs: Readonly<Record<number, number>>, size: number, g: number): string {
  const parts: string[] = [];
  for (let ord = g * GROUP; ord < Math.min(size, (g + 1) * GROUP); ord++) {
    const v = seqs[ord];
    if (v !== undefined) parts.push(`"${ord}":${JSON.stringify(v)}`);
  }
  return parts.join(',');
}

/**
 * The ordinal texts of `b`, from those of `prev` where a group's ordinals are unchanged.
 * Undefined when `b`'s sequence map has keys that are not ordinals (see the header).
 */
function ordinalTextsOf(b: AllocationBlock, prev: AllocationBlock | undefined): OrdinalTexts | undefined {
  const hit = ordinalTexts.get(b);
  if (hit) return hit;
  const size = b.allocations.length;
  const base = prev && ordinalTexts.get(prev);
  const from = base && base.allocations.length === size ? base : undefined;
  if (!from && !onlyOrdinalSeqs(b)) return undefined;
  const seqs = b.sequenceNumberForAllocation as Readonly<Record<number, number>>;
  const groups = Math.ceil(size / GROUP);
  const allocationGroups: string[] = [];
  const seqGroups: string[] = [];
  for (let g = 0; g < groups; g++) {
    let allocationsSame = from !== undefined;
    let seqsSame = from !== undefined;
    if (from) {
      for (let ord = g * GROUP; ord < Math.min(size, (g + 1) * GROUP); ord++) {
        if (from.allocations[ord] !== b.allocations[ord]) allocationsSame = false;
        if (from.seqs[ord] !== seqs[ord]) seqsSame = false;
      }
    }
    allocationGroups.push(allocationsSame ? from!.allocationGroups[g]! : allocationGroup(b.allocations, g));
    seqGroups.push(seqsSame ? from!.seqGroups[g]! : seqGroup(seqs, size, g));
  }
  const texts: OrdinalTexts = {
    allocations: b.allocations,
    seqs,
    allocationGroups,
    seqGroups,
    allocationsJson: `[${allocationGroups.join(',')}]`,
    seqsJson: `{${seqGroups.filter((t) => t !== '').join(',')}}`,
  };
  ordinalTexts.set(b, texts);
  return texts;
}

/** JSON.stringify(encodeBlock(b)); pass the version `b` was made from, if any, to save work. */
export function blockJsonText(b: AllocationBlock, prev?: AllocationBlock): string {
  const ords = ordinalTextsOf(b, prev);
  return [
    `{"cidr":${JSON.stringify(formatCIDR(b.cidr))},"affinity":${JSON.stringify(b.affinity)}`,
    b.affinityClaimTime === undefined ? '' : `,"affinity_claim_time":${JSON.stringify(b.affinityClaimTime)}`,
    `,"strictAffinity":${b.strictAffinity},"allocations":`,
    ords ? ords.allocationsJson : JSON.stringify(b.allocations),
    `,"unallocated":${JSON.stringify(b.unallocated)},"attributes":[`,
    attributesText(b.attributes, prev?.attributes),
    `],"deleted":${b.deleted},"sequenceNumber":${JSON.stringify(b.sequenceNumber)},"sequenceNumberForAllocation":`,
    ords ? ords.seqsJson : JSON.stringify(b.sequenceNumberForAllocation),
    '}',
  ].join('');
}

/** The block as a datastore write value: its JSON text, built as above. */
export function blockValue(b: AllocationBlock, prev?: AllocationBlock): JsonText {
  return new JsonText(blockJsonText(b, prev));
}
