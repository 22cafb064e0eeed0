// Names Calico derives for workloads (calico-internals §5.2; libcalico-go names package):
//
// - WorkloadEndpoint name: the identifying segments joined by "-", with every "-" inside a
//   segment doubled so the name can be split again. Kubernetes: <node>-k8s-<pod>-<endpoint>
//   (node-1, web-abc, eth0 → node--1-k8s-web--abc-eth0); CNI: <node>-cni-<containerID>-<ep>;
//   others: <node>-<orchestrator>-<workload>-<ep>.
// - Host-side veth: the interface prefix (default "cali") + the first 11 hex digits of
//   sha1("<namespace>.<pod>"), so the CNI plugin and the agent agree without talking.
// - Profiles: kns.<namespace> and ksa.<namespace>.<serviceaccount>.

import { createHash } from 'node:crypto';

export const NAMESPACE_PROFILE_PREFIX = 'kns.';
export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.';
export const K8S_NETWORK_POLICY_PREFIX = 'knp.default.';
export const DEFAULT_INTERFACE_PREFIX = 'cali';

export interface WorkloadEndpointIdentifiers {
  readonly node: string;
  /** "k8s", "cni", or another orchestrator name. */
  readonly orchestrator: string;
  readonly endpoint: string;
  /** Kubernetes only. */
  readonly pod?: string;
  /** CNI only. */
  readonly containerID?: string;
  /** Other orchestrators. */
  readonly workload?: string;
}

export class WorkloadEndpointNameError extends Error {
  override readonly name = 'WorkloadEndpointNameError';
  readonly code = 'InvalidWorkloadEndpointName';
}

const escape = (segment: string) => segment.replaceAll('-', '--');

/** The WorkloadEndpoint name for these identifiers; every segment must be non-empty. */
export function workloadEndpointName(ids: WorkloadEndpointIdentifiers): string {
  const middle = ids.orchestrator === 'k8s' ? ids.pod : ids.orchestrator === 'cni' ? ids.containerID : ids.workload;
  const what = ids.orchestrator === 'k8s' ? 'pod' : ids.orchestrator === 'cni' ? 'containerID' : 'workload';
  const segments: [string, string | undefined][] = [
    ['node', ids.node],
    ['orchestrator', ids.orchestrator],
    [what, middle],
    ['endpoint', ids.endpoint],
  ];
  for (const [field, value] of segments) {
    if (value === undefined || value === '') {
      throw new WorkloadEndpointNameError(`cannot name a ${ids.orchestrator} workload endpoint without its ${field}`);
    }
  }
  return segments.map(([, value]) => escape(value!)).join('-');
}

/** Splits a WorkloadEndpoint name back into its identifiers (the inverse of workloadEndpointName). */
export function parseWorkloadEndpointName(name: string): WorkloadEndpointIdentifiers {
  // Split on each "-" that is not part of a doubled "--".
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '-') {
      if (name[i + 1] === '-') {
        cur += '-';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += name[i];
  }
  parts.push(cur);
  if (parts.length !== 4 || parts.some((p) => p === '')) {
    throw new WorkloadEndpointNameError(
      `"${name}" is not a workload endpoint name: expected <node>-<orchestrator>-<workload>-<endpoint> with "-" inside a segment written as "--"`,
    );
  }
  const [node, orchestrator, middle, endpoint] = parts as [string, string, string, string];
  if (orchestrator === 'k8s') return { node, orchestrator, pod: middle, endpoint };
  if (orchestrator === 'cni') return { node, orchestrator, containerID: middle, endpoint };
  return { node, orchestrator, workload: middle, endpoint };
}

/**
 * The host-side veth name for a Kubernetes pod. `interfacePrefix` is Felix's InterfacePrefix
 * (a comma-separated list; the first entry is used), "cali" by default.
 */
export function vethNameForWorkload(namespace: string, pod: string, interfacePrefix = DEFAULT_INTERFACE_PREFIX): string {
  const prefix = interfacePrefix === '' ? DEFAULT_INTERFACE_PREFIX : interfacePrefix.split(',')[0]!;
  return prefix + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

/** The host-side veth name for a non-Kubernetes (CNI) workload: prefix + first 11 characters of the container ID. */
export function vethNameForContainer(containerID: string, interfacePrefix = DEFAULT_INTERFACE_PREFIX): string {
  const prefix = interfacePrefix === '' ? DEFAULT_INTERFACE_PREFIX : interfacePrefix.split(',')[0]!;
  return prefix + containerID.slice(0, 11);
}

export function namespaceProfileName(namespace: string): string {
  return NAMESPACE_PROFILE_PREFIX + namespace;
}

export function serviceAccountProfileName(namespace: string, serviceAccount: string): string {
  return `${SERVICE_ACCOUNT_PROFILE_PREFIX}${namespace === '' ? 'default' : namespace}.${serviceAccount}`;
}

/** The namespace a kns.<ns> profile stands for, or undefined if the name is not one. */
export function profileNameToNamespace(profile: string): string | undefined {
  return profile.startsWith(NAMESPACE_PROFILE_PREFIX) ? profile.slice(NAMESPACE_PROFILE_PREFIX.length) : undefined;
}

/** The namespace and service account a ksa.<ns>.<sa> profile stands for. */
export function profileNameToServiceAccount(profile: string): { namespace: string; serviceAccount: string } | undefined {
  if (!profile.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)) return undefined;
  const rest = profile.slice(SERVICE_ACCOUNT_PROFILE_PREFIX.length);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) return undefined;
  return { namespace: rest.slice(0, dot), serviceAccount: rest.slice(dot + 1) };
}

/**
 * A UID derived from another one, as Calico derives a Profile's UID from its Namespace's: the
 * bits of each byte are reversed except the UUID version (byte 6) and variant (byte 8) bytes.
 */
export function derivedUID(uid: string): string {
  const hex = uid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new WorkloadEndpointNameError(`"${uid}" is not a UUID`);
  const bytes = Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  const reverse = (b: number) => {
    let r = 0;
    for (let i = 0; i < 8; i++) r |= ((b >> i) & 1) << (7 - i);
    return r;
  };
  const out = bytes.map((b, i) => (i === 6 || i === 8 ? b : reverse(b)));
  const h = out.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
