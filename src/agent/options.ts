// `tabby node` settings: command-line options over environment variables over defaults, with
// calico/node's environment names where Calico has one (NODENAME, IP, IP6,
// IP_AUTODETECTION_METHOD, DATASTORE_TYPE, ETCD_*, CNI_NET_DIR, CNI_MTU, FELIX_HEALTHPORT…).
// Pure: takes the flags and an environment, returns a checked NodeOptions or throws an
// OptionsError naming the option or variable and what a valid value looks like.

import { hostname } from 'node:os';
import type { DatastoreSettings } from '../datastore/index.js';
import type { AddressSettings } from './node-resource.js';

export interface NodeOptions {
  readonly nodename: string;
  readonly addresses: AddressSettings;
  readonly labels: Readonly<Record<string, string>>;
  readonly datastore: DatastoreSettings;
  readonly cni: {
    readonly install: boolean;
    readonly confDir: string;
    readonly confName: string;
    readonly binDir: string;
    readonly networkName: string;
    readonly socket: string;
    readonly mtu: number;
    readonly assignIpv4: boolean;
    readonly assignIpv6: boolean;
    readonly logLevel: string;
    readonly logFilePath: string;
    readonly policyType: string;
  };
  readonly stateDir: string;
  /** calico/node's CALICO_NETWORKING_BACKEND: `bird` runs the BGP daemon (Tabby's own speaker), `vxlan` and `none` do not. */
  readonly networkingBackend: 'bird' | 'vxlan' | 'none';
  /** The BGP daemon's status socket (`tabby bgp status`, `tabbyctl node status`). */
  readonly bgpSocket: string;
  /** Where BGP passwords' secrets are read: <dir>/<secret name>/<key> (a Kubernetes secret volume's layout). */
  readonly bgpSecretsDir: string;
  readonly health: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly logLevel: string;
}

/** Flags as commander hands them over (all optional strings/booleans). */
export interface NodeFlags {
  nodename?: string;
  ip?: string;
  ip6?: string;
  ipAutodetectionMethod?: string;
  ip6AutodetectionMethod?: string;
  nodeLabels?: string;
  datastoreType?: string;
  etcdEndpoints?: string;
  etcdCaCertFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  cniConfDir?: string;
  cniConfName?: string;
  cniBinDir?: string;
  cniNetworkName?: string;
  cniSocket?: string;
  mtu?: string;
  assignIpv4?: string;
  assignIpv6?: string;
  cniLogLevel?: string;
  cniLogFile?: string;
  policyType?: string;
  installCni?: boolean;
  stateDir?: string;
  networkingBackend?: string;
  healthEnabled?: string;
  healthHost?: string;
  healthPort?: string;
  logLevel?: string;
}

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
  readonly code = 'InvalidOption';
}

type Env = Readonly<Record<string, string | undefined>>;

function pick(flag: string | undefined, env: Env, names: readonly string[], fallback: string): { value: string; from: string } {
  if (flag !== undefined && flag !== '') return { value: flag, from: 'option' };
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return { value: v, from: `env ${n}` };
  }
  return { value: fallback, from: 'default' };
}

function bool(p: { value: string; from: string }, what: string): boolean {
  const v = p.value.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new OptionsError(`${what} (${p.from}) must be true or false, got "${p.value}"`);
}

function int(p: { value: string; from: string }, what: string, min: number, max: number): number {
  const n = Number(p.value);
  if (!/^\d+$/.test(p.value) || n < min || n > max) throw new OptionsError(`${what} (${p.from}) must be a whole number from ${min} to ${max}, got "${p.value}"`);
  return n;
}

function backend(p: { value: string; from: string }): 'bird' | 'vxlan' | 'none' {
  const v = p.value.toLowerCase();
  if (v === 'bird' || v === 'bgp') return 'bird';
  if (v === 'vxlan' || v === 'none') return v;
  throw new OptionsError(`networking backend (${p.from}) must be bird (BGP), vxlan or none, got "${p.value}"`);
}

function mtuOption(p: { value: string; from: string }): number {
  return p.value === '0' ? 0 : int(p, 'MTU', 68, 65535);
}

/** "a=b,c=d" → labels; keys and values as Kubernetes allows them. */
export function parseLabels(text: string, from: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key) || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value)) {
      throw new OptionsError(`node label "${part}" (${from}) is not key=value with a Kubernetes label key and value, e.g. "rack=r1,zone=a"`);
    }
    out[key] = value;
  }
  return out;
}

