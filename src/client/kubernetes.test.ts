// Kubernetes kinds through the client: stored under /tabby/k8s/..., with their Calico
// conversions written, updated and deleted in the same transaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { kindInfo, type ResourceObject } from '../model/index.js';
import { ResourceClient } from './client.js';

const NS_KEY = '/tabby/k8s/core/namespaces/prod';
const PROFILE_KEY = '/calico/resources/v3/projectcalico.org/profiles/kns.prod';
const KNP_KEY = '/tabby/k8s/networking.k8s.io/networkpolicies/prod/web-only';
const CALICO_NP_KEY = '/calico/resources/v3/projectcalico.org/networkpolicies/prod/knp.default.web-only';

const namespace = (labels: Record<string, string>): ResourceObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels } });
const knp: ResourceObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web-only', namespace: 'prod' },
  spec: {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'lb' } } }], ports: [{ port: 80 }] }],
  },
};

describe('Kubernetes kinds and their Calico conversions', () => {
  it('a Namespace brings Profile kns.<ns> in the same transaction, and takes it when deleted', async () => {
    const ds = new MemoryDatastore();
    const client = new ResourceClient(ds, { skipBootstrap: true });
    await client.apply(namespace({ team: 'a' }));
    const [ns, profile] = [(await ds.get(NS_KEY))!, (await ds.get(PROFILE_KEY))!];
    assert.equal(ns.revision, profile.revision);
    const spec = (profile.value as { spec: { labelsToApply: Record<string, string> } }).spec;
    assert.deepEqual(spec.labelsToApply, { 'pcns.kubernetes.io/metadata.name': 'prod', 'pcns.team': 'a', 'pcns.projectcalico.org/name': 'prod' });
    await client.apply(namespace({ team: 'b' }));
    assert.equal(((await ds.get(PROFILE_KEY))!.value as { spec: { labelsToApply: Record<string, string> } }).spec.labelsToApply['pcns.team'], 'b');
    await client.delete('namespace', undefined, 'prod');
    assert.deepEqual([await ds.get(NS_KEY), await ds.get(PROFILE_KEY)], [undefined, undefined]);
  });
  it('a Kubernetes NetworkPolicy brings Calico NetworkPolicy knp.default.<name> in tier default at order 1000', async () => {
    const ds = new MemoryDatastore();
    const client = new ResourceClient(ds); // bootstrapped: the policy's tier must exist
    await client.create(knp);
    const calico = (await client.get('networkpolicy', 'prod', 'knp.default.web-only')) as ResourceObject & { spec: { tier: string; order: number; selector: string } };
    assert.deepEqual([calico.spec.tier, calico.spec.order], ['default', 1000]);
    assert.match(calico.spec.selector, /projectcalico\.org\/orchestrator == 'k8s'/);
    const k8s = kindInfo('networkpolicies.networking.k8s.io');
    assert.equal((await client.get(k8s, 'prod', 'web-only')).kind, 'NetworkPolicy');
    assert.ok(await ds.get(KNP_KEY));
    await client.deleteAll([{ kind: k8s, namespace: 'prod', name: 'web-only' }]);
    assert.deepEqual([await ds.get(KNP_KEY), await ds.get(CALICO_NP_KEY)], [undefined, undefined]);
  });
  it('deleting a source whose conversion is already gone still succeeds', async () => {
    const ds = new MemoryDatastore();
    const client = new ResourceClient(ds, { skipBootstrap: true });
    await client.apply(namespace({}));
    await ds.delete(PROFILE_KEY);
    await client.delete('ns', undefined, 'prod');
    assert.equal(await ds.get(NS_KEY), undefined);
  });
});
