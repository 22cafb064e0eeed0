// What `tabby node` puts on the host for container runtimes: the CNI network configuration
// (default /etc/cni/net.d/10-tabby.conflist, with Calico's plugin keys so Calico users recognise
// every line) and the plugin executables `tabby` and `tabby-ipam` in the CNI bin directory.
//
// The executables are one program installed under both names (it dispatches on argv[0], as
// Calico's does): the C shim when it was built, else the TypeScript forwarder. Every file is
// written to a temporary name in the same directory and renamed into place, so a runtime never
// runs or reads a half-written file. A `portmap` entry is added only when that plugin is installed
// next to ours.

import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_SOCKET as DEFAULT_CNI_SOCKET } from '../cni/index.js';
import { SUPPORTED_VERSIONS } from '../cni/index.js';

export interface ConflistOptions {
  readonly networkName: string;
  readonly nodename: string;
  readonly mtu: number;
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  readonly datastoreType: string;
  readonly etcdEndpoints: readonly string[];
  readonly etcdCaCertFile?: string;
  readonly etcdCertFile?: string;
  readonly etcdKeyFile?: string;
  readonly logLevel: string;
  readonly logFilePath: string;
  readonly policyType: string;
  /** Whether a portmap plugin is installed beside ours. */
  readonly portmap: boolean;
  /** The agent's CNI socket, written as "tabby_socket" when it is not the default. */
  readonly socket?: string;
}

/** The conflist, as Calico's manifests write theirs (calico-internals.md §5.1). Pure. */
export function renderConflist(o: ConflistOptions): string {
  const plugins: Record<string, unknown>[] = [
    {
      type: 'tabby',
      log_level: o.logLevel,
      log_file_path: o.logFilePath,
      datastore_type: o.datastoreType,
      etcd_endpoints: o.etcdEndpoints.join(','),
      etcd_key_file: o.etcdKeyFile ?? '',
      etcd_cert_file: o.etcdCertFile ?? '',
      etcd_ca_cert_file: o.etcdCaCertFile ?? '',
      nodename: o.nodename,
      mtu: o.mtu,
      ipam: { type: 'tabby-ipam', assign_ipv4: String(o.assignIpv4), assign_ipv6: String(o.assignIpv6) },
      policy: { type: o.policyType },
      // Runtimes do not always pass their environment to plugins; the config always arrives.
      ...(o.socket !== undefined && o.socket !== DEFAULT_CNI_SOCKET ? { tabby_socket: o.socket } : {}),
    },
  ];
  if (o.portmap) plugins.push({ type: 'portmap', snat: true, capabilities: { portMappings: true } });
  // cniVersion 1.0.0 is what runtimes with an older libcni (podman 4, containerd 1.6) accept;
  // newer ones read cniVersions and pick 1.1.0 (GC, STATUS).
  const conf = { name: o.networkName, cniVersion: '1.0.0', cniVersions: SUPPORTED_VERSIONS.filter((v) => v >= '0.4.0'), plugins };
  return JSON.stringify(conf, null, 2) + '\n';
}

function writeAtomically(path: string, write: (tmp: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${path.split('/').pop()}.tabby-tmp-${process.pid}`);
  write(tmp);
  renameSync(tmp, path);
}

export function writeConflist(confDir: string, fileName: string, text: string): string {
  const path = join(confDir, fileName);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return path;
  writeAtomically(path, (tmp) => writeFileSync(tmp, text, { mode: 0o644 }));
  return path;
}

/** Where the built plugin lives: the C shim, else the bundled TypeScript forwarder. */
export function findPluginExecutable(searchDirs: readonly string[]): string | undefined {
  return findExecutable('tabby-cni', searchDirs) ?? findExecutable('tabby-cni.cjs', searchDirs);
}

/** A program built next to this one (dist/bin), or undefined. */
export function findExecutable(name: string, searchDirs: readonly string[] = defaultPluginSearchDirs()): string | undefined {
  for (const dir of searchDirs) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Directories a checkout's build puts executables in, seen from the running entry point. */
export function defaultPluginSearchDirs(entry: string = process.argv[1] ?? ''): string[] {
  // dist/bin/tabby.cjs (bundle) or dist/src/tabby/main.js (tsc output)
  const here = dirname(entry);
  return [here, join(here, '..', '..', 'bin')];
}

/** Installs `source` as `<binDir>/tabby` and `<binDir>/tabby-ipam`; returns the paths written. */
export function installPlugins(binDir: string, source: string): string[] {
  const bytes = readFileSync(source);
  const written: string[] = [];
  for (const name of ['tabby', 'tabby-ipam']) {
    const path = join(binDir, name);
    if (existsSync(path) && readFileSync(path).equals(bytes)) continue;
    writeAtomically(path, (tmp) => {
      copyFileSync(source, tmp);
      chmodSync(tmp, 0o755);
    });
    written.push(path);
  }
  return written;
}
