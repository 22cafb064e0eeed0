// Typed point reads: one stored object by kind and name, decoded by the model. What the agent,
// the CNI path and the controllers use for a single lookup; streams of changes come from the
// ClusterSyncer (cluster-syncer.ts).

import type { Datastore, KVPair } from '../datastore/index.js';
import { type TypedKind, decodeStored, resourceKey } from '../model/index.js';

export interface StoredObject<T> {
  readonly value: T;
  /** The key, value and revisions as stored (the revision is what a CAS write compares). */
  readonly kv: KVPair;
}

/** The object of `kind` named `name` (in `namespace` for namespaced kinds), or undefined. */
export async function getStored<T>(ds: Datastore, kind: TypedKind<T>, name: string, namespace?: string): Promise<StoredObject<T> | undefined> {
  const key = resourceKey(kind, namespace, name);
  const kv = await ds.get(key);
  return kv ? { value: decodeStored(kind, key, kv.value), kv } : undefined;
}
