// Kubernetes kinds Tabby stores as its stand-in for the API server: v1 Namespace, v1 Pod and
// networking.k8s.io/v1 NetworkPolicy.
//
// Field names are checked strictly at every level Tabby reads (so a misspelt "contianers" or
// "podSelectr" is an error), while the contents of fields Tabby never interprets (probes,
// volumes, affinity, ...) are left to Kubernetes' own validation and kept as given. The fields
// Tabby does read are validated as Kubernetes does: container ports, label selectors, network
// policy peers and ports, pod IPs.

import * as v from 'valibot';
import { checkLabelKey, checkLabelValue } from '../names.js';
import { type RuleIssue, bool, check, withRules, int, list, obj, oneOf, opt, str, strMap } from '../schema-kit.js';
import { envelopeWithStatus, envelope } from './envelope.js';
import { ipProblem, parseLooseCIDR } from './fields.js';
import { cidrContains } from '../../ip/index.js';

const any = () => v.unknown();

// ---- Label selectors (metav1.LabelSelector) -------------------------------------------------

const SelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

const LabelSelectorRequirement = withRules(obj({ key: str(), operator: oneOf(SelectorOperators), values: opt(list(str())) }), (r: { key: string; operator: string; values?: string[] | undefined }) => {
    const issues: RuleIssue[] = [];
    const bad = checkLabelKey(r.key);
    if (bad !== undefined) issues.push({ path: ['key'], rule: 'label', message: bad });
    const n = (r.values ?? []).length;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) {
      issues.push({ path: ['values'], rule: 'selector-values', message: `operator ${r.operator} needs at least one value` });
    }
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) {
      issues.push({ path: ['values'], rule: 'selector-values', message: `operator ${r.operator} takes no values` });
    }
    (r.values ?? []).forEach((val, i) => {
      const m = checkLabelValue(val);
      if (m !== undefined) issues.push({ path: ['values', i], rule: 'label', message: m });
    });
    return issues;
  });

export const LabelSelectorSchema = obj({
  matchLabels: opt(
    withRules(strMap(), (labels: Record<string, string>) =>
        Object.entries(labels).flatMap(([k, val]) => {
          const bad = checkLabelKey(k) ?? checkLabelValue(val);
          return bad === undefined ? [] : [{ path: [k], rule: 'label', message: bad }];
        }),),
  ),
  matchExpressions: opt(list(LabelSelectorRequirement)),
});
export type LabelSelector = v.InferOutput<typeof LabelSelectorSchema>;

// ---- NetworkPolicy --------------------------------------------------------------------------

const IPBlock = obj({ cidr: str(), except: opt(list(str())) });
const NetworkPolicyPeer = obj({ podSelector: opt(LabelSelectorSchema), namespaceSelector: opt(LabelSelectorSchema), ipBlock: opt(IPBlock) });
const NetworkPolicyPort = obj({
  protocol: opt(oneOf(['TCP', 'UDP', 'SCTP'] as const)),
  port: opt(v.union([v.number(), v.string()], (i) => `must be a port number or name, not ${JSON.stringify(i.input)}`)),
  endPort: opt(int(1, 65535)),
});
const IngressRule = obj({ from: opt(list(NetworkPolicyPeer)), ports: opt(list(NetworkPolicyPort)) });
const EgressRule = obj({ to: opt(list(NetworkPolicyPeer)), ports: opt(list(NetworkPolicyPort)) });

export const K8sNetworkPolicySpecShape = obj({
  podSelector: opt(LabelSelectorSchema),
  ingress: opt(list(IngressRule)),
  egress: opt(list(EgressRule)),
  policyTypes: opt(list(oneOf(['Ingress', 'Egress'] as const), 2)),
});
export type K8sNetworkPolicySpec = v.InferOutput<typeof K8sNetworkPolicySpecShape>;
type Peer = v.InferOutput<typeof NetworkPolicyPeer>;
type Port = v.InferOutput<typeof NetworkPolicyPort>;

const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
function portNameProblem(name: string): string | undefined {
  if (name.length > 15 || !IANA_SVC_NAME.test(name) || !/[a-z]/.test(name) || name.includes('--')) {
    return `port name ${JSON.stringify(name)} is not valid: at most 15 lower-case letters, digits and single "-", with at least one letter`;
  }
  return undefined;
}

