// The resource client: CRUD on Calico v3 resources over the Datastore contract.
export { ResourceClient, chunkByOps, toResource } from './client.js';
export type { BatchOptions, BatchResult, ClientOptions, KindRef, LabelChange, ListOptions, ResourceList } from './client.js';
export { PartialBatchError, ResourceError, describeRef, isResourceError, notFoundError } from './errors.js';
export type { ResourceErrorCode, ResourceRef } from './errors.js';
export { applyMergePatch } from './merge-patch.js';
export { CLUSTER_VERSION, bootstrapObjects, ensureInitialized } from './bootstrap.js';
export { DEFAULT_NAMESPACE } from './write-plan.js';
export type { BatchItem, DeleteTarget } from './write-plan.js';
