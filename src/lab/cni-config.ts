// The runtime side of CNI configuration (cni-spec.md §2, "Deriving request configuration").
//
// Pure. The lab plays the container runtime, so it does what libcni does: pick the node's
// network configuration (the lexically first *.conf / *.conflist / *.json in /etc/cni/net.d that
// parses), choose the highest CNI version both the file and the runtime support, and derive the
// per-plugin request config: the plugin object plus `cniVersion` and `name` from the network,
// `capabilities` removed, `runtimeConfig` only for capabilities the plugin declared and the
// runtime supplies, and `prevResult` per the ADD / DEL chaining rules.

import { LabError } from './errors.js';

/** The versions this runtime speaks, oldest first (libcni's version.All). */
export const RUNTIME_CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export interface NetworkConfig {
  readonly name: string;
  /** The version the runtime chose for this network. */
  readonly cniVersion: string;
  readonly plugins: readonly Obj[];
  readonly source: string;
}

function versionKey(v: string): number[] {
  return v.split('.').map((p) => Number(p));
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [versionKey(a), versionKey(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** The files libcni would consider, in the order it considers them. */
export function configCandidates(fileNames: readonly string[]): string[] {
  return fileNames.filter((f) => /\.(conf|conflist|json)$/.test(f)).sort();
}

/**
 * Parses one configuration file: a network configuration list, or (for .conf / .json without
 * `plugins`) a single plugin configuration, which becomes a one-plugin list.
 */
export function parseNetworkConfig(text: string, source: string): NetworkConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LabError('NoCniConfig', `CNI config ${source} is not JSON: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw new LabError('NoCniConfig', `CNI config ${source} must be a JSON object`);
  const name = doc.name;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw new LabError('NoCniConfig', `CNI config ${source}: "name" must be a string of letters, digits, "_", "." and "-" starting with a letter or digit, got ${JSON.stringify(name)}`);
  }
  const plugins = Array.isArray(doc.plugins) ? doc.plugins : typeof doc.type === 'string' ? [doc] : undefined;
  if (plugins === undefined || plugins.length === 0) {
    throw new LabError('NoCniConfig', `CNI config ${source} has no plugins: a .conflist needs a non-empty "plugins" list`);
  }
  plugins.forEach((p, i) => {
    if (!isObj(p) || typeof p.type !== 'string' || p.type === '' || /[/\\]/.test(p.type)) {
      throw new LabError('NoCniConfig', `CNI config ${source}: plugins[${i}].type must be a binary name without "/"`);
    }
  });
  return { name, cniVersion: chooseVersion(doc, source), plugins: plugins as Obj[], source };
}

/** Highest version in cniVersion ∪ cniVersions that the runtime supports (spec §1, 1.1.0). */
export function chooseVersion(doc: Obj, source: string): string {
  const offered = [doc.cniVersion, ...(Array.isArray(doc.cniVersions) ? doc.cniVersions : [])].filter((v): v is string => typeof v === 'string');
  const usable = offered.filter((v) => (RUNTIME_CNI_VERSIONS as readonly string[]).includes(v)).sort(compareVersions);
  const best = usable[usable.length - 1];
  if (best === undefined) {
    throw new LabError('NoCniConfig', `CNI config ${source} offers versions ${JSON.stringify(offered)}; the lab runtime speaks ${RUNTIME_CNI_VERSIONS.join(', ')}`);
  }
  return best;
}

/** Capability arguments the runtime supplies (the lab supplies none today; kubelet would add portMappings etc.). */
export type CapabilityArgs = Readonly<Record<string, unknown>>;

export interface RequestConfigInput {
  readonly network: NetworkConfig;
  readonly pluginIndex: number;
  readonly capabilityArgs?: CapabilityArgs;
  /** ADD: the previous plugin's result (absent for the first plugin). DEL/CHECK: the final ADD result. */
  readonly prevResult?: unknown;
}

/** The stdin config for one plugin invocation. */
export function requestConfig(input: RequestConfigInput): Obj {
  const plugin = input.network.plugins[input.pluginIndex];
  if (plugin === undefined) throw new RangeError(`network ${input.network.name} has no plugin ${input.pluginIndex}`);
  const { capabilities, ...rest } = plugin;
  const out: Obj = { ...rest, cniVersion: input.network.cniVersion, name: input.network.name };
  for (const key of Object.keys(out)) if (key.startsWith('cni.dev/')) delete out[key];
  const runtimeConfig: Obj = {};
  if (isObj(capabilities)) {
    for (const [cap, on] of Object.entries(capabilities)) {
      if (on === true && input.capabilityArgs?.[cap] !== undefined) runtimeConfig[cap] = input.capabilityArgs[cap];
    }
  }
  if (Object.keys(runtimeConfig).length > 0) out.runtimeConfig = runtimeConfig;
  else delete out.runtimeConfig;
  if (input.prevResult !== undefined) out.prevResult = input.prevResult;
  else delete out.prevResult;
  return out;
}

/** Kubelet's CNI_ARGS for a pod sandbox. */
export function podCniArgs(namespace: string, pod: string, containerId: string, uid: string): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${containerId};K8S_POD_UID=${uid}`;
}

export interface CniErrorResult {
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** The spec's error object, if `stdout` holds one. */
export function parseCniError(stdout: string): CniErrorResult | undefined {
  try {
    const doc = JSON.parse(stdout) as unknown;
    if (isObj(doc) && typeof doc.code === 'number' && typeof doc.msg === 'string') {
      return { code: doc.code, msg: doc.msg, ...(typeof doc.details === 'string' ? { details: doc.details } : {}) };
    }
  } catch {
    // not JSON: the caller reports the raw output
  }
  return undefined;
}

/** Pod addresses (without prefix, IPv4 first) from an ADD result's `ips`. */
export function resultAddresses(result: unknown): string[] {
  if (!isObj(result) || !Array.isArray(result.ips)) return [];
  const ips = result.ips
    .map((e) => (isObj(e) && typeof e.address === 'string' ? e.address.split('/')[0]! : undefined))
    .filter((a): a is string => a !== undefined);
  return [...ips.filter((a) => !a.includes(':')), ...ips.filter((a) => a.includes(':'))];
}
