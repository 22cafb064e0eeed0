// ClusterInformation `default` as IPAM's maintenance commands read it (calico-internals.md §4.6):
// `datastoreReady: false` means the datastore is locked (`calicoctl datastore migrate lock`), and
// the resource's revision stamps an `ipam check` report, so `ipam release --from-report` can
// refuse a report taken before the lock changed. Pure: decoding only.

import { isJsonObject, type JsonValue } from '../../util/index.js';

/** How to lock the datastore with tabbyctl (there is no `datastore migrate` command yet). */
export const LOCK_HINT = `tabbyctl patch clusterinformation default -p '{"spec":{"datastoreReady":false}}'`;
export const UNLOCK_HINT = `tabbyctl patch clusterinformation default -p '{"spec":{"datastoreReady":true}}'`;

export interface ClusterMeta {
  /** False when there is no ClusterInformation `default` (nothing has bootstrapped the datastore). */
  readonly exists: boolean;
  readonly clusterGUID: string;
  readonly clusterType: string;
  /** datastoreReady is explicitly false. */
  readonly datastoreLocked: boolean;
  /** The KV revision of ClusterInformation `default` (its resourceVersion), "" when absent. */
  readonly revision: string;
}

export function clusterMetaOf(value: JsonValue | undefined, revision: number | undefined): ClusterMeta {
  if (value === undefined || revision === undefined) return { exists: false, clusterGUID: '', clusterType: '', datastoreLocked: false, revision: '' };
  const spec = isJsonObject(value) && isJsonObject(value['spec']) ? value['spec'] : {};
  const str = (k: string) => (typeof spec[k] === 'string' ? (spec[k] as string) : '');
  return { exists: true, clusterGUID: str('clusterGUID'), clusterType: str('clusterType'), datastoreLocked: spec['datastoreReady'] === false, revision: String(revision) };
}
