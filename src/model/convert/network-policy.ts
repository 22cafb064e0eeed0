// Kubernetes NetworkPolicy → Calico NetworkPolicy knp.default.<name> (etcd mode, as
// kube-controllers writes it; calico-internals §2.3): tier default, order 1000; the pod selector
// prefixed with projectcalico.org/orchestrator == 'k8s'; one Allow rule per peer and protocol
// (protocols sorted, TCP when a port entry gives none), ports coalesced into ranges, endPort as
// "port:endPort"; ipBlock → nets/notNets; types from policyTypes, else (as the API server
// defaults them) Ingress, plus Egress when egress rules are present.

import { formatCIDR, tryParseCIDR } from '../../ip/index.js';
import { type K8sLabelSelector, k8sLabelSelectorToCalico } from '../../selector/index.js';
import { CALICO_API_VERSION } from '../kinds.js';
import type { K8sNetworkPolicy, LabelSelector } from '../resources/k8s.js';
import type { NetworkPolicy } from '../resources/policies.js';
import type { Rule } from '../resources/rules.js';
import { ConversionError, K8S_POLICY_ORDER, uidOf } from './common.js';
import { K8S_NETWORK_POLICY_PREFIX } from './names.js';

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

/** The validated LabelSelector in the selector module's shape (absent fields left out). */
function selectorOf(s: LabelSelector | undefined): K8sLabelSelector | undefined {
  if (s === undefined) return undefined;
  return {
    ...(s.matchLabels !== undefined ? { matchLabels: s.matchLabels } : {}),
    ...(s.matchExpressions !== undefined
      ? { matchExpressions: s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values !== undefined ? { values: e.values } : {}) })) }
      : {}),
  };
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
  const selector = k8sLabelSelectorToCalico(selectorOf(peer.podSelector), { selectorType: 'pod' });
  const namespaceSelector = k8sLabelSelectorToCalico(selectorOf(peer.namespaceSelector), { selectorType: 'namespace' });
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
  // Kubernetes' API server fills an empty policyTypes with Ingress, plus Egress when the policy
  // has egress rules (SetDefaults_NetworkPolicy); Tabby stands in for the API server, so the
  // defaulting happens here before Calico's own "empty means Ingress".
  const declared = (np.spec.policyTypes ?? []).length > 0 ? np.spec.policyTypes! : (np.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
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
      selector: k8sLabelSelectorToCalico(selectorOf(np.spec.podSelector), { selectorType: 'pod' }),
      ...(ingress.length > 0 ? { ingress } : {}),
      ...(egress.length > 0 ? { egress } : {}),
      types,
    },
  };
}

