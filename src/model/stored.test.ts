import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR } from '../ip/index.js';
import {
  CLUSTER_INFORMATION_KEY,
  STORED,
  StoredValueError,
  affinityKey,
  blockKey,
  decodeStored,
  decodeStoredKV,
  handleKey,
  nodeKey,
  parseAffinityKey,
  parseBlockKey,
  parseHandleKey,
  podKey,
  workloadEndpointKey,
} from './index.js';

const node = (spec: unknown) => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n1', labels: { a: 'b' }, uid: 'u' }, spec });

describe('stored values', () => {
  it('decode to the typed kind, keeping the stored field order', () => {
    const n = decodeStored(STORED.Node, nodeKey('n1'), node({ bgp: { ipv4Address: '10.0.0.1/24' } }));
    assert.equal(n.spec.bgp?.ipv4Address, '10.0.0.1/24');
    assert.deepEqual(Object.keys(n.metadata), ['name', 'labels', 'uid']);
    assert.equal(JSON.stringify(n), JSON.stringify(node({ bgp: { ipv4Address: '10.0.0.1/24' } })));
  });

  it('name the key and the field of an invalid value', () => {
    assert.throws(
      () => decodeStored(STORED.Node, nodeKey('n1'), node({ bgp: { ipv4Address: 'fd00::1' } })),
      (e: unknown) => e instanceof StoredValueError && e.key === nodeKey('n1') && /nodes\/n1 is not valid: .*spec\.bgp\.ipv4Address/.test(e.message),
    );
    assert.throws(() => decodeStored(STORED.Pod, podKey('ns', 'p'), node({})), /pods\/ns\/p is not valid: expected a v1 Pod, found apiVersion "projectcalico.org\/v3" kind "Node"/);
    assert.throws(() => decodeStored(STORED.Node, nodeKey('n1'), 'text'), /expected a projectcalico.org\/v3 Node, found "text"/);
  });

  it('decode any resource key with its kind, name and namespace; IPAM keys are not resources', () => {
    const wep = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: 'n1-k8s-web-eth0', namespace: 'shop' },
      spec: { node: 'n1', orchestrator: 'k8s', pod: 'web', endpoint: 'eth0', ipNetworks: ['10.0.0.5/32'], interfaceName: 'cali0' },
    };
    const got = decodeStoredKV(workloadEndpointKey('shop', 'n1-k8s-web-eth0'), wep);
    assert.equal(got?.kind.kind, 'WorkloadEndpoint');
    assert.equal(got?.namespace, 'shop');
    assert.equal(got?.name, 'n1-k8s-web-eth0');
    assert.equal(decodeStoredKV(handleKey('h1'), { block: {} }), undefined);
    assert.equal(CLUSTER_INFORMATION_KEY, '/calico/resources/v3/projectcalico.org/clusterinformations/default');
  });

  it('spells IPAM keys as Calico does and parses them back', () => {
    const b = parseCIDR('10.244.0.64/26');
    assert.equal(blockKey(b), '/calico/ipam/v2/assignment/ipv4/block/10.244.0.64-26');
    assert.equal(affinityKey('n1', b), '/calico/ipam/v2/host/n1/ipv4/block/10.244.0.64-26');
    assert.deepEqual(parseBlockKey(blockKey(b)), b);
    assert.deepEqual(parseAffinityKey(affinityKey('n1', b)), { node: 'n1', block: b });
    assert.equal(parseHandleKey(handleKey('k8s-pod-network.abc')), 'k8s-pod-network.abc');
    assert.equal(parseBlockKey(handleKey('x')), undefined);
  });
});
