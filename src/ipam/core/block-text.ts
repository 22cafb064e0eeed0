// A block's stored JSON text, built without re-encoding what has not changed.
//
// Every allocation rewrites its whole block (~11 KB for a full /26 with Kubernetes handle ids
// and pod attributes), and encoding that object afresh each time cost more CPU than the rest of
// the allocation put together. A new version of a block differs from the one it was made from in
// a few ordinals (and, for a new pod, one appended attribute record), so:
// - each attribute record's text is remembered per record object (records are immutable and
//   shared between versions, see block.ts), and each version's joined list per list object;
// - the per-ordinal texts of `allocations` and `sequenceNumberForAllocation` are remembered per
//   block version, and a version encoded with `prev` (the version it was made from) recomputes
//   only the ordinals whose values differ.
// The result is byte for byte `JSON.stringify(encodeBlock(b))` (tested over random walks), so a
// block written either way reads back the same. Field order and names follow block-codec.ts.

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

// The joined text of an attribute list, remembered per list object (each block version has its
// own). A list that is the previous version's list plus one record (a new pod) costs one
// concatenation; the records are compared by identity, so that is exact. Entries live as long as
// their list: nothing outlives the block versions that use it.
const joinedText = new WeakMap<readonly AllocationAttribute[], string>();

function extendsBy(prev: readonly AllocationAttribute[], attrs: readonly AllocationAttribute[], extra: number): boolean {
  if (prev.length + extra !== attrs.length) return false;
  for (let i = 0; i < prev.length; i++) if (prev[i] !== attrs[i]) return false;
  return true;
}

function attributesText(attrs: readonly AllocationAttribute[], prev: readonly AllocationAttribute[] | undefined): string {
  let text = joinedText.get(attrs);
  if (text !== undefined) return text;
  const prevText = prev && joinedText.get(prev);
  if (prev && prevText !== undefined && extendsBy(prev, attrs, 0)) text = prevText;
  else if (prev && prevText !== undefined && prev.length > 0 && extendsBy(prev, attrs, 1)) text = `${prevText},${textOf(attrs[attrs.length - 1]!)}`;
  else text = attrs.map(textOf).join(',');
  joinedText.set(attrs, text);
  return text;
}

/** Per-ordinal texts of one block version: `allocations[ord]`, and `"ord":seq` or '' when unset. */
interface OrdinalTexts {
  readonly allocations: readonly (number | null)[];
  readonly seqs: Readonly<Record<string, number>>;
  readonly allocationText: string[];
  readonly seqText: string[];
  /** The two fields' JSON, joined once. */
  readonly allocationsJson: string;
  readonly seqsJson: string;
}
const ordinalTexts = new WeakMap<AllocationBlock, OrdinalTexts>();

const allocationTextOf = (v: number | null | undefined): string => (v === null || v === undefined ? 'null' : JSON.stringify(v));
const seqTextOf = (ord: number, v: number | undefined): string => (v === undefined ? '' : `"${ord}":${JSON.stringify(v)}`);

/**
 * The ordinal texts of `b`, starting from those of `prev` and redoing only the ordinals whose
 * values differ. Undefined when `sequenceNumberForAllocation` has keys that are not ordinals of
 * the block (data some other writer made): the caller then encodes the block the ordinary way.
 */
function ordinalTextsOf(b: AllocationBlock, prev: AllocationBlock | undefined): OrdinalTexts | undefined {
  const hit = ordinalTexts.get(b);
  if (hit) return hit;
  const size = b.allocations.length;
  const seqs = b.sequenceNumberForAllocation as Readonly<Record<number, number>>;
  const base = prev && ordinalTexts.get(prev);
  const from = base && base.allocationText.length === size ? base : undefined;
  const baseSeqs = from?.seqs as Readonly<Record<number, number>> | undefined;
  const allocationText = from ? from.allocationText.slice() : new Array<string>(size).fill('null');
  const seqText = from ? from.seqText.slice() : new Array<string>(size).fill('');
  let seqCount = 0;
  for (let ord = 0; ord < size; ord++) {
    const a = b.allocations[ord];
    if (from ? from.allocations[ord] !== a : a !== null) allocationText[ord] = allocationTextOf(a);
    const v = seqs[ord];
    if (v !== undefined) {
      if (!Number.isFinite(v)) return undefined;
      seqCount++;
    }
    if (baseSeqs ? baseSeqs[ord] !== v : v !== undefined) seqText[ord] = seqTextOf(ord, v);
  }
  // Only ordinal keys, or JSON.stringify would have more to say (and in its own order).
  if (seqCount !== Object.keys(seqs).length) return undefined;
  const texts: OrdinalTexts = {
    allocations: b.allocations,
    seqs: b.sequenceNumberForAllocation,
    allocationText,
    seqText,
    allocationsJson: `[${allocationText.join(',')}]`,
    seqsJson: `{${joinSet(seqText)}}`,
  };
  ordinalTexts.set(b, texts);
  return texts;
}

function joinSet(parts: readonly string[]): string {
  let out = '';
  for (const p of parts) if (p !== '') out = out === '' ? p : `${out},${p}`;
  return out;
}

/** JSON.stringify(encodeBlock(b)); pass the version `b` was made from, if any, to save work. */
export function blockJsonText(b: AllocationBlock, prev?: AllocationBlock): string {
  const ords = ordinalTextsOf(b, prev);
  return (
    `{"cidr":${JSON.stringify(formatCIDR(b.cidr))},"affinity":${JSON.stringify(b.affinity)}` +
    (b.affinityClaimTime === undefined ? '' : `,"affinity_claim_time":${JSON.stringify(b.affinityClaimTime)}`) +
    `,"strictAffinity":${b.strictAffinity}` +
    `,"allocations":${ords ? ords.allocationsJson : JSON.stringify(b.allocations)}` +
    `,"unallocated":${JSON.stringify(b.unallocated)}` +
    `,"attributes":[${attributesText(b.attributes, prev?.attributes)}]` +
    `,"deleted":${b.deleted},"sequenceNumber":${JSON.stringify(b.sequenceNumber)}` +
    `,"sequenceNumberForAllocation":${ords ? ords.seqsJson : JSON.stringify(b.sequenceNumberForAllocation)}}`
  );
}

/** The block as a datastore write value: its JSON text, built as above. */
export function blockValue(b: AllocationBlock, prev?: AllocationBlock): JsonText {
  return new JsonText(blockJsonText(b, prev));
}
