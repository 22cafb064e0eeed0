// A seeded, bounded mutation fuzzer for the codec: it takes valid messages, breaks them the ways
// a bad peer or a bad link would (bit flips, truncation, garbage appended, length fields
// rewritten, slices repeated), and checks that decoding either succeeds or throws
// BgpDecodeError with a NOTIFICATION, never anything else, and that whatever decodes also
// encodes again. Pure: the caller passes the seed and the corpus, so a failure replays exactly.
// `mutateMessage` is exported for fuzzing a live session with the same mutations.

import { mulberry32 } from '../../util/index.js';
import { toHex } from './bytes.js';
import { decodeMessage, encodeMessage } from './message.js';
import { BgpDecodeError, BgpEncodeError, type CodecContext } from './types.js';

type Rng = () => number;

/** Rewrite the header's Length field to the message's real length (so decoding goes past it). */
function fixLength(b: Uint8Array): Uint8Array {
  if (b.length >= 18) {
    b[16] = (b.length >>> 8) & 0xff;
    b[17] = b.length & 0xff;
  }
  return b;
}

/** One to three random mutations of `msg` (a copy; the input is left alone). */
export function mutateMessage(msg: Uint8Array, rng: Rng): Uint8Array {
  let b: Uint8Array = msg.slice();
  const rounds = 1 + (rng() % 3);
  for (let i = 0; i < rounds; i++) {
    const at = b.length > 19 ? 19 + (rng() % (b.length - 19)) : rng() % Math.max(1, b.length);
    switch (rng() % 8) {
      case 0: // flip a bit in the body
        if (b.length > 0) b[at] = b[at]! ^ (1 << (rng() % 8));
        break;
      case 1: // an extreme byte
        if (b.length > 0) b[at] = [0, 0xff, 0x80, 0x7f, rng() & 0xff][rng() % 5]!;
        break;
      case 2: // truncate, keeping the header honest
        b = fixLength(b.slice(0, Math.max(19, at)));
        break;
      case 3: {
        // append garbage
        const extra = Uint8Array.from({ length: 1 + (rng() % 40) }, () => rng() & 0xff);
        const n = new Uint8Array(b.length + extra.length);
        n.set(b);
        n.set(extra, b.length);
        b = fixLength(n);
        break;
      }
      case 4: // rewrite a 2-octet field (lengths live in such fields)
        if (at + 1 < b.length) {
          const v = [0, 1, 0xff, 0xffff, rng() & 0xffff][rng() % 5]!;
          b[at] = v >>> 8;
          b[at + 1] = v & 0xff;
        }
        break;
      case 5: {
        // repeat a slice (duplicate attributes, prefixes)
        const len = 1 + (rng() % Math.min(16, Math.max(1, b.length - at)));
        const piece = b.slice(at, at + len);
        const n = new Uint8Array(b.length + piece.length);
        n.set(b.subarray(0, at + len));
        n.set(piece, at + len);
        n.set(b.subarray(at + len), at + len + piece.length);
        b = fixLength(n);
        break;
      }
      case 6: // a one-octet length field set just past what follows
        if (b.length > 0) b[at] = Math.min(255, b.length - at + (rng() % 3));
        break;
      default: // damage the header now and then
        if (b.length >= 19) b[16 + (rng() % 3)] = rng() & 0xff;
        break;
    }
  }
  return b;
}

export interface FuzzReport {
  readonly runs: number;
  readonly decoded: number;
  readonly withIssues: number;
  /** Decode errors by "code/subcode disposition". */
  readonly errors: ReadonlyMap<string, number>;
}

/** Thrown when the codec misbehaves; carries the input that did it. */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
  constructor(readonly input: Uint8Array, readonly ctx: CodecContext, override readonly cause: unknown) {
    super(`codec threw ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)} for ${toHex(input)}`);
  }
}

export function fuzzCodec(opts: { seed: number; runs: number; corpus: readonly Uint8Array[]; contexts: readonly CodecContext[] }): FuzzReport {
  const rng = mulberry32(opts.seed);
  const errors = new Map<string, number>();
  let decoded = 0;
  let withIssues = 0;
  for (let i = 0; i < opts.runs; i++) {
    const input = mutateMessage(opts.corpus[rng() % opts.corpus.length]!, rng);
    const ctx = opts.contexts[rng() % opts.contexts.length]!;
    let msg;
    try {
      msg = decodeMessage(input, ctx);
    } catch (e) {
      if (!(e instanceof BgpDecodeError) || e.notification.code < 1 || e.notification.code > 7) throw new FuzzFailure(input, ctx, e);
      const key = `${e.notification.code}/${e.notification.subcode} ${e.disposition}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
      continue;
    }
    decoded++;
    if (msg.type === 'UPDATE' && msg.issues) withIssues++;
    try {
      encodeMessage(msg, ctx);
    } catch (e) {
      // A decoded message may be legitimately unsendable as is (e.g. too large after our
      // canonical re-spelling); anything but a typed encode error is a bug.
      if (!(e instanceof BgpEncodeError)) throw new FuzzFailure(input, ctx, e);
    }
  }
  return { runs: opts.runs, decoded, withIssues, errors };
}