function peerIssues(p: Peer, path: (string | number)[]): RuleIssue[] {
  const issues: RuleIssue[] = [];
  if (p.ipBlock !== undefined) {
    if (p.podSelector !== undefined || p.namespaceSelector !== undefined) {
      issues.push({ path: [...path, 'ipBlock'], rule: 'ipblock-exclusive', message: 'ipBlock cannot be combined with podSelector or namespaceSelector in one peer' });
    }
    const c = parseLooseCIDR(p.ipBlock.cidr);
    if (typeof c === 'string' || !p.ipBlock.cidr.includes('/')) {
      issues.push({ path: [...path, 'ipBlock', 'cidr'], rule: 'cidr', message: typeof c === 'string' ? c : `${JSON.stringify(p.ipBlock.cidr)} must be a CIDR (e.g. "10.0.0.0/16")` });
    } else {
      (p.ipBlock.except ?? []).forEach((e, i) => {
        const x = parseLooseCIDR(e);
        if (typeof x === 'string') issues.push({ path: [...path, 'ipBlock', 'except', i], rule: 'cidr', message: x });
        else if (x.family !== c.family || !cidrContains(c, x) || x.prefix <= c.prefix) {
          issues.push({ path: [...path, 'ipBlock', 'except', i], rule: 'except-outside-cidr', message: `${e} must be a strict subset of ${p.ipBlock!.cidr}` });
        }
      });
    }
  } else if (p.podSelector === undefined && p.namespaceSelector === undefined) {
    issues.push({ path, rule: 'empty-peer', message: 'a peer needs podSelector, namespaceSelector or ipBlock' });
  }
  return issues;
}

function portIssues(p: Port, path: (string | number)[]): RuleIssue[] {
  const issues: RuleIssue[] = [];
  if (typeof p.port === 'number') {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) issues.push({ path: [...path, 'port'], rule: 'port', message: `port ${p.port} is out of range; ports are 1–65535` });
    if (p.endPort !== undefined && p.endPort < p.port) issues.push({ path: [...path, 'endPort'], rule: 'end-port', message: `endPort ${p.endPort} must not be below port ${p.port}` });
  } else if (typeof p.port === 'string') {
    const bad = portNameProblem(p.port);
    if (bad !== undefined) issues.push({ path: [...path, 'port'], rule: 'port-name', message: bad });
    if (p.endPort !== undefined) issues.push({ path: [...path, 'endPort'], rule: 'end-port', message: 'endPort needs a numeric port, not a named one' });
  } else if (p.endPort !== undefined) {
    issues.push({ path: [...path, 'endPort'], rule: 'end-port', message: 'endPort needs a numeric port' });
  }
  return issues;
}

export function k8sNetworkPolicySpecRules(s: K8sNetworkPolicySpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  (s.ingress ?? []).forEach((r, i) => {
    (r.from ?? []).forEach((p, j) => issues.push(...peerIssues(p, ['ingress', i, 'from', j])));
    (r.ports ?? []).forEach((p, j) => issues.push(...portIssues(p, ['ingress', i, 'ports', j])));
  });
  (s.egress ?? []).forEach((r, i) => {
    (r.to ?? []).forEach((p, j) => issues.push(...peerIssues(p, ['egress', i, 'to', j])));
    (r.ports ?? []).forEach((p, j) => issues.push(...portIssues(p, ['egress', i, 'ports', j])));
  });
  const seen = new Set<string>();
  (s.policyTypes ?? []).forEach((t, i) => {
    if (seen.has(t)) issues.push({ path: ['policyTypes', i], rule: 'duplicate-type', message: `${t} is listed twice` });
    seen.add(t);
  });
  return issues;
}

export const K8sNetworkPolicySchema = envelope('NetworkPolicy', {
  apiVersion: 'networking.k8s.io/v1',
  namespaced: true,
  spec: withRules(K8sNetworkPolicySpecShape, k8sNetworkPolicySpecRules),
});
export type K8sNetworkPolicy = v.InferOutput<typeof K8sNetworkPolicySchema>;

// ---- Namespace ------------------------------------------------------------------------------

export const NamespaceSchema = envelopeWithStatus('Namespace', {
  apiVersion: 'v1',
  namespaced: false,
  spec: obj({ finalizers: opt(list(str())) }),
  status: obj({ phase: opt(str()), conditions: opt(list(any())) }),
  name: (name) => {
    const ok = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63;
    return ok ? undefined : { rule: 'name', message: `namespace name ${JSON.stringify(name)} must be a DNS-1123 label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit` };
  },
});
export type Namespace = v.InferOutput<typeof NamespaceSchema>;

// ---- Pod ------------------------------------------------------------------------------------

const ContainerPort = obj({
  containerPort: int(1, 65535),
  hostIP: opt(v.pipe(str(), check('ip', (s: string) => ipProblem(s)))),
  hostPort: opt(int(0, 65535)),
  name: opt(v.pipe(str(), check('port-name', portNameProblem))),
  protocol: opt(oneOf(['TCP', 'UDP', 'SCTP'] as const)),
});