export function resolveNodeOptions(flags: NodeFlags, env: Env = process.env): NodeOptions {
  const nn = pick(flags.nodename, env, ['NODENAME', 'HOSTNAME'], hostname());
  const nodename = nn.value.trim().toLowerCase();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodename) || nodename.length > 253) {
    throw new OptionsError(`node name "${nn.value}" (${nn.from}) is not a valid name: use lower-case letters, digits, "-" and ".", e.g. "node-1"`);
  }
  const labelsFrom = pick(flags.nodeLabels, env, ['TABBY_NODE_LABELS'], '');
  const labels = { 'kubernetes.io/hostname': nodename, ...parseLabels(labelsFrom.value, labelsFrom.from) };

  const datastore: DatastoreSettings = {};
  if (flags.datastoreType) datastore.datastoreType = flags.datastoreType;
  if (flags.etcdEndpoints) datastore.etcdEndpoints = flags.etcdEndpoints;
  if (flags.etcdCaCertFile) datastore.etcdCACertFile = flags.etcdCaCertFile;
  if (flags.etcdCertFile) datastore.etcdCertFile = flags.etcdCertFile;
  if (flags.etcdKeyFile) datastore.etcdKeyFile = flags.etcdKeyFile;

  const policyType = pick(flags.policyType, env, ['TABBY_CNI_POLICY_TYPE'], 'k8s').value;
  const healthHost = pick(flags.healthHost, env, ['TABBY_HEALTH_HOST', 'FELIX_HEALTHHOST'], '127.0.0.1').value;
  return {
    nodename,
    addresses: {
      ip: pick(flags.ip, env, ['IP'], '').value,
      ip6: pick(flags.ip6, env, ['IP6'], '').value,
      ipMethod: pick(flags.ipAutodetectionMethod, env, ['IP_AUTODETECTION_METHOD'], 'first-found').value,
      ip6Method: pick(flags.ip6AutodetectionMethod, env, ['IP6_AUTODETECTION_METHOD'], 'first-found').value,
    },
    labels,
    datastore,
    cni: {
      install: flags.installCni ?? true,
      confDir: pick(flags.cniConfDir, env, ['CNI_NET_DIR'], '/etc/cni/net.d').value,
      confName: pick(flags.cniConfName, env, ['CNI_CONF_NAME'], '10-tabby.conflist').value,
      binDir: pick(flags.cniBinDir, env, ['CNI_BIN_DIR'], '/opt/cni/bin').value,
      networkName: pick(flags.cniNetworkName, env, ['CNI_NETWORK_NAME'], 'k8s-pod-network').value,
      socket: pick(flags.cniSocket, env, ['TABBY_CNI_SOCKET'], '/run/tabby/cni.sock').value,
      // 0 (Calico's veth_mtu "0"): the agent decides — the VXLAN MTU when a pool uses VXLAN, else the host interface's.
      mtu: mtuOption(pick(flags.mtu, env, ['CNI_MTU'], '0')),
      assignIpv4: bool(pick(flags.assignIpv4, env, ['TABBY_ASSIGN_IPV4'], 'true'), 'assign IPv4'),
      assignIpv6: bool(pick(flags.assignIpv6, env, ['TABBY_ASSIGN_IPV6'], 'false'), 'assign IPv6'),
      logLevel: pick(flags.cniLogLevel, env, ['TABBY_CNI_LOG_LEVEL'], 'info').value,
      logFilePath: pick(flags.cniLogFile, env, ['TABBY_CNI_LOG_FILE'], '/var/log/tabby/cni/cni.log').value,
      policyType,
    },
    stateDir: pick(flags.stateDir, env, ['TABBY_STATE_DIR'], '/var/lib/tabby').value,
    networkingBackend: backend(pick(flags.networkingBackend, env, ['CALICO_NETWORKING_BACKEND', 'TABBY_NETWORKING_BACKEND'], 'vxlan')),
    bgpSocket: pick(undefined, env, ['TABBY_BGP_SOCKET'], '/run/tabby/bgp.sock').value,
    bgpSecretsDir: pick(undefined, env, ['TABBY_BGP_SECRETS_DIR'], '/etc/tabby/bgp-secrets').value,
    health: {
      enabled: bool(pick(flags.healthEnabled, env, ['TABBY_HEALTH_ENABLED', 'FELIX_HEALTHENABLED'], 'true'), 'health endpoint'),
      host: healthHost,
      port: int(pick(flags.healthPort, env, ['TABBY_HEALTH_PORT', 'FELIX_HEALTHPORT'], '9099'), 'health port', 0, 65535),
    },
    logLevel: pick(flags.logLevel, env, ['TABBY_LOG_LEVEL', 'LOG_LEVEL'], 'info').value,
  };
}
