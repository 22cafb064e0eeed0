import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KVPair } from '../datastore/index.js';
import { ValidationError, kindInfo, type ResourceObject } from '../model/index.js';
import { ResourceError } from './errors.js';
import { type Prepared, planWrites, prepareDelete, prepareWrite } from './write-plan.js';

const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}): ResourceObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name, ...extra },
  spec: { cidr },
});
const KEY = (name: string) => `/calico/resources/v3/projectcalico.org/ippools/${name}`;
const opts = { now: () => new Date('2025-01-02T03:04:05.678Z'), uuid: () => 'uuid-1' };
const stored = (name: string, revision: number, meta: Record<string, unknown> = {}): KVPair => ({
  key: KEY(name),
  value: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name, uid: 'old-uid', creationTimestamp: '2020-01-01T00:00:00Z', ...meta }, spec: { cidr: '10.1.0.0/16' } },
  revision,
  createRevision: revision,
});
const none = new Map<string, KVPair>();
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('prepareWrite', () => {
  it('validates through the model and applies its defaults', () => {
    const p = prepareWrite({ resource: pool('a', '10.1.0.0/16') });
    assert.equal(p.key, KEY('a'));
    assert.equal((p.value!.spec as { blockSize: number }).blockSize, 26);
  });
  it('refuses an invalid object with the model ValidationError naming the field', () => {
    assert.throws(
      () => prepareWrite({ resource: pool('a', '10.1.0.0/33'), where: { source: 'x.yaml', document: 2 } }),
      (e: unknown) => e instanceof ValidationError && e.issues[0]!.path === 'spec.cidr' && e.issues[0]!.source === 'x.yaml' && e.issues[0]!.document === 2,
    );
  });
  it('drops resourceVersion from the value but keeps it as the expected revision', () => {
    const p = prepareWrite({ resource: pool('a', '10.1.0.0/16', { resourceVersion: '42' }) });
    assert.equal(p.expectRevision, 42);
    assert.equal(p.value!.metadata.resourceVersion, undefined);
  });
  it('refuses a resourceVersion this datastore could not have issued', () => {
    assert.equal(codeOf(() => prepareWrite({ resource: pool('a', '10.1.0.0/16', { resourceVersion: 'abc' }) })), 'Invalid');
  });
});

describe('planWrites', () => {
  const a = () => [prepareWrite({ resource: pool('a', '10.1.0.0/16') })];

  it('refuses to change an immutable field (IPPool cidr, blockSize) on apply and replace', () => {
    for (const mode of ['apply', 'replace'] as const) {
      const moved = [prepareWrite({ resource: pool('a', '10.2.0.0/16') })];
      assert.throws(
        () => planWrites(mode, moved, new Map([[KEY('a'), stored('a', 5)]]), opts),
        (e: unknown) => e instanceof ResourceError && e.code === 'Invalid' && /spec\.cidr: field is immutable: it is "10\.1\.0\.0\/16"/.test(e.message),
      );
      const resized = [prepareWrite({ resource: { ...pool('a', '10.1.0.0/16'), spec: { cidr: '10.1.0.0/16', blockSize: 28 } } })];
      assert.throws(() => planWrites(mode, resized, new Map([[KEY('a'), stored('a', 5)]]), opts), /spec\.blockSize: field is immutable: it is 26/);
      // Unchanged immutable fields (the stored object lacks the defaulted blockSize) go ahead.
      const same = [prepareWrite({ resource: { ...pool('a', '10.1.0.0/16'), spec: { cidr: '10.1.0.0/16', natOutgoing: true } } })];
      assert.equal(planWrites(mode, same, new Map([[KEY('a'), stored('a', 5)]]), opts).ops.length, 1);
    }
  });

  it('create stamps uid and creationTimestamp and never stores resourceVersion', () => {
    const p = [prepareWrite({ resource: pool('a', '10.1.0.0/16', { resourceVersion: '7', uid: 'mine' }) })];
    const plan = planWrites('create', p, none, opts);
    assert.equal(plan.ops.length, 1);
    const op = plan.ops[0]!;
    assert.equal(op.op, 'create');
    const meta = (op as unknown as { value: { metadata: Record<string, unknown> } }).value.metadata;
    assert.deepEqual([meta.uid, meta.creationTimestamp, 'resourceVersion' in meta], ['uuid-1', '2025-01-02T03:04:05Z', false]);
  });
  it('create refuses an existing resource, or skips it with skipExisting', () => {
    const cur = new Map([[KEY('a'), stored('a', 5)]]);
    assert.equal(codeOf(() => planWrites('create', a(), cur, opts)), 'AlreadyExists');
    assert.deepEqual(planWrites('create', a(), cur, { ...opts, skipExisting: true }), { ops: [], owners: [], skipped: [0] });
  });
  it('apply updates an existing resource with a compare on the revision read, keeping uid and creationTimestamp', () => {
    const plan = planWrites('apply', a(), new Map([[KEY('a'), stored('a', 5)]]), opts);
    const op = plan.ops[0] as unknown as { op: string; revision: number; value: { metadata: Record<string, unknown>; spec: { cidr: string } } };
    assert.deepEqual([op.op, op.revision, op.value.metadata.uid, op.value.metadata.creationTimestamp, op.value.spec.cidr], ['update', 5, 'old-uid', '2020-01-01T00:00:00Z', '10.1.0.0/16']);
  });
  it('replace needs the resource to exist and compares the given resourceVersion', () => {
    assert.equal(codeOf(() => planWrites('replace', a(), none, opts)), 'NotFound');
    const stale = [prepareWrite({ resource: pool('a', '10.1.0.0/16', { resourceVersion: '4' }) })];
    assert.equal(codeOf(() => planWrites('replace', stale, new Map([[KEY('a'), stored('a', 5)]]), opts)), 'Conflict');
    const fresh = [prepareWrite({ resource: pool('a', '10.1.0.0/16', { resourceVersion: '5' }) })];
    assert.equal(planWrites('replace', fresh, new Map([[KEY('a'), stored('a', 5)]]), opts).ops[0]!.op, 'update');
  });
  it('delete compares the revision, and ignoreNotFound skips missing ones', () => {
    const target = [prepareDelete({ kind: kindInfo('ippool'), name: 'a' })];
    assert.deepEqual(planWrites('delete', target, new Map([[KEY('a'), stored('a', 9)]]), opts).ops, [{ op: 'delete', key: KEY('a'), revision: 9 }]);
    assert.equal(codeOf(() => planWrites('delete', target, none, opts)), 'NotFound');
    assert.deepEqual(planWrites('delete', target, none, { ...opts, ignoreNotFound: true }).skipped, [0]);
  });
  it('refuses the same resource twice in one batch', () => {
    const twice: Prepared[] = [...a(), ...a()];
    assert.throws(() => planWrites('apply', twice, none, opts), (e: unknown) => e instanceof ResourceError && e.code === 'Invalid' && /more than once/.test(e.message));
  });
  it('lists every refusal, not just the first', () => {
    const cur = new Map([[KEY('a'), stored('a', 1)], [KEY('b'), stored('b', 1)]]);
    const both = [prepareWrite({ resource: pool('a', '10.1.0.0/16') }), prepareWrite({ resource: pool('b', '10.2.0.0/16') })];
    assert.throws(() => planWrites('create', both, cur, opts), (e: unknown) => e instanceof ResourceError && /IPPool\(a\)/.test(e.message) && /IPPool\(b\)/.test(e.message));
  });
});
