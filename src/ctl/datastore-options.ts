// The datastore flags every tabbyctl command takes, and opening the datastore they name.
//
// Same settings as calicoctl, in increasing precedence: the config file (-c/--config, default
// /etc/tabby/tabbyctl.cfg when it exists), the environment (DATASTORE_TYPE, ETCD_ENDPOINTS,
// ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE), then the flags. Resolution and opening
// belong to the datastore module (config.ts, open.ts); this file only maps commander's options
// onto them.

import { type Command, Option } from 'commander';
import { DEFAULT_CONFIG_FILE, type DatastoreSettings, loadDatastoreConfig } from '../datastore/index.js';
import type { Datastore } from '../datastore/index.js';
import { ReadOnlyDatastore, openDatastore } from '../datastore/index.js';

/** Commander's camel-cased names for the datastore flags. */
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
    .addOption(new Option('-c, --config <file>', `calicoctl-style config file (default ${DEFAULT_CONFIG_FILE} if present)`));
}

/** The flags as the datastore module's settings (absent flags stay absent). */
export function settingsFromFlags(flags: DatastoreFlags): DatastoreSettings {
  const s: DatastoreSettings = {};
  if (flags.datastoreType !== undefined) s.datastoreType = flags.datastoreType;
  if (flags.etcdEndpoints !== undefined) s.etcdEndpoints = flags.etcdEndpoints;
  if (flags.etcdCaCertFile !== undefined) s.etcdCACertFile = flags.etcdCaCertFile;
  if (flags.etcdCertFile !== undefined) s.etcdCertFile = flags.etcdCertFile;
  if (flags.etcdKeyFile !== undefined) s.etcdKeyFile = flags.etcdKeyFile;
  return s;
}

export async function openDatastoreFromFlags(flags: DatastoreFlags, env: Readonly<Record<string, string | undefined>>): Promise<Datastore> {
  const config = loadDatastoreConfig({
    flags: settingsFromFlags(flags),
    env,
    ...(flags.config === undefined ? {} : { configFile: flags.config }),
  });
  const ds = openDatastore(config);
  if (config.datastoreType !== 'memory') return ds;
  // Each tabbyctl run would get a fresh, empty memory store: reads work (and find nothing),
  // writes are refused rather than reported as done and lost.
  const from = config.sources.datastoreType === undefined ? '' : ` (${config.sources.datastoreType})`;
  return new ReadOnlyDatastore(
    ds,
    `the datastore type is memory${from}, which keeps nothing once this command ends; use etcdv3 with ETCD_ENDPOINTS (or --etcd-endpoints) to store resources`,
  );
}
