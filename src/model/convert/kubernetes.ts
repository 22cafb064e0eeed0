// Kubernetes → Calico conversions, as Calico's Kubernetes datastore and kube-controllers do
// them (calico-internals §1.2, §2.2, §2.3, §5.2):
//
// - Namespace → Profile kns.<ns>: labelsToApply pcns.<k>=<v> plus pcns.projectcalico.org/name,
//   one Allow rule each way.
// - NetworkPolicy → Calico NetworkPolicy knp.default.<name>, tier default, order 1000: the pod
//   selector prefixed with projectcalico.org/orchestrator == 'k8s'; one Allow rule per peer and
//   protocol (protocols sorted, TCP when unset), ports coalesced into ranges, endPort as
//   "port:endPort"; ipBlock → nets/notNets; types from policyTypes, else Ingress.
// - Pod → WorkloadEndpoint <node>-k8s-<pod>-<endpoint>: pod labels plus
//   projectcalico.org/namespace, projectcalico.org/orchestrator: k8s and (names < 63 characters)
//   projectcalico.org/serviceaccount; profiles kns.<ns> and ksa.<ns>.<sa>; named ports (and
//   host ports) from the containers; host veth cali + sha1("<ns>.<pod>")[:11].
//
// The results are plain projectcalico.org/v3 objects; they pass validateResource.

import { formatCIDR, parseCIDR, tryParseCIDR } from '../../ip/index.js';
import type { K8sNetworkPolicy, Namespace, Pod } from '../resources/k8s.js';
import type { NetworkPolicy, Profile } from '../resources/policies.js';
import type { Rule } from '../resources/rules.js';
import type { WorkloadEndpoint } from '../resources/endpoints.js';
import { CALICO_API_VERSION } from '../kinds.js';
import { labelSelectorToCalico } from './label-selector.js';
import {
  K8S_NETWORK_POLICY_PREFIX,
  derivedUID,
  namespaceProfileName,
  serviceAccountProfileName,
  vethNameForWorkload,
  workloadEndpointName,
} from './names.js';

export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';
export const NAME_LABEL = 'projectcalico.org/name';
export const K8S_POLICY_ORDER = 1000;

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
  readonly code = 'ConversionFailed';
}

function uidOf(uid: string | undefined): { uid: string } | Record<string, never> {
  if (uid === undefined || uid === '') return {};
  try {
    return { uid: derivedUID(uid) };
  } catch {
    return {};
  }
}

// ---- Namespace → Profile --------------------------------------------------------------------

export function namespaceToProfile(ns: Namespace): Profile {
  const name = ns.metadata.name ?? '';
  if (name === '') throw new ConversionError('a Namespace without a name cannot be converted to a Profile');
  const labelsToApply: Record<string, string> = {};
  for (const [k, val] of Object.entries(ns.metadata.labels ?? {})) labelsToApply[NAMESPACE_LABEL_PREFIX + k] = val;
  labelsToApply[NAMESPACE_LABEL_PREFIX + NAME_LABEL] = name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: {
      name: namespaceProfileName(name),
      ...uidOf(ns.metadata.uid),
      ...(ns.metadata.creationTimestamp ? { creationTimestamp: ns.metadata.creationTimestamp } : {}),
    },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }], labelsToApply },
  };
}

/** The Profile for a service account: labels pcsa.<k>=<v> and pcsa.projectcalico.org/name, no rules. */
export function serviceAccountToProfile(sa: { metadata: { name?: string | undefined; namespace?: string | undefined; labels?: Record<string, string> | undefined } }): Profile {
  const name = sa.metadata.name ?? '';
  if (name === '') throw new ConversionError('a ServiceAccount without a name cannot be converted to a Profile');
  const labelsToApply: Record<string, string> = {};
  for (const [k, val] of Object.entries(sa.metadata.labels ?? {})) labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + k] = val;
  labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + NAME_LABEL] = name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: serviceAccountProfileName(sa.metadata.namespace ?? 'default', name) },
    spec: { labelsToApply },
  };
}

// ---- NetworkPolicy → Calico NetworkPolicy ---------------------------------------------------

type KSpec = K8sNetworkPolicy['spec'];
type KPeer = NonNullable<NonNullable<KSpec['ingress']>[number]['from']>[number];
type KPort = NonNullable<NonNullable<KSpec['ingress']>[number]['ports']>[number];
type CalicoPort = number | string;

