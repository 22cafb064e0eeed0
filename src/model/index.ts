// Tabby's resource model (DESIGN.md §4): kinds, keys, schemas, validation, defaults, manifests,
// and the Kubernetes → Calico conversions. Pure: no I/O.

export * from './kinds.js';
export * from './keys.js';
export * from './issues.js';
export type { ObjectMeta, ResourceObject } from './types.js';
export { ObjectMetaSchema } from './meta.js';
export { kindOfDocument, validateResource, applyDefaults, stripDefaults } from './validate.js';
export { loadManifests, type ManifestDocument, type LoadedManifests } from './manifests.js';
export { deepEqual } from './defaults.js';
export { IPPoolSchema, type IPPool } from './resources/ippool.js';
