// Unit tests of the policy wiring's pure helpers: syncer updates → engine updates, the drift
// interval from FelixConfiguration, and per-rule counters from an nft listing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterUpdate } from '../client/index.js';
import type { FelixConfiguration } from '../model/index.js';
import { policyChain, workloadChain } from '../dataplane/index.js';
import { policyUpdateOf, refreshIntervalOf, ruleStats } from './policy.js';

describe('policyUpdateOf', () => {
  it('names Kubernetes NetworkPolicies by their apiVersion and namespaced objects ns/name', () => {
    const u = policyUpdateOf({ kind: 'K8sNetworkPolicy', key: '/k', name: 'deny', namespace: 'shop', revision: 3, value: undefined } as ClusterUpdate);
    assert.deepEqual(u, { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', key: 'shop/deny', value: undefined });
    const g = policyUpdateOf({ kind: 'GlobalNetworkPolicy', key: '/k', name: 'g', revision: 3, value: undefined } as ClusterUpdate);
    assert.equal(g?.key, 'g');
  });
  it('ignores kinds the engine does not read', () => {
    assert.equal(policyUpdateOf({ kind: 'BGPPeer', key: '/k', name: 'p', revision: 1, value: undefined } as ClusterUpdate), undefined);
    // Nodes and IP pools feed the VXLAN overlay let through ahead of host endpoint policy.
    assert.equal(policyUpdateOf({ kind: 'IPPool', key: '/k', name: 'p', revision: 1, value: undefined } as ClusterUpdate)?.kind, 'IPPool');
  });
});

describe('refreshIntervalOf', () => {
  const fc = (spec: Record<string, unknown>) => ({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: {}, spec }) as unknown as FelixConfiguration;
  it('takes node.<name> over default, and undefined when neither sets it', () => {
    const m = new Map([['default', fc({ nftablesRefreshInterval: '90s' })]]);
    assert.equal(refreshIntervalOf(m, 'n1'), 90_000);
    m.set('node.n1', fc({ nftablesRefreshInterval: '1m30s' }));
    assert.equal(refreshIntervalOf(m, 'n1'), 90_000);
    m.set('node.n1', fc({ nftablesRefreshInterval: '5s' }));
    assert.equal(refreshIntervalOf(m, 'n1'), 5000);
    assert.equal(refreshIntervalOf(m, 'n2'), 90_000);
    assert.equal(refreshIntervalOf(new Map(), 'n1'), undefined);
  });
});

describe('ruleStats', () => {
  const pol = policyChain('knp/shop/allow', 'i');
  const ep = workloadChain('cali123', 'i');
  const rule = (chain: string, comment: string, packets: number, bytes: number) => ({ rule: { family: 'inet', table: 'tabby', chain, comment, expr: [{ match: {} }, { counter: { packets, bytes } }, { accept: null }] } });
  const listing = JSON.stringify({
    nftables: [
      { metainfo: {} },
      { chain: { name: pol } },
      rule(pol, 'knp/shop/allow ingress 0 #aaaa1111', 3, 180),
      rule(pol, 'knp/shop/allow ingress 0 #bbbb2222', 1, 80),
      rule(pol, 'knp/shop/allow ingress 1 #cccc3333', 0, 0),
      rule(ep, 'end of tier default #dddd4444', 7, 420),
      rule('forward', 'base forward #eeee5555', 100, 1000),
    ],
  });
  const chains = new Map([
    [pol, { kind: 'policy' as const, tier: 'default', policy: 'knp/shop/allow', direction: 'ingress' as const, actions: new Map([[0, 'Allow'], [1, 'Deny']]) }],
    [ep, { kind: 'endpoint' as const, tier: '', policy: '', direction: 'ingress' as const, actions: new Map<number, string>(), endpoint: 'cali123 (shop/web)' }],
  ]);
  it('sums the nft rules of one policy rule, takes its action, and reports endpoint drops by what they are', () => {
    const s = ruleStats(listing, chains).map(({ key: _k, ...r }) => r);
    assert.deepEqual(s, [
      { tier: 'default', policy: 'knp/shop/allow', kind: 'policy', direction: 'ingress', rule: 0, action: 'Allow', packets: 4, bytes: 260 },
      { tier: 'default', policy: 'knp/shop/allow', kind: 'policy', direction: 'ingress', rule: 1, action: 'Deny', packets: 0, bytes: 0 },
      { tier: 'default', policy: '', kind: 'endpoint', direction: 'ingress', action: 'Deny', endpoint: 'cali123 (shop/web)', note: 'end of tier default', packets: 7, bytes: 420 },
    ]);
  });
});
