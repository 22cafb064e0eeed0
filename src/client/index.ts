// The client: typed access to the cluster over the Datastore contract. Owns the resource client
// (validated CRUD, one transaction per batch, Kubernetes conversions, bootstrap), typed point
// reads (`getStored`) and the typed view of the cluster (`ClusterSyncer`: snapshot then updates).
export { ResourceClient, chunkByOps, toResource } from './client.js';
export type { BatchOptions, BatchResult, ClientOptions, KindRef, LabelChange, ListOptions, ResourceList } from './client.js';
export { PartialBatchError, ResourceError, describeRef, isResourceError, notFoundError } from './errors.js';
export type { ResourceErrorCode, ResourceRef } from './errors.js';
export { applyMergePatch } from './merge-patch.js';
export { CLUSTER_VERSION, bootstrapObjects, ensureInitialized } from './bootstrap.js';
export { DEFAULT_NAMESPACE } from './write-plan.js';
export type { BatchItem, DeleteTarget } from './write-plan.js';
export { getStored, type StoredObject } from './stored-read.js';
export {
  ClusterSyncer,
  type ClusterKindName,
  type ClusterSyncerCallbacks,
  type ClusterSyncerOptions,
  type ClusterUpdate,
  type IpamKindName,
  type IpamUpdate,
  type ResourceUpdate,
} from './cluster-syncer.js';
export { timestamp } from './write-plan.js';
