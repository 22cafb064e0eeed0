// The Kubernetes network policy e2e cases (kubernetes test/e2e/network/netpol/network_policy.go),
// encoded as data: the pods each case creates (a subset of x, y, z × a, b, c serving ports 80
// and 81 over TCP, UDP and SCTP with container ports named serve-<port>-<proto>), the policies,
// label and policy updates in order, and the reachability each probe must show, written with
// the upstream truth-table builders (start all-allowed, then ExpectPeer / ExpectAllIngress /
// ExpectAllEgress / Expect in order). As upstream, loopback cells are not compared.
// Written from the upstream test's descriptions; no upstream code is reused.

export type Proto = 'TCP' | 'UDP' | 'SCTP';
export interface Peer {
  readonly ns?: string;
  readonly pod?: string;
}
export type Expectation =
  | { readonly op: 'peer'; readonly from: Peer; readonly to: Peer; readonly allowed: boolean }
  | { readonly op: 'allIngress'; readonly pod: string; readonly allowed: boolean }
  | { readonly op: 'allEgress'; readonly pod: string; readonly allowed: boolean }
  | { readonly op: 'pair'; readonly from: string; readonly to: string; readonly allowed: boolean };
export interface Probe {
  readonly port: number;
  readonly protocol: Proto;
  readonly expect: readonly Expectation[];
}
type Doc = Record<string, unknown>;
export interface Step {
  readonly create?: readonly Doc[];
  readonly deleteAllPolicies?: boolean;
  readonly podLabels?: { readonly pod: string; readonly labels: Record<string, string> };
  readonly namespaceLabels?: { readonly ns: string; readonly labels: Record<string, string> };
  readonly probes: readonly Probe[];
}
export interface NetpolCase {
  readonly name: string;
  readonly pods: readonly string[];
  readonly steps: readonly Step[];
}

export const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';
const NS_INDEX: Record<string, number> = { x: 1, y: 2, z: 3 };
const POD_INDEX: Record<string, number> = { a: 1, b: 2, c: 3 };

/** The address the fixture gives pod "ns/pod": 10.0.<ns>.<pod>. */
export function podIP(pod: string): string {
  const [ns, name] = pod.split('/') as [string, string];
  return `10.0.${NS_INDEX[ns]}.${POD_INDEX[name]}`;
}

type Sel = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
type IngressRule = { from?: Doc[]; ports?: Doc[] };
type EgressRule = { to?: Doc[]; ports?: Doc[] };

/** A NetworkPolicy as upstream's GenNetworkPolicyWithNameAndPod* + SetSpecIngressRules/SetSpecEgressRules build it. */
function policy(ns: string, name: string, podSelector: Sel, rules: { ingress?: IngressRule[]; egress?: EgressRule[]; policyTypes?: string[] }): Doc {
  const policyTypes = rules.policyTypes ?? [...(rules.ingress !== undefined ? ['Ingress'] : []), ...(rules.egress !== undefined ? ['Egress'] : [])];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec: { podSelector, ...(rules.ingress !== undefined ? { ingress: rules.ingress } : {}), ...(rules.egress !== undefined ? { egress: rules.egress } : {}), policyTypes },
  };
}

const podA: Sel = { matchLabels: { pod: 'a' } };
const all: Sel = {};
const nsIs = (ns: string): Sel => ({ matchLabels: { [NAMESPACE_LABEL]: ns } });
const nsNotIn = (ns: string): Sel => ({ matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'NotIn', values: [ns] }] });
const port = (p: number | string, protocol?: Proto): Doc => ({ port: p, ...(protocol === undefined ? {} : { protocol }) });

