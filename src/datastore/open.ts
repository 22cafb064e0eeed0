// openDatastore: turn a resolved DatastoreConfig into a live Datastore.
//
// Kept light on purpose (the CNI path loads it): it imports the etcd client and the memory
// backend, and only the *type* of the config, never the YAML loader. Certificate files are read
// here, once; an unreadable file is an error that names the setting it came from.

import { readFileSync } from 'node:fs';
import type { DatastoreConfig } from './config.js';
import { type Datastore, DatastoreError } from './datastore.js';
import { EtcdDatastore, type EtcdDatastoreOptions } from './etcd.js';
import { MemoryDatastore } from './memory.js';

export type OpenOptions = Omit<EtcdDatastoreOptions, 'endpoints' | 'ca' | 'cert' | 'key'>;

export function openDatastore(config: DatastoreConfig, opts: OpenOptions = {}): Datastore {
  if (config.datastoreType === 'memory') return new MemoryDatastore();
  const pem = (inline: 'etcdCACert' | 'etcdCert' | 'etcdKey', file: 'etcdCACertFile' | 'etcdCertFile' | 'etcdKeyFile'): string | undefined => {
    const text = config[inline];
    if (text !== undefined) return text;
    const path = config[file];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const from = config.sources?.[file] ?? file;
      throw new DatastoreError('Invalid', `cannot read ${path} (${from}): ${(err as Error).message}`, undefined, undefined, { cause: err });
    }
  };
  const etcd: EtcdDatastoreOptions = { ...opts, endpoints: config.etcdEndpoints };
  const ca = pem('etcdCACert', 'etcdCACertFile');
  const cert = pem('etcdCert', 'etcdCertFile');
  const key = pem('etcdKey', 'etcdKeyFile');
  if (ca !== undefined) etcd.ca = ca;
  if (cert !== undefined) etcd.cert = cert;
  if (key !== undefined) etcd.key = key;
  return new EtcdDatastore(etcd);
}