/** Coalesces numeric ports into ranges; named ports pass through first (Calico's SimplifyPorts). */
export function simplifyPorts(ports: readonly CalicoPort[]): CalicoPort[] {
  if (ports.length <= 1) return [...ports];
  const numeric: number[] = [];
  const out: CalicoPort[] = [];
  for (const p of ports) {
    const range = typeof p === 'number' ? [p, p] : /^(\d+)(?::(\d+))?$/.exec(p)?.slice(1).map((x, i, a) => Number(x ?? a[0]));
    if (range === undefined) {
      out.push(p);
      continue;
    }
    for (let i = range[0]!; i <= range[1]!; i++) numeric.push(i);
  }
  if (numeric.length <= 1) return [...ports];
  numeric.sort((a, b) => a - b);
  let i = 0;
  while (i < numeric.length) {
    const first = numeric[i]!;
    let last = first;
    i++;
    while (i < numeric.length && numeric[i]! <= last + 1) last = numeric[i++]!;
    out.push(first === last ? first : `${first}:${last}`);
  }
  return out;
}

/** A port entry's protocol (TCP when unset, as Kubernetes defines) and ports (undefined = all). */
function convertPort(p: KPort): { protocol: string; ports: CalicoPort[] | undefined } {
  const protocol = p.protocol ?? 'TCP';
  if (p.port === undefined) return { protocol, ports: undefined };
  if (p.endPort !== undefined) return { protocol, ports: [`${p.port}:${p.endPort}`] };
  return { protocol, ports: [p.port] };
}

function convertPeer(peer: KPeer | undefined): { selector?: string; namespaceSelector?: string; nets?: string[]; notNets?: string[] } {
  if (peer === undefined) return {};
  if (peer.ipBlock !== undefined) {
    const net = tryParseCIDR(peer.ipBlock.cidr, { lenient: true });
    if (net === undefined) throw new ConversionError(`ipBlock cidr ${JSON.stringify(peer.ipBlock.cidr)} is not a CIDR`);
    const notNets = (peer.ipBlock.except ?? []).map((e) => {
      const c = tryParseCIDR(e, { lenient: true });
      if (c === undefined) throw new ConversionError(`ipBlock except ${JSON.stringify(e)} is not a CIDR`);
      return formatCIDR(c);
    });
    return { nets: [formatCIDR(net)], ...(notNets.length > 0 ? { notNets } : {}) };
  }
  const selector = labelSelectorToCalico(peer.podSelector, 'pod');
  const namespaceSelector = labelSelectorToCalico(peer.namespaceSelector, 'namespace');
  return { ...(selector === '' ? {} : { selector }), ...(namespaceSelector === '' ? {} : { namespaceSelector }) };
}

function convertRules(peers: readonly KPeer[] | undefined, ports: readonly KPort[] | undefined, direction: 'ingress' | 'egress'): Rule[] {
  const peerList: (KPeer | undefined)[] = peers !== undefined && peers.length > 0 ? [...peers] : [undefined];
  // protocol ("" = any) → ports (undefined = every port)
  const byProtocol = new Map<string, CalicoPort[] | undefined>();
  if (ports === undefined || ports.length === 0) byProtocol.set('', undefined); // any protocol, any port
  for (const p of ports ?? []) {
    const c = convertPort(p);
    if (c.ports === undefined) byProtocol.set(c.protocol, undefined);
    else if (!byProtocol.has(c.protocol) || byProtocol.get(c.protocol) !== undefined) {
      byProtocol.set(c.protocol, [...(byProtocol.get(c.protocol) ?? []), ...c.ports]);
    }
  }
  const rules: Rule[] = [];
  for (const protocol of [...byProtocol.keys()].sort()) {
    const portList = byProtocol.get(protocol);
    const simplified = portList === undefined ? undefined : simplifyPorts(portList);
    for (const peer of peerList) {
      const entity = convertPeer(peer);
      const rule: Rule = { action: 'Allow', ...(protocol === '' ? {} : { protocol }) };
      const portsPart = simplified === undefined || simplified.length === 0 ? {} : { ports: simplified };
      if (direction === 'ingress') {
        if (Object.keys(entity).length > 0) rule.source = entity;
        if (Object.keys(portsPart).length > 0) rule.destination = portsPart;
      } else {
        const dest = { ...portsPart, ...entity };
        if (Object.keys(dest).length > 0) rule.destination = dest;
      }
      rules.push(rule);
    }
  }
  return rules;
}