const peer = (from: Peer, to: Peer, allowed: boolean): Expectation => ({ op: 'peer', from, to, allowed });
const allIngress = (pod: string, allowed: boolean): Expectation => ({ op: 'allIngress', pod, allowed });
const allEgress = (pod: string, allowed: boolean): Expectation => ({ op: 'allEgress', pod, allowed });
const pair = (from: string, to: string, allowed: boolean): Expectation => ({ op: 'pair', from, to, allowed });
const tcp = (p: number, ...expect: Expectation[]): Probe => ({ port: p, protocol: 'TCP', expect });
const udp = (p: number, ...expect: Expectation[]): Probe => ({ port: p, protocol: 'UDP', expect });
const sctp = (p: number, ...expect: Expectation[]): Probe => ({ port: p, protocol: 'SCTP', expect });
const X = { ns: 'x' };
const Y = { ns: 'y' };
const Z = { ns: 'z' };
const ANY = {};

/** makeLargeCIDRForIP: the /4 around an IPv4 address. */
function largeCIDR(ip: string): string {
  const first = Number(ip.split('.')[0]) & 0xf0;
  return `${first}.0.0.0/4`;
}

/**
 * The cases with pod addresses from `ipOf` ("ns/pod" → IPv4) where a policy names them (the
 * ipBlock cases): the fixture's 10.0.<ns>.<pod> by default, a lab's real addresses otherwise.
 */
