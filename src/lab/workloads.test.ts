import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePruneKinds } from './workloads.js';

describe('lab apply --prune kinds', () => {
  it('reads KIND and APIVERSION/KIND, the API version telling the two NetworkPolicy kinds apart', () => {
    assert.deepEqual(
      parsePruneKinds('networking.k8s.io/v1/NetworkPolicy, projectcalico.org/v3/NetworkPolicy,GlobalNetworkPolicy').map((k) => `${k.apiVersion}/${k.kind}`),
      ['networking.k8s.io/v1/NetworkPolicy', 'projectcalico.org/v3/NetworkPolicy', 'projectcalico.org/v3/GlobalNetworkPolicy'],
    );
  });

  it('refuses unknown kinds, Pods and Namespaces, naming the item', () => {
    assert.throws(() => parsePruneKinds('GlobalNetworkPolicy,Widget'), /--prune GlobalNetworkPolicy,Widget: "Widget" is not a kind the lab stores/);
    assert.throws(() => parsePruneKinds('v1/Pod'), /Pods are not pruned/);
    assert.throws(() => parsePruneKinds('Namespace'), /Namespaces are not pruned/);
  });
});