const Container = obj({
  name: str(),
  image: opt(str()),
  command: opt(list(str())),
  args: opt(list(str())),
  workingDir: opt(str()),
  ports: opt(list(ContainerPort)),
  env: opt(list(any())),
  envFrom: opt(list(any())),
  resources: opt(any()),
  resizePolicy: opt(list(any())),
  restartPolicy: opt(str()),
  restartPolicyRules: opt(list(any())),
  volumeMounts: opt(list(any())),
  volumeDevices: opt(list(any())),
  livenessProbe: opt(any()),
  readinessProbe: opt(any()),
  startupProbe: opt(any()),
  lifecycle: opt(any()),
  terminationMessagePath: opt(str()),
  terminationMessagePolicy: opt(str()),
  imagePullPolicy: opt(str()),
  securityContext: opt(any()),
  stdin: opt(bool()),
  stdinOnce: opt(bool()),
  tty: opt(bool()),
});

const PodSpecShape = obj({
  containers: opt(list(Container)),
  initContainers: opt(list(Container)),
  ephemeralContainers: opt(list(any())),
  nodeName: opt(str()),
  nodeSelector: opt(strMap()),
  serviceAccountName: opt(str()),
  serviceAccount: opt(str()),
  automountServiceAccountToken: opt(bool()),
  hostNetwork: opt(bool()),
  hostPID: opt(bool()),
  hostIPC: opt(bool()),
  hostUsers: opt(bool()),
  hostname: opt(str()),
  hostnameOverride: opt(str()),
  subdomain: opt(str()),
  setHostnameAsFQDN: opt(bool()),
  shareProcessNamespace: opt(bool()),
  restartPolicy: opt(str()),
  terminationGracePeriodSeconds: opt(int(0, Number.MAX_SAFE_INTEGER)),
  activeDeadlineSeconds: opt(int(1, Number.MAX_SAFE_INTEGER)),
  dnsPolicy: opt(str()),
  dnsConfig: opt(any()),
  hostAliases: opt(list(any())),
  imagePullSecrets: opt(list(any())),
  affinity: opt(any()),
  tolerations: opt(list(any())),
  topologySpreadConstraints: opt(list(any())),
  schedulerName: opt(str()),
  schedulingGates: opt(list(any())),
  priority: opt(int(-2147483648, 2147483647)),
  priorityClassName: opt(str()),
  preemptionPolicy: opt(str()),
  runtimeClassName: opt(str()),
  overhead: opt(any()),
  readinessGates: opt(list(any())),
  resourceClaims: opt(list(any())),
  resources: opt(any()),
  securityContext: opt(any()),
  enableServiceLinks: opt(bool()),
  os: opt(any()),
  volumes: opt(list(any())),
});

const PodStatus = withRules(v.looseObject({
    podIP: opt(str()),
    podIPs: opt(list(obj({ ip: str() }))),
    hostIP: opt(str()),
    phase: opt(str()),
  }), (s: { podIP?: string | undefined; podIPs?: { ip: string }[] | undefined; hostIP?: string | undefined }) => {
    const issues: RuleIssue[] = [];
    if (s.podIP !== undefined && s.podIP !== '') {
      const m = ipProblem(s.podIP);
      if (m !== undefined) issues.push({ path: ['podIP'], rule: 'ip', message: m });
    }
    (s.podIPs ?? []).forEach((p, i) => {
      const m = ipProblem(p.ip);
      if (m !== undefined) issues.push({ path: ['podIPs', i, 'ip'], rule: 'ip', message: m });
    });
    return issues;
  });

export const PodSchema = envelopeWithStatus('Pod', {
  apiVersion: 'v1',
  namespaced: true,
  spec: withRules(PodSpecShape, (s: v.InferOutput<typeof PodSpecShape>) => {
      const issues: RuleIssue[] = [];
      if ((s.containers ?? []).length === 0) issues.push({ path: ['containers'], rule: 'required', message: 'a Pod needs at least one container' });
      const names = new Map<string, string>();
      (s.containers ?? []).forEach((c, i) =>
        (c.ports ?? []).forEach((p, j) => {
          if (p.name === undefined) return;
          if (names.has(p.name)) issues.push({ path: ['containers', i, 'ports', j, 'name'], rule: 'duplicate', message: `port name ${p.name} is already used by ${names.get(p.name)}` });
          names.set(p.name, `containers[${i}].ports[${j}]`);
        }),
      );
      return issues;
    }),
  status: PodStatus,
});
export type Pod = v.InferOutput<typeof PodSchema>;