/** Calico's policy for a Kubernetes NetworkPolicy (etcd mode: knp.default.<name>). */
export function k8sNetworkPolicyToCalico(np: K8sNetworkPolicy): NetworkPolicy {
  const name = np.metadata.name ?? '';
  const namespace = np.metadata.namespace ?? '';
  if (name === '' || namespace === '') throw new ConversionError('a NetworkPolicy needs a name and a namespace to be converted');
  const ingress = (np.spec.ingress ?? []).flatMap((r) => convertRules(r.from, r.ports, 'ingress'));
  const egress = (np.spec.egress ?? []).flatMap((r) => convertRules(r.to, r.ports, 'egress'));
  const declared = np.spec.policyTypes ?? [];
  const types: ('Ingress' | 'Egress')[] = [];
  if (declared.includes('Ingress')) types.push('Ingress');
  if (declared.includes('Egress')) types.push('Egress');
  if (types.length === 0) types.push('Ingress');
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'NetworkPolicy',
    metadata: {
      name: K8S_NETWORK_POLICY_PREFIX + name,
      namespace,
      ...uidOf(np.metadata.uid),
      ...(np.metadata.creationTimestamp ? { creationTimestamp: np.metadata.creationTimestamp } : {}),
    },
    spec: {
      tier: 'default',
      order: K8S_POLICY_ORDER,
      selector: labelSelectorToCalico(np.spec.podSelector ?? {}, 'pod'),
      ...(ingress.length > 0 ? { ingress } : {}),
      ...(egress.length > 0 ? { egress } : {}),
      types,
    },
  };
}

// ---- Pod → WorkloadEndpoint -----------------------------------------------------------------

export interface PodToWorkloadEndpointOptions {
  /** The node the pod runs on; defaults to spec.nodeName. */
  readonly node?: string;
  /** Interface name inside the pod (the endpoint); defaults to eth0. */
  readonly endpoint?: string;
  readonly containerID?: string;
  /** Host-side interface name; defaults to the Calico veth name for the pod. */
  readonly interfaceName?: string;
  /** Addresses (/32, /128, or bare IPs); defaults to the pod's status IPs or Calico's podIP(s) annotations. */
  readonly ipNetworks?: readonly string[];
  readonly mac?: string;
  /** Felix InterfacePrefix for the veth name (default "cali"). */
  readonly interfacePrefix?: string;
}

const FINISHED_PHASES = new Set(['Failed', 'Succeeded', 'Completed']);

function hostNet(ip: string): string {
  const c = tryParseCIDR(ip, { lenient: true });
  if (c === undefined) throw new ConversionError(`pod IP ${JSON.stringify(ip)} is not an IP address`);
  return formatCIDR(c);
}

function podIPs(pod: Pod): string[] {
  const status = (pod.status ?? {}) as { podIP?: string; podIPs?: { ip: string }[]; phase?: string };
  const ann = pod.metadata.annotations ?? {};
  let ips: string[] = [];
  if ((status.podIPs ?? []).length > 0) ips = status.podIPs!.map((p) => p.ip);
  else if (status.podIP) ips = [status.podIP];
  else if (ann['cni.projectcalico.org/podIPs']) ips = ann['cni.projectcalico.org/podIPs'].split(',');
  else if (ann['cni.projectcalico.org/podIP']) ips = [ann['cni.projectcalico.org/podIP']];
  else if (ann['vpc.amazonaws.com/pod-ips']) ips = ann['vpc.amazonaws.com/pod-ips'].split(',');
  // A finished pod has given its addresses back to IPAM.
  if (status.phase !== undefined && FINISHED_PHASES.has(status.phase)) return [];
  return ips.map(hostNet);
}

function namedPorts(pod: Pod): NonNullable<WorkloadEndpoint['spec']['ports']> {
  const out: NonNullable<WorkloadEndpoint['spec']['ports']> = [];
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (p.containerPort === 0 || ((p.hostPort ?? 0) === 0 && (p.name ?? '') === '')) continue;
      out.push({
        ...(p.name ? { name: p.name } : {}),
        protocol: p.protocol ?? 'TCP',
        port: p.containerPort,
        ...(p.hostPort ? { hostPort: p.hostPort } : {}),
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      });
    }
  }
  return out;
}

function jsonList(annotation: string, what: string): string[] {
  try {
    const v = JSON.parse(annotation) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* reported below */
  }
  throw new ConversionError(`annotation ${what} must be a JSON list of strings, not ${JSON.stringify(annotation)}`);
}

