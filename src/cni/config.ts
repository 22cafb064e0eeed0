// The request configuration on stdin (reference/cni-spec.md §2) with Calico's plugin keys
// (calico-internals.md §5.1), parsed and checked into a typed NetConf.
//
// Errors: not JSON or not an object → 6; a missing or unsupported cniVersion → 1 (libcni reads
// a missing version as 0.1.0, which Tabby does not speak); a bad `name` or a key of the wrong
// type → 7 naming the key; a feature Tabby does not implement → 2 naming key and value.
// Keys Tabby does not know are kept in `raw` untouched (the spec asks plugins to tolerate them).

import { CniCode, CniError } from './errors.js';
import { type CniVersion, requireSupported } from './versions.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface IpamConf {
  readonly type: string;
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
}

export interface Attachment {
  readonly containerID: string;
  readonly ifname: string;
}

export interface NetConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  readonly ipam: IpamConf;
  /** 0 means "not set": the plugin uses its default (1500). */
  readonly mtu: number;
  readonly nodename?: string;
  readonly nodenameFile?: string;
  readonly nodenameFileOptional: boolean;
  /** `policy.type`; "k8s" gives WorkloadEndpoints the kns./ksa. profiles, else the network's name. */
  readonly policyType?: string;
  /** container_settings.allow_ip_forwarding */
  readonly allowIpForwarding: boolean;
  readonly logLevel?: string;
  readonly prevResult?: Json;
  readonly runtimeConfig?: JsonObject;
  /** GC: `cni.dev/valid-attachments` (or the 1.1.0 tag's `cni.dev/attachments`). */
  readonly validAttachments?: readonly Attachment[];
  readonly raw: JsonObject;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function invalid(key: string, want: string, got: unknown): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `network config key "${key}" must be ${want}, got ${typeName(got)}`);
}

function optString(o: JsonObject, key: string, path = key): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(path, 'a string', v);
  return v;
}

function optBool(o: JsonObject, key: string, path: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null || v === '') return fallback;
  // Calico's assign_ipv4/assign_ipv6 are strings ("true"/"false"); accept JSON booleans too.
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalid(path, 'true or false (a boolean or the string "true"/"false")', v);
}

function stringList(o: JsonObject, key: string, path: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(path, 'a list of strings', v);
  return v as string[];
}

