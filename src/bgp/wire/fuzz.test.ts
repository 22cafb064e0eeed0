// Mutation fuzzing (seeded, bounded): the codec decodes or throws its typed BgpDecodeError, and
// what decodes encodes again; the framer cuts or rejects a mangled stream the same way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../util/index.js';
import { BgpDecodeError, MessageFramer, fromHex, fuzzCodec, mutateMessage, type CodecContext } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const testdata = (name: string) => resolve(here, '../../../../src/bgp/wire/testdata', name);
const vectors = (JSON.parse(readFileSync(testdata('bgp-vectors.json'), 'utf8')) as { vectors: { kind: string; hex: string }[] }).vectors;
const malformed = (JSON.parse(readFileSync(testdata('malformed.json'), 'utf8')) as { cases: { via: string; hex: string }[] }).cases;

// Whole messages only: the golden vectors, and the malformed corpus (mutating broken messages
// reaches other paths than mutating good ones).
const corpus = [...vectors.filter((v) => v.kind === 'message').map((v) => fromHex(v.hex)), ...malformed.filter((c) => c.via === 'decode').map((c) => fromHex(c.hex))];
const contexts: CodecContext[] = [
  { as4: true, addPath: new Set(), extendedMessage: false },
  { as4: false, addPath: new Set(), extendedMessage: false },
  { as4: true, addPath: new Set(['1/1', '2/1']), extendedMessage: true },
  { as4: true, addPath: new Set(), extendedMessage: false, external: true },
];

describe('codec fuzzing', () => {
  it('50000 mutated messages: only typed decode errors, and every decoded message re-encodes', () => {
    const report = fuzzCodec({ seed: 0x7ab, runs: 50000, corpus, contexts });
    assert.equal(report.runs, 50000);
    // The mutations must reach the deep paths, not just bounce off the header.
    assert.ok(report.decoded > 5000, `decoded ${report.decoded}`);
    assert.ok(report.withIssues > 500, `UPDATEs with RFC 7606 issues: ${report.withIssues}`);
    const kinds = [...report.errors.keys()];
    for (const k of ['1/2 session-reset', '3/1 session-reset', '3/10 session-reset', '2/0 session-reset']) assert.ok(kinds.includes(k), `reached ${k} (got ${kinds.join(', ')})`);
  });

  it('a mangled stream through the framer: messages or a header error, nothing else', () => {
    const rng = mulberry32(99);
    for (let trial = 0; trial < 2000; trial++) {
      const parts = Array.from({ length: 1 + (rng() % 6) }, () => {
        const m = corpus[rng() % corpus.length]!;
        return rng() % 3 === 0 ? mutateMessage(m, rng) : m;
      });
      const stream = Buffer.concat(parts);
      const framer = new MessageFramer();
      try {
        for (let p = 0; p < stream.length; ) {
          const n = 1 + (rng() % 64);
          for (const msg of framer.push(stream.subarray(p, p + n))) assert.ok(msg.length >= 19 && msg.length <= 4096);
          p += n;
        }
      } catch (e) {
        assert.ok(e instanceof BgpDecodeError && e.notification.code === 1, `trial ${trial}: ${String(e)}`);
      }
    }
  });
});
