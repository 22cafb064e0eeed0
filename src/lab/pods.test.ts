import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podWorkload, schedulePods } from './pods.js';

const pod = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c' }], ...extra } });

describe('pod workload', () => {
  it('reads ports with TCP as the default protocol and "default" as the default namespace', () => {
    const w = podWorkload(pod('web', { containers: [{ name: 'c', ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP', name: 'dns' }] }] }));
    assert.deepEqual(w, { namespace: 'default', name: 'web', ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP', name: 'dns' }] });
  });

  it('names the pod and the field when a port is wrong', () => {
    const bad = { ...pod('web'), metadata: { name: 'web', namespace: 'x' }, spec: { containers: [{ name: 'c' }, { name: 'd', ports: [{ containerPort: 70000 }] }] } };
    assert.throws(() => podWorkload(bad, 'pods.yaml document 2'), /pods\.yaml document 2 x\/web: spec\.containers\[1\]\.ports\[0\]\.containerPort must be a port number/);
    assert.throws(() => podWorkload(pod('w', { containers: [{ ports: [{ containerPort: 1, protocol: 'ICMP' }] }] })), /protocol must be TCP, UDP or SCTP/);
  });
});

describe('scheduling', () => {
  const w = (name: string, nodeName?: string) => ({ namespace: 'default', name, ports: [], ...(nodeName ? { nodeName } : {}) });

  it('honours spec.nodeName and fills the least-loaded node, earlier nodes first', () => {
    const placed = schedulePods([w('a'), w('b', 'node-1'), w('c'), w('d'), w('e')], ['node-1', 'node-2', 'node-3'], new Map([['node-3', 1]]));
    assert.deepEqual(placed, ['node-1', 'node-1', 'node-2', 'node-2', 'node-3']);
  });

  it('rejects a nodeName the lab does not have', () => {
    assert.throws(() => schedulePods([w('a', 'node-9')], ['node-1'], new Map()), /spec\.nodeName "node-9" is not a node of this lab \(nodes: node-1\)/);
  });
});
