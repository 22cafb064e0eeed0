// Pod → WorkloadEndpoint <node>-k8s-<pod>-<endpoint>, as Calico's Kubernetes datastore and CNI
// plugin build it (calico-internals §2.4, §5.2): pod labels plus projectcalico.org/namespace,
// projectcalico.org/orchestrator: k8s and (names under 63 characters)
// projectcalico.org/serviceaccount; profiles kns.<ns> and ksa.<ns>.<sa>; named ports and host
// ports from the containers (TCP, UDP, SCTP only); host veth cali + sha1("<ns>.<pod>")[:11];
// addresses from the CNI result, else the pod status, else Calico's podIP(s) annotations.

import { formatCIDR, parseCIDR, tryParseCIDR } from '../../ip/index.js';
import { CALICO_API_VERSION } from '../kinds.js';
import type { WorkloadEndpoint } from '../resources/endpoints.js';
import type { Pod } from '../resources/k8s.js';
import { ConversionError, LABEL_NAMESPACE, LABEL_ORCHESTRATOR, LABEL_SERVICE_ACCOUNT } from './common.js';
import { namespaceProfileName, serviceAccountProfileName, vethNameForWorkload, workloadEndpointName } from './names.js';

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
      const protocol: string = p.protocol ?? 'TCP'; // Kubernetes' default
      if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) continue; // Calico ignores other protocols
      out.push({
        ...(p.name ? { name: p.name } : {}),
        protocol,
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