export function podToWorkloadEndpoint(pod: Pod, opts: PodToWorkloadEndpointOptions = {}): WorkloadEndpoint {
  const podName = pod.metadata.name ?? '';
  const namespace = pod.metadata.namespace ?? 'default';
  const node = opts.node ?? pod.spec.nodeName ?? '';
  if (podName === '') throw new ConversionError('a Pod without a name cannot be converted to a WorkloadEndpoint');
  if (node === '') throw new ConversionError(`pod ${namespace}/${podName} is not scheduled: it has no spec.nodeName and no node was given`);
  const endpoint = opts.endpoint ?? 'eth0';
  const sa = pod.spec.serviceAccountName ?? '';
  const ann = pod.metadata.annotations ?? {};

  const labels: Record<string, string> = { ...(pod.metadata.labels ?? {}) };
  labels[LABEL_NAMESPACE] = namespace;
  labels[LABEL_ORCHESTRATOR] = 'k8s';
  if (sa !== '' && sa.length < 63) labels[LABEL_SERVICE_ACCOUNT] = sa;

  const profiles = [namespaceProfileName(namespace)];
  if (sa !== '') profiles.push(serviceAccountProfileName(namespace, sa));

  const ipNetworks = opts.ipNetworks !== undefined ? opts.ipNetworks.map(hostNet) : podIPs(pod);

  // Floating IPs become 1:1 NATs onto the pod's address of the same family.
  const ipNATs: { internalIP: string; externalIP: string }[] = [];
  const floating = ann['cni.projectcalico.org/floatingIPs'];
  if (floating !== undefined && ipNetworks.length > 0) {
    for (const ext of jsonList(floating, 'cni.projectcalico.org/floatingIPs')) {
      const fam = ext.includes(':') ? 6 : 4;
      const internal = ipNetworks.map((n) => parseCIDR(n)).find((c) => c.family === fam);
      if (internal !== undefined) ipNATs.push({ internalIP: formatCIDR(internal).replace(/\/\d+$/, ''), externalIP: ext });
    }
  }
  const spoof = ann['cni.projectcalico.org/allowedSourcePrefixes'];
  const allowSpoofedSourcePrefixes =
    spoof === undefined || spoof === ''
      ? []
      : jsonList(spoof, 'cni.projectcalico.org/allowedSourcePrefixes').map((p) => {
          const c = tryParseCIDR(p, { lenient: true });
          if (c === undefined || !p.includes('/')) throw new ConversionError(`allowedSourcePrefixes entry ${JSON.stringify(p)} is not a CIDR`);
          return formatCIDR(c);
        });
  const containerID = opts.containerID ?? ann['cni.projectcalico.org/containerID'] ?? '';
  const ports = namedPorts(pod);
  const networkStatus = ann['k8s.v1.cni.cncf.io/network-status'];

  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: workloadEndpointName({ node, orchestrator: 'k8s', pod: podName, endpoint }),
      namespace,
      labels,
      ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
      ...(pod.metadata.generateName ? { generateName: pod.metadata.generateName } : {}),
      ...(pod.metadata.creationTimestamp ? { creationTimestamp: pod.metadata.creationTimestamp } : {}),
      ...(networkStatus !== undefined ? { annotations: { 'k8s.v1.cni.cncf.io/network-status': networkStatus } } : {}),
    },
    spec: {
      orchestrator: 'k8s',
      node,
      pod: podName,
      ...(containerID !== '' ? { containerID } : {}),
      endpoint,
      interfaceName: opts.interfaceName ?? vethNameForWorkload(namespace, podName, opts.interfacePrefix),
      profiles,
      ...(ipNetworks.length > 0 ? { ipNetworks } : {}),
      ...(ports.length > 0 ? { ports } : {}),
      ...(ipNATs.length > 0 ? { ipNATs } : {}),
      ...(sa !== '' ? { serviceAccountName: sa } : {}),
      ...(allowSpoofedSourcePrefixes.length > 0 ? { allowSpoofedSourcePrefixes } : {}),
      ...(opts.mac !== undefined ? { mac: opts.mac } : {}),
    },
  };
}

/** True when Calico would give the pod a WorkloadEndpoint: scheduled and not host-networked. */
export function isCalicoPod(pod: Pod): boolean {
  return (pod.spec.nodeName ?? '') !== '' && pod.spec.hostNetwork !== true;
}

