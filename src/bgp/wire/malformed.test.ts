// The malformed-message corpus (testdata/malformed.json): one complete message per error case of
// RFC 4271 §6 and RFC 7606, each with the NOTIFICATION or RFC 7606 disposition the codec must
// produce. The same file serves the session tests (it is plain data, sendable on a live
// session).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatCIDR } from '../../ip/index.js';
import { BgpDecodeError, MessageFramer, decodeMessage, fromHex, toHex, updateRoutes, type AfiSafiKey, type CodecContext } from './index.js';

interface Case {
  id: string;
  rfc: string;
  what: string;
  via: 'decode' | 'framer';
  ctx: { as4: boolean; external?: boolean; extendedMessage?: boolean; addPath?: AfiSafiKey[] };
  hex: string;
  expect: {
    error?: { code: number; subcode: number; data: string; disposition: string; afi?: number; safi?: number };
    update?: { treatAsWithdraw: boolean; issues: { disposition: string; code: number; subcode: number; data: string; attributeCode?: number }[]; withdrawnRoutes?: string[] };
    decodes?: string;
    fsm?: { code: number; subcode: number; note: string };
  };
}

const file = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../src/bgp/wire/testdata/malformed.json');
const corpus = JSON.parse(readFileSync(file, 'utf8')) as { cases: Case[] };

const ctxOf = (c: Case): CodecContext => ({
  as4: c.ctx.as4,
  addPath: new Set(c.ctx.addPath ?? []),
  extendedMessage: c.ctx.extendedMessage ?? false,
  ...(c.ctx.external ? { external: true } : {}),
});

function run(c: Case) {
  const bytes = fromHex(c.hex);
  if (c.via === 'framer') return new MessageFramer({ extendedMessage: c.ctx.extendedMessage ?? false }).push(bytes);
  return decodeMessage(bytes, ctxOf(c));
}

describe('malformed-message corpus', () => {
  it('covers the RFC 4271 §6.1-6.3 and RFC 7606 error kinds', () => {
    const errors = new Set(corpus.cases.flatMap((c) => (c.expect.error ? [`${c.expect.error.code}/${c.expect.error.subcode}`] : [])));
    for (const k of ['1/1', '1/2', '1/3', '2/0', '2/1', '2/3', '2/4', '2/6', '3/1', '3/2', '3/9', '3/10', '7/1']) assert.ok(errors.has(k), `a case ends in NOTIFICATION ${k}`);
    const issues = new Set(corpus.cases.flatMap((c) => c.expect.update?.issues.map((i) => `${i.disposition} ${i.subcode}`) ?? []));
    for (const k of ['treat-as-withdraw 1', 'treat-as-withdraw 3', 'treat-as-withdraw 4', 'treat-as-withdraw 5', 'treat-as-withdraw 6', 'treat-as-withdraw 11', 'attribute-discard 4', 'attribute-discard 5']) {
      assert.ok(issues.has(k), `a case is ${k}`);
    }
    const fsm = new Set(corpus.cases.flatMap((c) => (c.expect.fsm ? [`${c.expect.fsm.code}/${c.expect.fsm.subcode}`] : [])));
    for (const k of ['2/2', '2/3', '2/7', '5/1']) assert.ok(fsm.has(k), `an FSM-level case names ${k}`);
  });

  for (const c of corpus.cases) {
    it(`${c.id}: ${c.what} (${c.rfc})`, () => {
      const e = c.expect;
      if (e.error) {
        const want = e.error;
        assert.throws(
          () => run(c),
          (err: unknown) => {
            assert.ok(err instanceof BgpDecodeError, `threw ${String(err)}`);
            assert.deepEqual(
              { code: err.notification.code, subcode: err.notification.subcode, data: toHex(err.notification.data), disposition: err.disposition },
              { code: want.code, subcode: want.subcode, data: want.data, disposition: want.disposition },
            );
            if (want.afi !== undefined) assert.deepEqual(err.afiSafi, { afi: want.afi, safi: want.safi });
            return true;
          },
        );
        return;
      }
      const m = decodeMessage(fromHex(c.hex), ctxOf(c));
      if (e.decodes) {
        assert.equal(m.type, e.decodes);
        return;
      }
      assert.ok(e.update && m.type === 'UPDATE');
      assert.equal(m.treatAsWithdraw === true, e.update.treatAsWithdraw, JSON.stringify(m.issues?.map((i) => i.reason)));
      assert.deepEqual(
        (m.issues ?? []).map((i) => ({ disposition: i.disposition, code: i.notification.code, subcode: i.notification.subcode, data: toHex(i.notification.data), ...(i.attributeCode !== undefined ? { attributeCode: i.attributeCode } : {}) })),
        e.update.issues,
      );
      for (const i of m.issues ?? []) assert.ok(i.reason.length > 10, 'every issue says what was wrong');
      const routes = updateRoutes(m);
      if (m.treatAsWithdraw) assert.deepEqual(routes.announce, [], 'treat-as-withdraw announces nothing');
      if (e.update.withdrawnRoutes) assert.deepEqual(routes.withdraw.flatMap((f) => f.nlri.map((n) => formatCIDR(n.prefix))), e.update.withdrawnRoutes);
    });
  }
});
