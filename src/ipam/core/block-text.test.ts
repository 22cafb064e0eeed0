import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR } from '../../ip/index.js';
import { mulberry32 } from '../../util/random.js';
import { type AllocationBlock, assignFromBlock, decodeBlock, encodeBlock, newBlock, releaseFromBlock, withAffinity } from './block.js';
import { blockJsonText, blockPieces, blockTextBytes } from './block-text.js';

const now = new Date('2024-05-01T00:00:00Z');

/** Blocks after a seeded random walk of assignments and releases, IPv4 and IPv6, owned or not. */
function* walks(): Generator<AllocationBlock> {
  for (const [cidr, seed] of [['10.0.0.0/26', 1], ['fd00::/122', 2], ['10.1.0.0/30', 3]] as const) {
    const next = mulberry32(seed);
    let b = newBlock(parseCIDR(cidr), seed === 3 ? null : 'node-"a"\\b', now);
    yield b;
    for (let step = 0; step < 150; step++) {
      const r = next() / 2 ** 32;
      if (r < 0.6) {
        b = assignFromBlock(b, 1 + Math.floor(next() % 3), `h-${step % 7}`, step % 5 === 0 ? {} : { pod: `p${step}`, namespace: 'ns', note: 'quote " and \\ and é' }).block;
      } else if (r < 0.95) {
        const held = b.allocations.flatMap((a, ord) => (a === null ? [] : [ord]));
        if (held.length > 0) b = releaseFromBlock(b, [{ ordinal: held[next() % held.length]! }]).block;
      } else {
        b = withAffinity(b, step % 2 ? null : 'node-b', now);
      }
      yield b;
    }
  }
}

describe('blockJsonText', () => {
  it('is byte for byte JSON.stringify(encodeBlock(b)) over random assignment/release walks', () => {
    let n = 0;
    let prev: AllocationBlock | undefined;
    for (const b of walks()) {
      // Every other version is encoded from its predecessor's remembered texts, the rest afresh.
      const text = n % 2 === 0 ? blockJsonText(b, prev) : blockJsonText(b);
      prev = b;
      assert.equal(text, JSON.stringify(encodeBlock(b)));
      assert.equal(blockJsonText(b), text, 'stable when encoded again');
      assert.equal(blockPieces(b).ascii, !/[^\x00-\x7f]/.test(text), 'says ASCII exactly when it is');
      const size = Buffer.byteLength(text);
      assert.ok(blockPieces(b).ascii ? blockTextBytes(b) === size : blockTextBytes(b) >= size, 'sized exactly, or from above');
      assert.deepEqual(decodeBlock(JSON.parse(text), 'k'), decodeBlock(encodeBlock(b), 'k'));
      n++;
    }
    assert.ok(n > 400);
  });

  it('encodes blocks other writers made: sequence keys that are not ordinals, claim times, no owner', () => {
    const base = newBlock(parseCIDR('10.2.0.0/30'), 'node-a', now);
    const odd: AllocationBlock = { ...assignFromBlock(base, 2, 'h', { pod: 'p' }).block, sequenceNumberForAllocation: { '1': 5, '0': 4, extra: 9, '07': 1 } };
    const unowned: AllocationBlock = { ...withAffinity(base, null, now), strictAffinity: true, deleted: true };
    const foreign: AllocationBlock = { ...odd, sequenceNumberForAllocation: { ...odd.sequenceNumberForAllocation, 'é': 3 } };
    for (const b of [odd, unowned, foreign]) {
      assert.equal(blockPieces(b).ascii, b !== foreign);
      assert.equal(blockJsonText(b), JSON.stringify(encodeBlock(b)));
      assert.equal(blockJsonText(b, base), JSON.stringify(encodeBlock(b)));
    }
  });
});
