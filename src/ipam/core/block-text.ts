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
//   versions), and each version's list of record texts per list object: a list that is its
//   predecessor's plus one record costs a copy of the predecessor's references;
// - `allocations` and `sequenceNumberForAllocation` are written in groups of GROUP ordinals, each
//   group's text remembered; a new version rebuilds only the groups whose ordinals changed.
// The document is handed over in pieces (one per attribute record, with short pieces around
// them), which the datastore writes one after another into the request: a new version costs its
// changed pieces and an array of references, not a fresh copy of its whole text. Pieces known to
// be ASCII are marked so, to be copied byte for byte.
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

const NON_ASCII = /[^\x00-\x7f]/;

/** An attribute record's text, and the same with the comma that goes before every record but the first. */
interface RecordText {
  readonly text: string;
  readonly after: string;
  readonly ascii: boolean;
}

const recordText = new WeakMap<AllocationAttribute, RecordText>();

function textOf(a: AllocationAttribute): RecordText {
  let t = recordText.get(a);
  if (t === undefined) {
    const text = JSON.stringify(encodeAttribute(a));
    t = { text, after: `,${text}`, ascii: !NON_ASCII.test(text) };
    recordText.set(a, t);
  }
  return t;
}

/** A version's attribute list as text pieces, one per record (commas included), remembered per list object. */
interface AttributesText {
  readonly pieces: readonly string[];
  readonly ascii: boolean;
}

const listText = new WeakMap<readonly AllocationAttribute[], AttributesText>();

function extendsBy(prev: readonly AllocationAttribute[], attrs: readonly AllocationAttribute[], extra: number): boolean {
  if (prev.length + extra !== attrs.length) return false;
  for (let i = 0; i < prev.length; i++) if (prev[i] !== attrs[i]) return false;
  return true;
}

function attributesText(attrs: readonly AllocationAttribute[], prev: readonly AllocationAttribute[] | undefined): AttributesText {
  let out = listText.get(attrs);
  if (out !== undefined) return out;
  const before = prev && listText.get(prev);
  if (prev && before !== undefined && extendsBy(prev, attrs, 0)) out = before;
  else if (prev && before !== undefined && prev.length > 0 && extendsBy(prev, attrs, 1)) {
    const last = textOf(attrs[attrs.length - 1]!);
    out = { pieces: [...before.pieces, last.after], ascii: before.ascii && last.ascii };
  } else {
    const texts = attrs.map(textOf);
    out = { pieces: texts.map((t, i) => (i === 0 ? t.text : t.after)), ascii: texts.every((t) => t.ascii) };
  }
  listText.set(attrs, out);
  return out;
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

/**
 * JSON.stringify(encodeBlock(b)) as pieces to be sent one after another, and whether all of them
 * are ASCII; pass the version `b` was made from, if any, to save work.
 */
export function blockPieces(b: AllocationBlock, prev?: AllocationBlock): { pieces: string[]; ascii: boolean } {
  const ords = ordinalTextsOf(b, prev);
  const head =
    `{"cidr":${JSON.stringify(formatCIDR(b.cidr))},"affinity":${JSON.stringify(b.affinity)}` +
    (b.affinityClaimTime === undefined ? '' : `,"affinity_claim_time":${JSON.stringify(b.affinityClaimTime)}`) +
    `,"strictAffinity":${b.strictAffinity},"allocations":${ords ? ords.allocationsJson : JSON.stringify(b.allocations)}` +
    `,"unallocated":${JSON.stringify(b.unallocated)},"attributes":[`;
  const attrs = attributesText(b.attributes, prev?.attributes);
  const tail =
    `],"deleted":${b.deleted},"sequenceNumber":${JSON.stringify(b.sequenceNumber)}` +
    `,"sequenceNumberForAllocation":${ords ? ords.seqsJson : JSON.stringify(b.sequenceNumberForAllocation)}}`;
  // Numbers, booleans, CIDRs and the field names are ASCII: only the owner's name, the claim time
  // and a foreign writer's sequence keys may not be.
  const ascii =
    attrs.ascii &&
    !NON_ASCII.test(b.affinity ?? '') &&
    !NON_ASCII.test(b.affinityClaimTime ?? '') &&
    (ords !== undefined || !NON_ASCII.test(tail));
  return { pieces: [head, ...attrs.pieces, tail], ascii };
}

/** The document's UTF-8 length when it is ASCII, else an upper bound (3 bytes a character), without joining it. */
export function blockTextBytes(b: AllocationBlock): number {
  const { pieces, ascii } = blockPieces(b);
  const chars = pieces.reduce((n, p) => n + p.length, 0);
  return ascii ? chars : 3 * chars;
}

/** The same document as one string. */
export function blockJsonText(b: AllocationBlock, prev?: AllocationBlock): string {
  return blockPieces(b, prev).pieces.join('');
}

/** The block as a datastore write value: its JSON text in pieces, built as above. */
export function blockValue(b: AllocationBlock, prev?: AllocationBlock): JsonText {
  const { pieces, ascii } = blockPieces(b, prev);
  return new JsonText(pieces, ascii);
}
