// The lab's workload controllers (pure): names, labels, owners, scaling, per-node and run-once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWorkload, planWorkloadPods, templateHash } from './controllers.js';

const deployment = (replicas: number, image = 'v1', extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' }, annotations: { 'cni.projectcalico.org/ipv4pools': '["blue"]' } }, spec: { containers: [{ name: 'c', image, ports: [{ containerPort: 80 }] }] } },
    ...extra,
  },
});
let n = 0;
const suffix = () => ['bcdfg', 'hjklm', 'npqrs', 'tvwxz', '24567'][n++ % 5]!;

describe('lab workload controllers', () => {
  it('names a Deployment\'s pods <deploy>-<pod-template-hash>-<5>, with template labels, annotations and owner', () => {
    const w = parseWorkload(deployment(2), 'd.yaml', 'uid-1');
    const plan = planWorkloadPods(w, [], ['node-1', 'node-2'], suffix);
    assert.equal(plan.create.length, 2);
    const hash = templateHash(w.template);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    const pod = plan.create[0] as { metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: { kind: string; name: string; uid: string; controller: boolean }[] } };
    assert.match(pod.metadata.name, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    assert.deepEqual(pod.metadata.labels, { app: 'web', 'pod-template-hash': hash });
    assert.deepEqual(pod.metadata.annotations, { 'cni.projectcalico.org/ipv4pools': '["blue"]' });
    assert.deepEqual(pod.metadata.ownerReferences.map((r) => [r.kind, r.name, r.uid, r.controller]), [['Deployment', 'web', 'uid-1', true]]);
    assert.equal(pod.metadata.namespace, 'shop');
  });

  it('scales a Deployment up and down, and replaces the pods of an older template', () => {
    const w = parseWorkload(deployment(3), 'd.yaml', 'u');
    const hash = templateHash(w.template);
    const running = [`web-${hash}-aaaaa`, `web-${hash}-bbbbb`].map((name) => ({ name, node: 'node-1' }));
    assert.equal(planWorkloadPods(w, running, ['node-1'], suffix).create.length, 1);
    const down = planWorkloadPods(parseWorkload(deployment(1), 'd.yaml', 'u'), running, ['node-1'], suffix);
    assert.deepEqual([down.create.length, down.remove], [0, [`web-${hash}-bbbbb`]]);
    const v2 = parseWorkload(deployment(2, 'v2'), 'd.yaml', 'u');
    const rolled = planWorkloadPods(v2, running, ['node-1'], suffix);
    assert.notEqual(templateHash(v2.template), hash);
    assert.deepEqual([rolled.create.length, rolled.remove.sort()], [2, running.map((p) => p.name).sort()]);
  });

  it('gives a StatefulSet ordinals, a DaemonSet one pod per node, and runs a Job once', () => {
    const sts = parseWorkload({ ...deployment(3), kind: 'StatefulSet', metadata: { name: 'db' } }, 's.yaml', 'u');
    assert.deepEqual(planWorkloadPods(sts, [{ name: 'db-0', node: 'n' }], ['n'], suffix).create.map((p) => (p.metadata as { name: string }).name), ['db-1', 'db-2']);
    assert.deepEqual(planWorkloadPods(parseWorkload({ ...deployment(1), kind: 'StatefulSet', metadata: { name: 'db' } }, 's', 'u'), [{ name: 'db-0', node: 'n' }, { name: 'db-1', node: 'n' }], ['n'], suffix).remove, ['db-1']);
    const ds = parseWorkload({ ...deployment(1), kind: 'DaemonSet', metadata: { name: 'agent' } }, 'ds.yaml', 'u');
    const perNode = planWorkloadPods(ds, [{ name: 'agent-xxxxx', node: 'node-2' }], ['node-1', 'node-2', 'node-3'], suffix);
    assert.deepEqual(perNode.create.map((p) => (p.spec as { nodeName: string }).nodeName), ['node-1', 'node-3']);
    const job = parseWorkload({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once' }, spec: { template: { spec: { containers: [{ name: 'c' }] } } } }, 'j.yaml', 'u');
    assert.equal(planWorkloadPods(job, [], ['n'], suffix).create.length, 1);
    assert.equal(planWorkloadPods(job, [{ name: 'once-abcde', node: 'n' }], ['n'], suffix).create.length, 0);
  });

  it('refuses what Kubernetes refuses, naming where', () => {
    assert.throws(() => parseWorkload({ ...deployment(1), spec: { ...deployment(1).spec, selector: { matchLabels: { app: 'other' } } } }, 'd.yaml document 1', 'u'), /d\.yaml document 1: spec\.selector does not match the template's labels: app=other/);
    assert.throws(() => parseWorkload({ ...deployment(1), spec: { ...deployment(1).spec, replicas: -1 } }, 'd.yaml', 'u'), /spec\.replicas must be a whole number/);
    assert.throws(() => parseWorkload({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} }, 'd.yaml', 'u'), /spec\.template\.spec\.containers is required/);
  });
});
