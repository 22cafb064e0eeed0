// Datastore bootstrap, as Calico's client does in EnsureInitialized (calico-internals §1.4).
//
// Before the first write a client makes sure the cluster-wide objects every component assumes
// exist: ClusterInformation `default` (random clusterGUID, datastoreReady true, calicoVersion)
// and the tiers `default` (order 1e6, Deny), `kube-admin` (1000, Pass) and `kube-baseline`
// (1e7, Pass). Objects that exist are left exactly as they are — a user's own tier settings or
// an older cluster's GUID are never overwritten — so running it any number of times, from any
// number of processes at once, ends in the same state: the missing objects are created in one
// transaction of `create` operations, and if another process won the race (AlreadyExists) we
// simply read again and create whatever is still missing.

import { randomUUID } from 'node:crypto';
import { type Datastore, isDatastoreError } from '../datastore/index.js';
import { type ResourceObject, kindInfo, resourceKey, validateResource } from '../model/index.js';
import { TABBY_VERSION } from '../version.js';
import { timestamp } from './write-plan.js';

const API_VERSION = 'projectcalico.org/v3';
const MAX_ATTEMPTS = 5;

/** The version string written to ClusterInformation.spec.calicoVersion. */
export const CLUSTER_VERSION = `v${TABBY_VERSION}`;

/** The objects bootstrap ensures, fresh (new GUID) on every call. */
export function bootstrapObjects(): ResourceObject[] {
  const tier = (name: string, order: number, defaultAction: 'Deny' | 'Pass') =>
    ({ apiVersion: API_VERSION, kind: 'Tier', metadata: { name }, spec: { order, defaultAction } }) as unknown as ResourceObject;
  return [
    {
      apiVersion: API_VERSION,
      kind: 'ClusterInformation',
      metadata: { name: 'default' },
      spec: { clusterGUID: randomUUID().replaceAll('-', ''), datastoreReady: true, calicoVersion: CLUSTER_VERSION },
    } as unknown as ResourceObject,
    tier('default', 1_000_000, 'Deny'),
    tier('kube-admin', 1_000, 'Pass'),
    tier('kube-baseline', 10_000_000, 'Pass'),
  ];
}

/** Create whichever bootstrap objects are missing. Returns the names of those it created. */
export async function ensureInitialized(ds: Datastore, now: () => Date = () => new Date()): Promise<string[]> {
  const wanted = bootstrapObjects().map((obj) => {
    const valid = validateResource(obj, { source: 'bootstrap' });
    const key = resourceKey(kindInfo(valid.kind), undefined, valid.metadata.name ?? '');
    const value = { ...valid, metadata: { ...valid.metadata, uid: randomUUID(), creationTimestamp: timestamp(now()) } };
    return { key, value, label: `${valid.kind}(${valid.metadata.name})` };
  });
  for (let attempt = 1; ; attempt++) {
    const present = await Promise.all(wanted.map((w) => ds.get(w.key)));
    const missing = wanted.filter((_, i) => present[i] === undefined);
    if (missing.length === 0) return [];
    try {
      await ds.txn(missing.map((m) => ({ op: 'create' as const, key: m.key, value: m.value as never })));
      return missing.map((m) => m.label);
    } catch (err) {
      // Someone else created one of them between our read and our write: read again.
      if (!isDatastoreError(err, 'AlreadyExists') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}
