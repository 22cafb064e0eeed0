// Datastore configuration, the way calicoctl takes it: command-line options, environment
// (DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE), and a
// config file in calicoctl's format (default /etc/tabby/tabbyctl.cfg):
//
//   apiVersion: projectcalico.org/v3
//   kind: CalicoAPIConfig
//   spec: { datastoreType: etcdv3, etcdEndpoints: "https://10.0.0.1:2379,...",
//           etcdCACertFile: ..., etcdCertFile: ..., etcdKeyFile: ... }
//
// Precedence per setting: options > environment > file > defaults. The result records where
// each setting came from, so later errors (an unreadable key file) can say which knob to turn.
// A missing file at the default path is fine; a missing file that was asked for, or a file that
// is not valid YAML or not a CalicoAPIConfig, is an error naming the file and the field.

import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

export type DatastoreType = 'etcdv3' | 'memory';

export const DATASTORE_TYPES: readonly DatastoreType[] = ['etcdv3', 'memory'];
export const DEFAULT_CONFIG_FILE = '/etc/tabby/tabbyctl.cfg';
export const DEFAULT_ETCD_ENDPOINTS: readonly string[] = ['http://127.0.0.1:2379'];

/** Settings that may be given, each optional; also the shape of CLI flags. */
export interface DatastoreSettings {
  datastoreType?: string;
  /** Comma-separated string (as in calicoctl) or a list. */
  etcdEndpoints?: string | readonly string[];
  etcdCACertFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  /** Inline PEM, calicoctl's etcdCACert/etcdCert/etcdKey (config file only in calicoctl). */
  etcdCACert?: string;
  etcdCert?: string;
  etcdKey?: string;
}

type Field = keyof DatastoreSettings;

export interface DatastoreConfig {
  readonly datastoreType: DatastoreType;
  readonly etcdEndpoints: readonly string[];
  readonly etcdCACertFile?: string;
  readonly etcdCertFile?: string;
  readonly etcdKeyFile?: string;
  readonly etcdCACert?: string;
  readonly etcdCert?: string;
  readonly etcdKey?: string;
  /** Where each given setting came from, e.g. "env ETCD_ENDPOINTS", "file /etc/tabby/tabbyctl.cfg spec.etcdEndpoints". */
  readonly sources: Readonly<Partial<Record<Field, string>>>;
}

export class DatastoreConfigError extends Error {
  override readonly name = 'DatastoreConfigError';
  readonly code = 'InvalidDatastoreConfig';
  constructor(
    message: string,
    readonly source?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ENV: Partial<Record<Field, string>> = {
  datastoreType: 'DATASTORE_TYPE',
  etcdEndpoints: 'ETCD_ENDPOINTS',
  etcdCACertFile: 'ETCD_CA_CERT_FILE',
  etcdCertFile: 'ETCD_CERT_FILE',
  etcdKeyFile: 'ETCD_KEY_FILE',
};

const FIELDS: readonly Field[] = ['datastoreType', 'etcdEndpoints', 'etcdCACertFile', 'etcdCertFile', 'etcdKeyFile', 'etcdCACert', 'etcdCert', 'etcdKey'];

export interface LoadConfigOptions {
  /** Command-line options; undefined fields are not given. */
  flags?: DatastoreSettings;
  /** Environment to read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Config file asked for by the user (must exist); default: DEFAULT_CONFIG_FILE if present. */
  configFile?: string;
  /** Where to look when no file was asked for (default DEFAULT_CONFIG_FILE); tests and labs move it. */
  defaultConfigFile?: string;
}

/** Resolve the datastore configuration from flags, environment, config file and defaults. */
export function loadDatastoreConfig(opts: LoadConfigOptions = {}): DatastoreConfig {
  const env = opts.env ?? process.env;
  const file = readConfigFile(opts.configFile, opts.defaultConfigFile ?? DEFAULT_CONFIG_FILE);
  const chosen: Partial<Record<Field, string | readonly string[]>> = {};
  const sources: Partial<Record<Field, string>> = {};
  for (const field of FIELDS) {
    const flag = opts.flags?.[field];
    const envName = ENV[field];
    const envValue = envName ? env[envName] : undefined;
    const fileValue = file?.settings[field];
    if (flag !== undefined && flag !== '') {
      chosen[field] = flag;
      sources[field] = `option ${field}`;
    } else if (envName && envValue !== undefined && envValue !== '') {
      chosen[field] = envValue;
      sources[field] = `env ${envName}`;
    } else if (fileValue !== undefined && fileValue !== '') {
      chosen[field] = fileValue;
      sources[field] = `file ${file!.path} spec.${field}`;
    }
  }
  return validate(chosen, sources);
}

function validate(chosen: Partial<Record<Field, string | readonly string[]>>, sources: Partial<Record<Field, string>>): DatastoreConfig {
  const typeText = String(chosen.datastoreType ?? 'etcdv3').trim();
  if (!(DATASTORE_TYPES as readonly string[]).includes(typeText)) {
    const hint = typeText === 'kubernetes' ? ' (Tabby has no Kubernetes datastore yet)' : '';
    throw new DatastoreConfigError(`datastore type "${typeText}" from ${sources.datastoreType} is not supported${hint}; expected one of ${DATASTORE_TYPES.join(', ')}`, sources.datastoreType);
  }
  const rawEndpoints = chosen.etcdEndpoints ?? DEFAULT_ETCD_ENDPOINTS;
  const endpoints = (typeof rawEndpoints === 'string' ? rawEndpoints.split(',') : [...rawEndpoints]).map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw new DatastoreConfigError(`no etcd endpoints in ${sources.etcdEndpoints}; expected e.g. http://127.0.0.1:2379`, sources.etcdEndpoints);
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/?#\s]+\/?$/.test(e)) {
      throw new DatastoreConfigError(`etcd endpoint "${e}" from ${sources.etcdEndpoints ?? 'defaults'} must be an http:// or https:// URL with host and port, e.g. https://10.0.0.1:2379`, sources.etcdEndpoints);
    }
  }
  const config: Record<string, unknown> = { datastoreType: typeText, etcdEndpoints: endpoints, sources };
  for (const f of ['etcdCACertFile', 'etcdCertFile', 'etcdKeyFile', 'etcdCACert', 'etcdCert', 'etcdKey'] as const) {
    const v = chosen[f];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new DatastoreConfigError(`${f} from ${sources[f]} must be a string`, sources[f]);
    config[f] = v;
  }
  const hasCert = config.etcdCertFile !== undefined || config.etcdCert !== undefined;
  const hasKey = config.etcdKeyFile !== undefined || config.etcdKey !== undefined;
  if (hasCert !== hasKey) {
    const given = hasCert ? sources.etcdCertFile ?? sources.etcdCert : sources.etcdKeyFile ?? sources.etcdKey;
    throw new DatastoreConfigError(`an etcd client certificate needs both a certificate and its key, but only the ${hasCert ? 'certificate' : 'key'} is set (${given}); set ETCD_CERT_FILE and ETCD_KEY_FILE together`, given);
  }
  return config as unknown as DatastoreConfig;
}