export function netpolCases(ipOf: (pod: string) => string = podIP): readonly NetpolCase[] {
  return [
    {
      name: "should support a 'default-deny-ingress' policy",
      pods: ['x/a', 'x/b', 'y/a', 'y/b'],
      steps: [{ create: [policy('x', 'deny-ingress', all, { ingress: [] })], probes: [tcp(80, peer(ANY, X, false))] }],
    },
    {
      name: "should support a 'default-deny-all' policy",
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'deny-all', all, { ingress: [], egress: [] })], probes: [tcp(80, peer(ANY, X, false), peer(X, ANY, false))] }],
    },
    {
      name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
      pods: ['x/a', 'x/b', 'x/c', 'y/a'],
      steps: [{ create: [policy('x', 'x-a-allows-x-b', podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })], probes: [tcp(80, allIngress('x/a', false), pair('x/b', 'x/a', true))] }],
    },
    {
      name: 'should enforce policy to allow ingress traffic for a target',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [
        {
          create: [policy('x', 'deny-all', all, { ingress: [] }), policy('x', 'allow-all-to-a', podA, { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] })],
          probes: [tcp(80, allIngress('x/a', true), allIngress('x/b', false))],
        },
      ],
    },
    {
      name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [{ create: [policy('x', 'allow-from-another-ns', podA, { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })], probes: [tcp(80)] }],
    },
    {
      name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [{ create: [policy('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }] }] })], probes: [tcp(80, peer(X, { ns: 'x', pod: 'a' }, false), peer(Z, { ns: 'x', pod: 'a' }, false))] }],
    },
    {
      name: 'should enforce policy based on PodSelector with MatchExpressions',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [
        {
          create: [policy('x', 'x-a-allows-x-b', podA, { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }] })],
          probes: [tcp(80, allIngress('x/a', false), pair('x/b', 'x/a', true))],
        },
      ],
    },
    {
      name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-ns-y-match-selector', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'In', values: ['y'] }] } }] }] })],
          probes: [tcp(80, peer(X, { ns: 'x', pod: 'a' }, false), peer(Z, { ns: 'x', pod: 'a' }, false))],
        },
      ],
    },
    {
      name: 'should enforce policy based on PodSelector or NamespaceSelector',
      pods: ['x/a', 'x/b', 'x/c', 'y/a'],
      steps: [
        {
          create: [policy('x', 'allow-ns-y-match-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsNotIn('x') }, { podSelector: { matchLabels: { pod: 'b' } } }] }] })],
          probes: [tcp(80, pair('x/a', 'x/a', false), pair('x/c', 'x/a', false))],
        },
      ],
    },
    {
      name: 'should enforce policy based on PodSelector and NamespaceSelector',
      pods: ['x/a', 'x/b', 'y/a', 'y/b', 'z/b'],
      steps: [
        {
          create: [policy('x', 'allow-ns-y-podselector-and-nsselector', podA, { ingress: [{ from: [{ namespaceSelector: nsNotIn('x'), podSelector: { matchLabels: { pod: 'b' } } }] }] })],
          probes: [tcp(80, allIngress('x/a', false), pair('y/b', 'x/a', true), pair('z/b', 'x/a', true))],
        },
      ],
    },
    {
      name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
      pods: ['x/a', 'x/b', 'y/a', 'y/b', 'y/c'],
      steps: [
        {
          create: [
            policy('x', 'allow-ns-y-z-pod-b-c', podA, {
              ingress: [{ from: [{ namespaceSelector: nsNotIn('x'), podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] }],
            }),
          ],
          probes: [tcp(80, peer(X, { ns: 'x', pod: 'a' }, false), pair('y/a', 'x/a', false))],
        },
      ],
    },
    {
      name: 'should enforce policy based on any PodSelectors',
      pods: ['x/a', 'x/b', 'x/c'],
      steps: [
        {
          create: [policy('x', 'allow-ns-x-pod-b-c', podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { podSelector: { matchLabels: { pod: 'c' } } }] }] })],
          probes: [tcp(80, allIngress('x/a', false), pair('x/b', 'x/a', true), pair('x/c', 'x/a', true))],
        },
      ],
    },
    {
      name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
      pods: ['x/a', 'x/b', 'y/a', 'y/b', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podA }] }] })],
          probes: [tcp(80, allIngress('x/a', false), pair('y/a', 'x/a', true))],
        },
      ],
    },
    {
      name: 'should enforce policy based on Ports',
      pods: ['x/a', 'x/b', 'y/a', 'y/b', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [port(81, 'TCP')] }] })],
          probes: [tcp(81, peer(X, { ns: 'x', pod: 'a' }, false), peer(Y, { ns: 'x', pod: 'a' }, true), peer(Z, { ns: 'x', pod: 'a' }, false))],
        },
      ],
    },
    {
      name: 'should enforce multiple, stacked policies with overlapping podSelectors',
      pods: ['x/a', 'x/b', 'y/a', 'y/b', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [port(81, 'TCP')] }] })],
          probes: [
            tcp(81, peer(X, { ns: 'x', pod: 'a' }, false), peer(Y, { ns: 'x', pod: 'a' }, true), peer(Z, { ns: 'x', pod: 'a' }, false)),
            tcp(80, allIngress('x/a', false)),
          ],
        },
        {
          create: [policy('x', 'allow-client-a-via-ns-selector-80', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [port(80, 'TCP')] }] })],
          probes: [tcp(80, peer(X, { ns: 'x', pod: 'a' }, false), peer(Y, { ns: 'x', pod: 'a' }, true), peer(Z, { ns: 'x', pod: 'a' }, false))],
        },
      ],
    },
    {
      name: 'should support allow-all policy',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'allow-all', { matchLabels: {} }, { ingress: [{}] })], probes: [tcp(80), tcp(81)] }],
    },
    {
      name: 'should allow ingress access on one named port',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'allow-all', { matchLabels: {} }, { ingress: [{ ports: [port('serve-81-tcp')] }] })], probes: [tcp(81), tcp(80, peer(ANY, X, false))] }],
    },
    {
      name: 'should allow ingress access from namespace on one named port',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-ns-selector-80', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [port('serve-80-tcp', 'TCP')] }] })],
          probes: [tcp(80, peer(X, { ns: 'x', pod: 'a' }, false), peer(Z, { ns: 'x', pod: 'a' }, false)), tcp(81, allIngress('x/a', false))],
        },
      ],
    },
    {
      name: 'should allow egress access on one named port',
      pods: ['x/a', 'y/a'],
      steps: [{ create: [policy('x', 'allow-egress', { matchLabels: {} }, { egress: [{ ports: [port('serve-80-tcp')] }] })], probes: [tcp(80), tcp(81, peer(X, ANY, false))] }],
    },
    {
      name: 'should enforce updated policy',
      pods: ['x/a', 'y/a'],
      steps: [
        { create: [policy('x', 'allow-all-mutate-to-deny-all', { matchLabels: {} }, { ingress: [{}] })], probes: [tcp(81)] },
        { create: [policy('x', 'allow-all-mutate-to-deny-all', { matchLabels: {} }, { ingress: [] })], probes: [tcp(81, peer(ANY, X, false))] },
      ],
    },
    {
      name: 'should allow ingress access from updated namespace',
      pods: ['x/a', 'y/a'],
      steps: [
        { create: [policy('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns2: 'updated' } } }] }] })], probes: [tcp(80, allIngress('x/a', false))] },
        { namespaceLabels: { ns: 'y', labels: { ns2: 'updated' } }, probes: [tcp(80, allIngress('x/a', false), peer(Y, ANY, true))] },
      ],
    },
    {
      name: 'should allow ingress access from updated pod',
      pods: ['x/a', 'x/b'],
      steps: [
        { create: [policy('x', 'allow-client-a-via-pod-selector', podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b', pod2: 'updated' } } }] }] })], probes: [tcp(80, allIngress('x/a', false))] },
        { podLabels: { pod: 'x/b', labels: { pod: 'b', pod2: 'updated' } }, probes: [tcp(80, allIngress('x/a', false), pair('x/b', 'x/a', true))] },
      ],
    },
    {
      name: 'should deny ingress from pods on other namespaces',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [{ create: [policy('x', 'deny-empty-policy', all, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })], probes: [tcp(80, peer(Y, X, false), peer(Z, X, false))] }],
    },
    {
      name: 'should deny ingress access to updated pod',
      pods: ['x/a', 'y/a'],
      steps: [
        { create: [policy('x', 'deny-ingress-via-label-selector', { matchLabels: { target: 'isolated' } }, { ingress: [] })], probes: [tcp(80)] },
        { podLabels: { pod: 'x/a', labels: { pod: 'a', target: 'isolated' } }, probes: [tcp(80, allIngress('x/a', false))] },
      ],
    },
    {
      name: 'should deny egress from pods based on PodSelector',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'deny-egress-pod-a', podA, { egress: [] })], probes: [tcp(80, allEgress('x/a', false))] }],
    },
    {
      name: 'should deny egress from all pods in a namespace',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'deny-egress-ns-x', all, { egress: [] })], probes: [tcp(80, peer(X, ANY, false))] }],
    },
    {
      name: 'should work with Ingress, Egress specified together',
      pods: ['x/a', 'x/b', 'x/c', 'y/a'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-pod-selector', podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }], egress: [{ ports: [port(80)] }], policyTypes: ['Egress', 'Ingress'] })],
          probes: [tcp(80, allIngress('x/a', false), pair('x/b', 'x/a', true)), tcp(81, allIngress('x/a', false), allEgress('x/a', false), pair('x/b', 'x/a', true))],
        },
      ],
    },
    {
      name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
      pods: ['x/a', 'y/a', 'y/b'],
      steps: [
        {
          create: [
            policy('x', 'allow-to-ns-y-pod-a', podA, { egress: [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podA }] }] }),
            policy('y', 'allow-from-xa-on-ya-match-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podA }] }] }),
            policy('y', 'allow-from-xa-on-yb-match-selector', { matchLabels: { pod: 'b' } }, { ingress: [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podA }] }] }),
          ],
          probes: [tcp(80, peer({ ns: 'x', pod: 'a' }, ANY, false), peer(ANY, { ns: 'y', pod: 'a' }, false), peer({ ns: 'x', pod: 'a' }, { ns: 'y', pod: 'a' }, true), peer(ANY, { ns: 'y', pod: 'b' }, false))],
        },
      ],
    },
    {
      name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
      pods: ['x/a', 'y/a', 'y/b'],
      steps: [{ create: [policy('x', 'allow-to-ns-y-pod-a', podA, { egress: [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podA }] }] })], probes: [tcp(80, allEgress('x/a', false), pair('x/a', 'y/a', true))] }],
    },
    {
      name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
      pods: ['x/a', 'y/a'],
      steps: [{ create: [policy('x', 'allow-ingress-by-proto', podA, { ingress: [{ ports: [{ protocol: 'TCP' }] }] })], probes: [tcp(80), udp(80, peer(ANY, { ns: 'x', pod: 'a' }, false))] }],
    },
    {
      name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
      pods: ['x/a', 'y/a'],
      steps: [
        { create: [policy('x', 'allow-ingress-port-80', { matchLabels: {} }, { ingress: [{ ports: [port(80)] }] })], probes: [tcp(81, peer(ANY, X, false))] },
        { create: [policy('x', 'allow-ingress', { matchLabels: {} }, { ingress: [{}] })], probes: [tcp(81)] },
      ],
    },
    {
      name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
      pods: ['x/a', 'y/a'],
      steps: [
        { create: [policy('x', 'allow-egress-port-80', { matchLabels: {} }, { egress: [{ ports: [port(80)] }] })], probes: [tcp(81, peer(X, ANY, false))] },
        { create: [policy('x', 'allow-egress', { matchLabels: {} }, { egress: [{}] })], probes: [tcp(81)] },
      ],
    },
    {
      name: 'should stop enforcing policies after they are deleted',
      pods: ['x/a', 'y/a'],
      steps: [
        { create: [policy('x', 'deny-all', all, { ingress: [], egress: [] })], probes: [tcp(80, peer(X, ANY, false), peer(ANY, X, false))] },
        { deleteAllPolicies: true, probes: [tcp(80)] },
      ],
    },
    {
      name: 'should allow egress access to server in CIDR block',
      pods: ['x/a', 'y/a', 'y/b'],
      steps: [{ create: [policy('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: `${ipOf('y/b')}/32` } }] }] })], probes: [tcp(80, allEgress('x/a', false), pair('x/a', 'y/b', true))] }],
    },
    {
      name: 'should enforce except clause while egress access to server in CIDR block',
      pods: ['x/a', 'x/b', 'x/c'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: largeCIDR(ipOf('x/b')), except: [`${ipOf('x/b')}/32`] } }] }] })],
          probes: [tcp(80, pair('x/a', 'x/b', false))],
        },
      ],
    },
    {
      name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
      pods: ['x/a', 'x/b', 'x/c'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: largeCIDR(ipOf('x/b')), except: [`${ipOf('x/b')}/32`] } }] }] })],
          probes: [tcp(80, pair('x/a', 'x/b', false))],
        },
        {
          create: [policy('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: `${ipOf('x/b')}/32` } }] }] })],
          probes: [tcp(80, allEgress('x/a', false), pair('x/a', 'x/b', true))],
        },
      ],
    },
    {
      name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [
        { create: [policy('x', 'allow-egress-for-target', podA, { egress: [{}] })], probes: [tcp(80)] },
        { create: [policy('x', 'deny-ingress-via-label-selector', podA, { ingress: [] })], probes: [tcp(80, allIngress('x/a', false))] },
      ],
    },
    {
      name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
      pods: ['x/a', 'y/a'],
      steps: [
        {
          create: [policy('x', 'deny-ingress', all, { ingress: [] }), policy('x', 'allow-only-sctp-ingress-on-port-81', podA, { ingress: [{ ports: [port(81, 'SCTP')] }] })],
          probes: [tcp(81, peer(ANY, X, false))],
        },
      ],
    },
    {
      name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
      pods: ['x/a', 'y/a'],
      steps: [{ create: [policy('x', 'allow-only-sctp-ingress-on-port-80', podA, { ingress: [{ ports: [port(80, 'SCTP')] }] })], probes: [tcp(81, allIngress('x/a', false))] }],
    },
    {
      name: 'should not allow access by TCP when a policy specifies only UDP',
      pods: ['x/a', 'y/a'],
      steps: [{ create: [policy('x', 'allow-only-udp-ingress-on-port-81', podA, { ingress: [{ ports: [port(81, 'UDP')] }] })], probes: [tcp(81, allIngress('x/a', false))] }],
    },
    {
      name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }] }] })],
          probes: [tcp(80, peer(X, { ns: 'x', pod: 'a' }, false), peer(Z, { ns: 'x', pod: 'a' }, false))],
        },
      ],
    },
    {
      name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [{ create: [policy('x', 'allow-ns-y-match-selector-for-immutable-ns-label', podA, { egress: [{ to: [{ namespaceSelector: nsNotIn('y') }] }] })], probes: [tcp(80, peer({ ns: 'x', pod: 'a' }, Y, false))] }],
    },
    // UDP
    {
      name: "UDP: should support a 'default-deny-ingress' policy",
      pods: ['x/a', 'x/b', 'y/a', 'y/b'],
      steps: [{ create: [policy('x', 'deny-all', all, { ingress: [] })], probes: [udp(80, peer(ANY, X, false))] }],
    },
    {
      name: 'UDP: should enforce policy based on Ports',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-ingress-on-port-81-ns-x', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [port(81, 'UDP')] }] })],
          probes: [udp(81, peer(X, { ns: 'x', pod: 'a' }, false), peer(Z, { ns: 'x', pod: 'a' }, false))],
        },
      ],
    },
    {
      name: 'UDP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podA }] }] })], probes: [udp(80, allIngress('x/a', false), pair('y/a', 'x/a', true))] }],
    },
    // SCTP
    {
      name: "SCTP: should support a 'default-deny-ingress' policy",
      pods: ['x/a', 'x/b', 'y/a', 'y/b'],
      steps: [{ create: [policy('x', 'deny-all', all, { ingress: [] })], probes: [sctp(80, peer(ANY, X, false))] }],
    },
    {
      name: 'SCTP: should enforce policy based on Ports',
      pods: ['x/a', 'x/b', 'y/a', 'z/a'],
      steps: [
        {
          create: [policy('x', 'allow-ingress-on-port-81-ns-x', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [port(81, 'SCTP')] }] })],
          probes: [sctp(81, peer(X, { ns: 'x', pod: 'a' }, false), peer(Z, { ns: 'x', pod: 'a' }, false))],
        },
      ],
    },
    {
      name: 'SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
      pods: ['x/a', 'x/b', 'y/a'],
      steps: [{ create: [policy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podA }] }] })], probes: [sctp(80, allIngress('x/a', false), pair('y/a', 'x/a', true))] }],
    },
  ];
}

