// The datastore: what every other folder may use of it.
//
// Owns the `Datastore` contract (get, list, create/update/delete with CAS, txn, watch with resync),
// its two backends (memory; etcd over gRPC/HTTP2), calicoctl-style configuration and opening, and
// the Syncer (list-then-watch as a snapshot followed by deltas, with in-sync status). The etcd
// wire codecs (protobuf, gRPC framing, etcd messages) and the transport are internals.
export * from './datastore.js';
export { MemoryDatastore } from './memory.js';
export { EtcdDatastore, type EtcdDatastoreOptions } from './etcd.js';
export { EtcdUnavailableError, type EtcdTlsOptions } from './etcd-transport.js';
export {
  DATASTORE_TYPES,
  DEFAULT_CONFIG_FILE,
  DEFAULT_ETCD_ENDPOINTS,
  DatastoreConfigError,
  loadDatastoreConfig,
  parseConfigFile,
  type DatastoreConfig,
  type DatastoreSettings,
  type DatastoreType,
  type LoadConfigOptions,
} from './config.js';
export { openDatastore, type OpenOptions } from './open.js';
export { Syncer, type SyncStatus, type SyncUpdate, type SyncerCallbacks, type SyncerOptions } from './syncer.js';
export { ReadOnlyDatastore } from './read-only.js';