function attachments(o: JsonObject): Attachment[] | undefined {
  const key = o['cni.dev/valid-attachments'] !== undefined ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid(key, 'a list of {containerID, ifname} objects', v);
  return v.map((a, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') {
      throw invalid(`${key}[${i}]`, 'an object {"containerID": string, "ifname": string}', a);
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

/** Decodes stdin into a JSON object, or throws code 6. */
export function decodeConfigObject(stdin: Buffer | string): JsonObject {
  const text = typeof stdin === 'string' ? stdin : stdin.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `network config on stdin is not valid JSON: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (!isObject(parsed)) throw new CniError(CniCode.DecodingFailure, `network config on stdin must be a JSON object, got ${typeName(parsed)}`);
  return parsed;
}

/** Parses the request configuration; `ipamPlugin` relaxes the main plugin's ipam.type rule. */
export function parseNetConf(raw: JsonObject, opts: { ipamPlugin: boolean }): NetConf {
  const version = raw.cniVersion;
  if (version === undefined || version === null || version === '') {
    throw new CniError(CniCode.IncompatibleVersion, 'network config has no "cniVersion"; libcni reads that as 0.1.0, which this plugin does not support: set "cniVersion" to e.g. "1.0.0"');
  }
  if (typeof version !== 'string') throw invalid('cniVersion', 'a string such as "1.0.0"', version);
  const cniVersion = requireSupported(version);

  const name = raw.name;
  if (typeof name !== 'string' || name === '') throw new CniError(CniCode.InvalidNetworkConfig, 'network config has no "name"; give the network a name such as "k8s-pod-network"');
  if (!NAME.test(name)) {
    throw new CniError(CniCode.InvalidNetworkConfig, `network name ${JSON.stringify(name)} has invalid characters: it must start with a letter or digit, followed by letters, digits, "_", "." or "-"`);
  }
  const type = optString(raw, 'type') ?? '';

  const ipamRaw = raw.ipam ?? {};
  if (!isObject(ipamRaw)) throw invalid('ipam', 'an object', ipamRaw);
  const ipamType = optString(ipamRaw, 'type', 'ipam.type') ?? '';
  if (!opts.ipamPlugin && ipamType !== 'tabby-ipam' && ipamType !== 'calico-ipam') {
    throw new CniError(
      CniCode.UnsupportedField,
      `unsupported field ipam.type=${JSON.stringify(ipamType)}: the tabby plugin allocates addresses through Tabby IPAM only; set "ipam": {"type": "tabby-ipam"}`,
    );
  }
  const ipam: IpamConf = {
    type: ipamType,
    assignIpv4: optBool(ipamRaw, 'assign_ipv4', 'ipam.assign_ipv4', true),
    assignIpv6: optBool(ipamRaw, 'assign_ipv6', 'ipam.assign_ipv6', false),
    ipv4Pools: stringList(ipamRaw, 'ipv4_pools', 'ipam.ipv4_pools'),
    ipv6Pools: stringList(ipamRaw, 'ipv6_pools', 'ipam.ipv6_pools'),
  };
  if (!ipam.assignIpv4 && !ipam.assignIpv6) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'ipam.assign_ipv4 and ipam.assign_ipv6 are both false: at least one address family must be assigned');
  }

  const mtuRaw = raw.mtu;
  let mtu = 0;
  if (mtuRaw !== undefined && mtuRaw !== null) {
    if (typeof mtuRaw !== 'number' || !Number.isInteger(mtuRaw) || mtuRaw < 0 || (mtuRaw !== 0 && (mtuRaw < 68 || mtuRaw > 65535))) {
      throw invalid('mtu', 'an integer between 68 and 65535 (or 0 for the default)', mtuRaw);
    }
    mtu = mtuRaw;
  }

  const featureControl = raw.feature_control;
  if (isObject(featureControl)) {
    for (const key of ['floating_ips', 'ip_addrs_no_ipam'] as const) {
      if (featureControl[key] === true) {
        throw new CniError(CniCode.UnsupportedField, `unsupported field feature_control.${key}=true: Tabby does not implement it yet; remove it`);
      }
    }
  }

  const policy = raw.policy;
  if (policy !== undefined && policy !== null && !isObject(policy)) throw invalid('policy', 'an object', policy);
  const containerSettings = raw.container_settings;
  if (containerSettings !== undefined && containerSettings !== null && !isObject(containerSettings)) {
    throw invalid('container_settings', 'an object', containerSettings);
  }
  const runtimeConfig = raw.runtimeConfig;
  if (runtimeConfig !== undefined && runtimeConfig !== null && !isObject(runtimeConfig)) throw invalid('runtimeConfig', 'an object', runtimeConfig);

  const nodename = optString(raw, 'nodename');
  const nodenameFile = optString(raw, 'nodename_file');
  const policyType = isObject(policy) ? optString(policy, 'type', 'policy.type') : undefined;
  const logLevel = optString(raw, 'log_level');
  const valid = attachments(raw);
  return {
    cniVersion,
    name,
    type,
    ipam,
    mtu,
    ...(nodename !== undefined && nodename !== '' ? { nodename } : {}),
    ...(nodenameFile !== undefined && nodenameFile !== '' ? { nodenameFile } : {}),
    nodenameFileOptional: optBool(raw, 'nodename_file_optional', 'nodename_file_optional', false),
    ...(policyType !== undefined ? { policyType } : {}),
    allowIpForwarding: isObject(containerSettings) ? optBool(containerSettings, 'allow_ip_forwarding', 'container_settings.allow_ip_forwarding', false) : false,
    ...(logLevel !== undefined ? { logLevel } : {}),
    ...(raw.prevResult !== undefined && raw.prevResult !== null ? { prevResult: raw.prevResult } : {}),
    ...(isObject(runtimeConfig) ? { runtimeConfig } : {}),
    ...(valid !== undefined ? { validAttachments: valid } : {}),
    raw,
  };
}