interface ConfigFile {
  path: string;
  settings: DatastoreSettings;
}

function readConfigFile(asked: string | undefined, fallback: string): ConfigFile | undefined {
  const path = asked ?? fallback;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (asked === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DatastoreConfigError(`cannot read datastore config file ${path}: ${(err as Error).message}`, `file ${path}`, { cause: err });
  }
  return { path, settings: parseConfigFile(text, path) };
}

/** Parse a calicoctl-style CalicoAPIConfig document into settings. */
export function parseConfigFile(text: string, path: string): DatastoreSettings {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new DatastoreConfigError(`datastore config file ${path} is not valid YAML: ${doc.errors[0]!.message}`, `file ${path}`);
  }
  const root = doc.toJS() as unknown;
  const where = (field: string) => `file ${path} ${field}`;
  if (!isObject(root)) throw new DatastoreConfigError(`datastore config file ${path} must hold a CalicoAPIConfig mapping (apiVersion, kind, spec)`, `file ${path}`);
  if (root.apiVersion !== 'projectcalico.org/v3') {
    throw new DatastoreConfigError(`${path}: apiVersion is ${JSON.stringify(root.apiVersion)}; expected "projectcalico.org/v3"`, where('apiVersion'));
  }
  if (root.kind !== 'CalicoAPIConfig') {
    throw new DatastoreConfigError(`${path}: kind is ${JSON.stringify(root.kind)}; expected "CalicoAPIConfig"`, where('kind'));
  }
  for (const k of Object.keys(root)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) throw new DatastoreConfigError(`${path}: unknown top-level field "${k}"; expected apiVersion, kind, metadata, spec`, where(k));
  }
  const spec = root.spec ?? {};
  if (!isObject(spec)) throw new DatastoreConfigError(`${path}: spec must be a mapping`, where('spec'));
  const settings: DatastoreSettings = {};
  for (const [k, v] of Object.entries(spec)) {
    if (!(FIELDS as readonly string[]).includes(k)) {
      throw new DatastoreConfigError(`${path}: spec.${k} is not a supported setting; expected one of ${FIELDS.join(', ')}`, where(`spec.${k}`));
    }
    const field = k as Field;
    if (field === 'etcdEndpoints' && Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      settings.etcdEndpoints = v as string[];
    } else if (typeof v === 'string') {
      settings[field] = v;
    } else if (v !== null) {
      throw new DatastoreConfigError(`${path}: spec.${k} must be a string${field === 'etcdEndpoints' ? ' (comma-separated) or a list of strings' : ''}`, where(`spec.${k}`));
    }
  }
  return settings;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
