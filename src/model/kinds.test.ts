// The kind registry and datastore key layout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KINDS, kindInfo, kindsWithoutModel, lookupKind, parseResourceKey, resourceKey, resourceListPrefix } from './index.js';

describe('kind registry', () => {
  it('answers to calicoctl\'s names and short names', () => {
    for (const n of ['IPPool', 'ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools', 'IPPOOLS', 'ippools.projectcalico.org']) {
      assert.equal(kindInfo(n).kind, 'IPPool', n);
    }
    const expected: Record<string, string> = {
      gnp: 'GlobalNetworkPolicy',
      np: 'NetworkPolicy',
      policy: 'NetworkPolicy',
      pol: 'NetworkPolicy',
      hep: 'HostEndpoint',
      wep: 'WorkloadEndpoint',
      bgpconfig: 'BGPConfiguration',
      bp: 'BGPPeer',
      bf: 'BGPFilter',
      felixconfig: 'FelixConfiguration',
      kubecontrollersconfig: 'KubeControllersConfiguration',
      clusterinfo: 'ClusterInformation',
      ipamconfig: 'IPAMConfiguration',
      reservation: 'IPReservation',
      gnetsets: 'GlobalNetworkSet',
      gns: 'GlobalNetworkSet',
      netsets: 'NetworkSet',
      netset: 'NetworkSet',
      no: 'Node',
      pro: 'Profile',
      tiers: 'Tier',
      sgnp: 'StagedGlobalNetworkPolicy',
      snp: 'StagedNetworkPolicy',
      sknp: 'StagedKubernetesNetworkPolicy',
      ns: 'Namespace',
      po: 'Pod',
    };
    for (const [alias, kind] of Object.entries(expected)) assert.equal(kindInfo(alias).kind, kind, alias);
    assert.equal(kindInfo('knp').apiVersion, 'networking.k8s.io/v1');
  });

  it('tells the two NetworkPolicies apart by apiVersion or qualified name', () => {
    assert.equal(kindInfo('networkpolicy').apiVersion, 'projectcalico.org/v3');
    assert.equal(kindInfo('NetworkPolicy', 'networking.k8s.io/v1').apiVersion, 'networking.k8s.io/v1');
    assert.equal(kindInfo('networkpolicies.networking.k8s.io').apiVersion, 'networking.k8s.io/v1');
    assert.equal(kindInfo('netpol').apiVersion, 'networking.k8s.io/v1');
    assert.equal(kindInfo('NetworkPolicy', 'crd.projectcalico.org/v1').apiVersion, 'projectcalico.org/v3');
  });

  it('refuses unknown names with the list of known ones', () => {
    assert.throws(() => kindInfo('ippoool'), (e: Error & { code?: string }) => e.code === 'UnknownKind' && /known types: IPPool/.test(e.message));
    assert.throws(() => kindInfo('Pod', 'projectcalico.org/v3'), /known kinds: IPPool/);
    assert.equal(lookupKind('nothing'), undefined);
  });

  it('has a schema for every kind and unique (apiVersion, kind) pairs', () => {
    assert.deepEqual(kindsWithoutModel(), []);
    const ids = KINDS.map((k) => `${k.apiVersion}/${k.kind}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('scopes the namespaced kinds as Calico does', () => {
    const namespaced = KINDS.filter((k) => k.namespaced).map((k) => `${k.apiVersion} ${k.kind}`).sort();
    assert.deepEqual(namespaced, [
      'networking.k8s.io/v1 NetworkPolicy',
      'projectcalico.org/v3 NetworkPolicy',
      'projectcalico.org/v3 NetworkSet',
      'projectcalico.org/v3 StagedKubernetesNetworkPolicy',
      'projectcalico.org/v3 StagedNetworkPolicy',
      'projectcalico.org/v3 WorkloadEndpoint',
      'v1 Pod',
    ]);
  });
});

describe('datastore keys', () => {
  it('follow Calico\'s etcd layout for Calico kinds', () => {
    assert.equal(resourceKey(kindInfo('ippool'), undefined, 'default-ipv4-ippool'), '/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool');
    assert.equal(resourceKey(kindInfo('np'), 'prod', 'allow'), '/calico/resources/v3/projectcalico.org/networkpolicies/prod/allow');
    assert.equal(resourceKey(kindInfo('wep'), 'default', 'n-k8s-p-eth0'), '/calico/resources/v3/projectcalico.org/workloadendpoints/default/n-k8s-p-eth0');
    assert.equal(resourceKey(kindInfo('felixconfig'), undefined, 'default'), '/calico/resources/v3/projectcalico.org/felixconfigurations/default');
  });
  it('use /tabby/k8s/<group-or-core>/<plural>/ for the Kubernetes kinds', () => {
    assert.equal(resourceKey(kindInfo('pod'), 'default', 'web'), '/tabby/k8s/core/pods/default/web');
    assert.equal(resourceKey(kindInfo('ns'), undefined, 'default'), '/tabby/k8s/core/namespaces/default');
    assert.equal(resourceKey(kindInfo('netpol'), 'default', 'deny'), '/tabby/k8s/networking.k8s.io/networkpolicies/default/deny');
  });
  it('need a namespace exactly for namespaced kinds', () => {
    assert.throws(() => resourceKey(kindInfo('np'), undefined, 'a'), { code: 'InvalidKey' });
    assert.throws(() => resourceKey(kindInfo('ippool'), 'ns', 'a'), /cluster-scoped/);
    assert.throws(() => resourceKey(kindInfo('ippool'), undefined, 'a/b'), /no "\/"/);
  });
  it('parse back into kind, namespace and name', () => {
    for (const k of KINDS) {
      const key = resourceKey(k, k.namespaced ? 'ns1' : undefined, 'obj.1');
      const parsed = parseResourceKey(key);
      assert.equal(parsed?.kind, k, key);
      assert.equal(parsed?.name, 'obj.1');
      assert.equal(parsed?.namespace, k.namespaced ? 'ns1' : undefined);
    }
    assert.equal(parseResourceKey('/calico/ipam/v2/handle/x'), undefined);
    assert.equal(parseResourceKey('/calico/resources/v3/projectcalico.org/networkpolicies/only-name'), undefined);
  });
  it('list by kind or namespace', () => {
    assert.equal(resourceListPrefix(kindInfo('np'), 'prod'), '/calico/resources/v3/projectcalico.org/networkpolicies/prod/');
    assert.equal(resourceListPrefix(kindInfo('gnp')), '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/');
    assert.throws(() => resourceListPrefix(kindInfo('gnp'), 'x'), /cluster-scoped/);
  });
});