export const NETPOL_CASES: readonly NetpolCase[] = netpolCases(podIP);


/** The upstream truth table for a probe: all allowed, then each expectation in order. */
export function expectedReachability(pods: readonly string[], expect: readonly Expectation[]): boolean[][] {
  const m = pods.map(() => pods.map(() => true));
  const matches = (p: Peer, pod: string) => {
    const [ns, name] = pod.split('/');
    return (p.ns === undefined || p.ns === ns) && (p.pod === undefined || p.pod === name);
  };
  for (const e of expect) {
    pods.forEach((from, i) =>
      pods.forEach((to, j) => {
        const hit =
          e.op === 'peer' ? matches(e.from, from) && matches(e.to, to) : e.op === 'allIngress' ? to === e.pod : e.op === 'allEgress' ? from === e.pod : from === e.from && to === e.to;
        if (hit) m[i]![j] = e.allowed;
      }),
    );
  }
  return m;
}

/** A pod of the fixture: label pod=<name>, containers serving 80 and 81 over TCP, UDP and SCTP. */
export function fixturePod(pod: string, labels?: Record<string, string>): Doc {
  const [ns, name] = pod.split('/') as [string, string];
  const containers = [80, 81].flatMap((p) =>
    (['TCP', 'UDP', 'SCTP'] as const).map((proto) => ({ name: `cont-${p}-${proto.toLowerCase()}`, image: 'agnhost', ports: [{ containerPort: p, name: `serve-${p}-${proto.toLowerCase()}`, protocol: proto }] })),
  );
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: labels ?? { pod: name } },
    spec: { nodeName: 'node-1', containers },
    status: { podIP: podIP(pod), podIPs: [{ ip: podIP(pod) }] },
  };
}

export function fixtureNamespace(ns: string, labels: Record<string, string> = {}): Doc {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { ns, ...labels } }, spec: {} };
}
