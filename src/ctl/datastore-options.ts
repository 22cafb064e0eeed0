// The datastore flags every tabbyctl command takes, and opening the datastore they name.
//
// Same settings as calicoctl, in increasing precedence: the config file (-c/--config, default
// /etc/calico/calicoctl.cfg when it exists), the environment (DATASTORE_TYPE, ETCD_ENDPOINTS,
// ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE), then the flags. Resolution and opening are
// the datastore module's (config.ts, open.ts); this file only maps commander's options onto it.

import { Option, type Command } from 'commander';
import type { Datastore } from '../datastore/datastore.js';
import { MemoryDatastore } from '../datastore/memory.js';

export interface DatastoreFlags {
  datastoreType?: string;
  etcdEndpoints?: string;
  etcdCaCertFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  config?: string;
}

export function addDatastoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--datastore-type <type>', 'etcdv3 or memory [env DATASTORE_TYPE]'))
    .addOption(new Option('--etcd-endpoints <urls>', 'comma-separated etcd URLs, e.g. https://10.0.0.1:2379 [env ETCD_ENDPOINTS]'))
    .addOption(new Option('--etcd-ca-cert-file <file>', 'CA certificate to verify etcd [env ETCD_CA_CERT_FILE]'))
    .addOption(new Option('--etcd-cert-file <file>', 'client certificate for etcd [env ETCD_CERT_FILE]'))
    .addOption(new Option('--etcd-key-file <file>', 'client key for etcd [env ETCD_KEY_FILE]'))
    .addOption(new Option('-c, --config <file>', 'calicoctl-style config file (default /etc/calico/calicoctl.cfg if present)'));
}

export async function openDatastoreFromFlags(flags: DatastoreFlags, env: Readonly<Record<string, string | undefined>>): Promise<Datastore> {
  // TEMPORARY until the datastore module's config.ts / open.ts land.
  const type = flags.datastoreType ?? env.DATASTORE_TYPE ?? 'etcdv3';
  if (type === 'memory') return new MemoryDatastore();
  throw Object.assign(new Error(`datastore type ${type} is not available yet`), { code: 'Usage' });
}
