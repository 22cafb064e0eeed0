// A block's stored JSON text, built without re-encoding what has not changed.
//
// Every allocation rewrites its whole block (~11 KB for a full /26 with Kubernetes handle ids
// and pod attributes), and encoding that object afresh each time costs more CPU than the rest of
// the allocation put together. Attribute records are immutable and shared between a block and
// the next version of it (see block.ts), so each record's JSON text is remembered per record
// object; only the small per-block fields (allocations, free list, sequence numbers) are encoded
// on each write. The result is byte for byte `JSON.stringify(encodeBlock(b))` (tested), so a
// block written either way reads back the same.

import { JsonText } from '../../datastore/datastore.js';
import { type AllocationAttribute, type AllocationBlock, encodeAttribute, encodeBlock } from './block.js';

const attributeText = new WeakMap<AllocationAttribute, string>();

function textOf(a: AllocationAttribute): string {
  let t = attributeText.get(a);
  if (t === undefined) {
    t = JSON.stringify(encodeAttribute(a));
    attributeText.set(a, t);
  }
  return t;
}

// With no attributes the encoded block carries `"attributes":[]`; JSON escapes every quote
// inside strings, so this exact text can only be that key, and every field encoded before it
// is a string, a boolean or an array of numbers.
const EMPTY_ATTRIBUTES = '"attributes":[]';

export function blockJsonText(b: AllocationBlock): string {
  const head = JSON.stringify(encodeBlock({ ...b, attributes: [] }));
  if (b.attributes.length === 0) return head;
  const at = head.indexOf(EMPTY_ATTRIBUTES);
  return `${head.slice(0, at)}"attributes":[${b.attributes.map(textOf).join(',')}]${head.slice(at + EMPTY_ATTRIBUTES.length)}`;
}

/** The block as a datastore write value: its JSON text, built as above. */
export function blockValue(b: AllocationBlock): JsonText {
  return new JsonText(blockJsonText(b));
}
