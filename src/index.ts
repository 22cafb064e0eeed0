// The package's public surface (DESIGN.md §9).
export * from './ip/index.js';
export * from './datastore/datastore.js';
export { MemoryDatastore } from './datastore/memory.js';
export * from './selector/index.js';
export { EtcdDatastore, type EtcdDatastoreOptions } from './datastore/etcd.js';
export { EtcdUnavailableError } from './datastore/etcd-transport.js';
export { type DatastoreConfig, DatastoreConfigError, loadDatastoreConfig } from './datastore/config.js';
export { openDatastore } from './datastore/open.js';
export { type SyncStatus, type SyncUpdate, Syncer } from './datastore/syncer.js';
export * from './model/index.js';
