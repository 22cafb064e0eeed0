// A block's stored JSON text, built without re-encoding what has not changed.
//
// Every allocation rewrites its whole block (~11 KB for a full /26 with Kubernetes handle ids
// and pod attributes), and encoding that object afresh each time cost more CPU than the rest of
// the allocation put together. A new version of a block differs from the one it was made from in
// a few ordinals (and, for a new pod, one appended attribute record), so:
// - each attribute record's text is remembered per record object (records are immutable and
//   shared between versions, see block.ts), and the joined list under its last record;
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

// The joined text of an attribute list, remembered under the list's last record together with
// the list it was built from; a list that extends a remembered one by a record costs one
// concatenation. Lists are compared record by record by identity, so a hit is exact.
interface JoinedAttributes {
  readonly attrs: readonly AllocationAttribute[];
  readonly text: string;
}
const joinedByLast = new WeakMap<AllocationAttribute, JoinedAttributes>();

function samePrefix(cached: readonly AllocationAttribute[], attrs: readonly AllocationAttribute[], n: number): boolean {
  if (cached.length !== n) return false;
  for (let i = 0; i < n; i++) if (cached[i] !== attrs[i]) return false;
  return true;
}

function attributesText(attrs: readonly AllocationAttribute[]): string {
  const n = attrs.length;
  if (n === 0) return '';
  const last = attrs[n - 1]!;
  const hit = joinedByLast.get(last);
  if (hit && samePrefix(hit.attrs, attrs, n)) return hit.text;
  const prev = n > 1 ? joinedByLast.get(attrs[n - 2]!) : undefined;
  const text = prev && samePrefix(prev.attrs, attrs, n - 1) ? `${prev.text},${textOf(last)}` : attrs.map(textOf).join(',');
  joinedByLast.set(last, { attrs, text });
  return text;
}

/** Per-ordinal texts of one block version: `allocations[ord]`, and `"ord":seq` or '' when unset. */
interface OrdinalTexts {
  readonly allocations: readonly (number | null)[];
  readonly seqs: Readonly<Record<string, number>>;
  readonly allocationText: string[];
  readonly seqText: string[];
}
const ordinalTexts = new WeakMap<AllocationBlock, OrdinalTexts>();

const allocationTextOf = (v: number | null | undefined): string => (v === null || v === undefined ? 'null' : JSON.stringify(v));
const seqTextOf = (ord: number, v: number | undefined): string => (v === undefined ? '' : `"${ord}":${JSON.stringify(v)}`);

/**
 * The ordinal texts of `b`, reusing those of `prev` where the values are the same. Undefined when
 * `sequenceNumberForAllocation` has keys that are not ordinals of the block (data some other
 * writer made): the caller then encodes that field the ordinary way.
 */
function ordinalTextsOf(b: AllocationBlock, prev: AllocationBlock | undefined): OrdinalTexts | undefined {
  const hit = ordinalTexts.get(b);
  if (hit) return hit;
  const size = b.allocations.length;
  const base = prev && ordinalTexts.get(prev);
  const usable = base && base.allocationText.length === size ? base : undefined;
  const allocationText = new Array<string>(size);
  const seqText = new Array<string>(size);
  let seqCount = 0;
  for (let ord = 0; ord < size; ord++) {
    const a = b.allocations[ord];
    allocationText[ord] = usable && usable.allocations[ord] === a ? usable.allocationText[ord]! : allocationTextOf(a);
    const s = b.sequenceNumberForAllocation[ord];
    if (s !== undefined) {
      if (!Number.isFinite(s)) return undefined;
      seqCount++;
    }
    seqText[ord] = usable && usable.seqs[ord] === s ? usable.seqText[ord]! : seqTextOf(ord, s);
  }
  // Only ordinal keys, or JSON.stringify would have more to say (and in its own order).
  if (seqCount !== Object.keys(b.sequenceNumberForAllocation).length) return undefined;
  const texts = { allocations: b.allocations, seqs: b.sequenceNumberForAllocation, allocationText, seqText };
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
    `,"allocations":${ords ? `[${ords.allocationText.join(',')}]` : JSON.stringify(b.allocations)}` +
    `,"unallocated":${JSON.stringify(b.unallocated)}` +
    `,"attributes":[${attributesText(b.attributes)}]` +
    `,"deleted":${b.deleted},"sequenceNumber":${JSON.stringify(b.sequenceNumber)}` +
    `,"sequenceNumberForAllocation":${ords ? `{${joinSet(ords.seqText)}}` : JSON.stringify(b.sequenceNumberForAllocation)}}`
  );
}

/** The block as a datastore write value: its JSON text, built as above. */
export function blockValue(b: AllocationBlock, prev?: AllocationBlock): JsonText {
  return new JsonText(blockJsonText(b, prev));
}
