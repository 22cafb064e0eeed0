// Kubernetes → Calico conversions against Calico's own expected outputs (libcalico-go
// conversion_test.go and names tests), and the results validate as Calico resources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type K8sNetworkPolicy,
  type Namespace,
  type Pod,
  k8sNetworkPolicyToCalico,
  namespaceToProfile,
  podToWorkloadEndpoint,
  serviceAccountToProfile,
  simplifyPorts,
  validateResource,
} from '../index.js';
import { derivedUID, parseWorkloadEndpointName, vethNameForWorkload, workloadEndpointName } from './names.js';

const pod = (p: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; spec: Record<string, unknown>; status?: Record<string, unknown> }): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace ?? 'default', ...(p.labels ? { labels: p.labels } : {}), ...(p.annotations ? { annotations: p.annotations } : {}) },
    spec: p.spec,
    ...(p.status ? { status: p.status } : {}),
  }) as unknown as Pod;

const knp = (name: string, spec: Record<string, unknown>): K8sNetworkPolicy =>
  ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'default' }, spec }) as unknown as K8sNetworkPolicy;

describe('workload names', () => {
  it('doubles dashes inside segments and splits them back', () => {
    assert.equal(workloadEndpointName({ node: 'node-1', orchestrator: 'k8s', pod: 'web-abc', endpoint: 'eth0' }), 'node--1-k8s-web--abc-eth0');
    assert.deepEqual(parseWorkloadEndpointName('node-k8s-pod--name-eth0'), { node: 'node', orchestrator: 'k8s', pod: 'pod-name', endpoint: 'eth0' });
    assert.deepEqual(parseWorkloadEndpointName('node1-k8s-my--nginx--b1337a-eth0'), { node: 'node1', orchestrator: 'k8s', pod: 'my-nginx-b1337a', endpoint: 'eth0' });
    assert.equal(workloadEndpointName({ node: 'h', orchestrator: 'cni', containerID: 'abc-1', endpoint: 'eth0' }), 'h-cni-abc--1-eth0');
    const ids = { node: 'a-b--c', orchestrator: 'libnetwork', workload: 'x-y--z', endpoint: 'e-1' };
    assert.deepEqual(parseWorkloadEndpointName(workloadEndpointName(ids)), ids);
  });
  it('refuses names with a missing segment', () => {
    assert.throws(() => workloadEndpointName({ node: 'n', orchestrator: 'k8s', endpoint: 'eth0' }), { code: 'InvalidWorkloadEndpointName' });
    assert.throws(() => parseWorkloadEndpointName('node-k8s-eth0'), /not a workload endpoint name/);
  });
  it('names the host veth as Calico does (first 11 hex of sha1 "<ns>.<pod>")', () => {
    assert.equal(vethNameForWorkload('default', 'podA'), 'cali7f94ce7c295');
    assert.equal(vethNameForWorkload('namespace', 'podname', 'eni,veth,foo'), 'eni82111e10a96');
  });
  it('derives a UID by reversing bits outside the version and variant bytes', () => {
    const uid = '85daf4ec-8826-46da-aa8b-9aa6f307666d';
    const d = derivedUID(uid);
    assert.notEqual(d, uid);
    assert.equal(d.slice(14, 16), uid.slice(14, 16)); // version byte kept
    assert.equal(d.slice(19, 21), uid.slice(19, 21)); // variant byte kept
    assert.equal(derivedUID(d), uid);
  });
});

describe('Pod → WorkloadEndpoint', () => {
  it('converts the pod of Calico\'s conversion test', () => {
    const wep = podToWorkloadEndpoint(
      pod({
        name: 'podA',
        labels: { labelA: 'valueA', labelB: 'valueB' },
        annotations: { arbitrary: 'annotation' },
        spec: {
          nodeName: 'nodeA',
          containers: [
            { name: 'a', ports: [{ containerPort: 5678 }, { name: 'no-proto', containerPort: 1234 }] },
            {
              name: 'b',
              ports: [
                { name: 'tcp-proto', protocol: 'TCP', containerPort: 1024 },
                { name: 'tcp-proto-with-host-port', protocol: 'TCP', containerPort: 8080, hostPort: 5678 },
                { name: 'tcp-proto-with-host-port-and-ip', protocol: 'TCP', containerPort: 8081, hostPort: 6789, hostIP: '1.2.3.4' },
                { protocol: 'TCP', containerPort: 500, hostPort: 5000 },
                { name: 'udp-proto', protocol: 'UDP', containerPort: 432 },
                { name: 'sctp-proto', protocol: 'SCTP', containerPort: 891 },
                { name: 'unkn-proto', protocol: 'unknown', containerPort: 567 },
              ],
            },
          ],
        },
        status: { podIP: '192.168.0.1' },
      }),
    );
    assert.equal(wep.metadata.name, 'nodeA-k8s-podA-eth0');
    assert.equal(wep.metadata.namespace, 'default');
    assert.deepEqual(wep.metadata.labels, {
      labelA: 'valueA',
      labelB: 'valueB',
      'projectcalico.org/namespace': 'default',
      'projectcalico.org/orchestrator': 'k8s',
    });
    assert.equal(wep.spec.pod, 'podA');
    assert.equal(wep.spec.node, 'nodeA');
    assert.equal(wep.spec.endpoint, 'eth0');
    assert.equal(wep.spec.orchestrator, 'k8s');
    assert.deepEqual(wep.spec.ipNetworks, ['192.168.0.1/32']);
    assert.deepEqual(wep.spec.profiles, ['kns.default']);
    assert.equal(wep.spec.interfaceName, 'cali7f94ce7c295');
    assert.deepEqual(wep.spec.ports, [
      { name: 'no-proto', protocol: 'TCP', port: 1234 },
      { name: 'tcp-proto', protocol: 'TCP', port: 1024 },
      { name: 'tcp-proto-with-host-port', protocol: 'TCP', port: 8080, hostPort: 5678 },
      { name: 'tcp-proto-with-host-port-and-ip', protocol: 'TCP', port: 8081, hostPort: 6789, hostIP: '1.2.3.4' },
      { protocol: 'TCP', port: 500, hostPort: 5000 },
      { name: 'udp-proto', protocol: 'UDP', port: 432 },
      { name: 'sctp-proto', protocol: 'SCTP', port: 891 },
    ]);
  });

  it('takes dual-stack addresses from status.podIPs', () => {
    const wep = podToWorkloadEndpoint(pod({ name: 'a', spec: { nodeName: 'n', containers: [] }, status: { podIP: '192.168.0.1', podIPs: [{ ip: '192.168.0.1' }, { ip: 'fd5f:8067::1' }] } }));
    assert.deepEqual(wep.spec.ipNetworks, ['192.168.0.1/32', 'fd5f:8067::1/128']);
  });

  it('falls back to Calico\'s podIP(s) annotations, with or without /32 and /128', () => {
    const one = podToWorkloadEndpoint(pod({ name: 'a', annotations: { 'cni.projectcalico.org/podIP': '192.168.0.1' }, spec: { nodeName: 'n', containers: [] } }));
    assert.deepEqual(one.spec.ipNetworks, ['192.168.0.1/32']);
    const two = podToWorkloadEndpoint(
      pod({ name: 'a', annotations: { 'cni.projectcalico.org/podIP': '192.168.0.1/32', 'cni.projectcalico.org/podIPs': '192.168.0.1/32,fd5f:8067::1/128' }, spec: { nodeName: 'n', containers: [] } }),
    );
    assert.deepEqual(two.spec.ipNetworks, ['192.168.0.1/32', 'fd5f:8067::1/128']);
    const aws = podToWorkloadEndpoint(pod({ name: 'a', annotations: { 'vpc.amazonaws.com/pod-ips': '192.168.0.1' }, spec: { nodeName: 'n', containers: [] } }));
    assert.deepEqual(aws.spec.ipNetworks, ['192.168.0.1/32']);
  });

  it('drops the addresses of a finished pod', () => {
    const wep = podToWorkloadEndpoint(pod({ name: 'a', spec: { nodeName: 'n', containers: [] }, status: { podIP: '10.0.0.1', phase: 'Succeeded' } }));
    assert.equal(wep.spec.ipNetworks, undefined);
  });

  it('adds the service account profile and label (label only for names under 63 characters)', () => {
    const wep = podToWorkloadEndpoint(pod({ name: 'web', namespace: 'shop', spec: { nodeName: 'n', serviceAccountName: 'api', containers: [] } }));
    assert.deepEqual(wep.spec.profiles, ['kns.shop', 'ksa.shop.api']);
    assert.equal(wep.metadata.labels?.['projectcalico.org/serviceaccount'], 'api');
    assert.equal(wep.spec.serviceAccountName, 'api');
    const long = 's'.repeat(63);
    const wep2 = podToWorkloadEndpoint(pod({ name: 'web', namespace: 'shop', spec: { nodeName: 'n', serviceAccountName: long, containers: [] } }));
    assert.equal(wep2.metadata.labels?.['projectcalico.org/serviceaccount'], undefined);
    assert.deepEqual(wep2.spec.profiles, ['kns.shop', `ksa.shop.${long}`]);
  });

  it('maps floating IPs onto the address of the same family and takes the CNI\'s values', () => {
    const wep = podToWorkloadEndpoint(
      pod({ name: 'web-1', annotations: { 'cni.projectcalico.org/floatingIPs': '["1.1.1.1", "fd00::9"]' }, spec: { nodeName: 'node-1', containers: [] } }),
      { ipNetworks: ['10.244.0.5', 'fd00:10:244::5'], containerID: 'abc123', interfaceName: 'calitest', mac: 'ee:ee:ee:ee:ee:ee' },
    );
    assert.equal(wep.metadata.name, 'node--1-k8s-web--1-eth0');
    assert.deepEqual(wep.spec.ipNetworks, ['10.244.0.5/32', 'fd00:10:244::5/128']);
    assert.deepEqual(wep.spec.ipNATs, [
      { internalIP: '10.244.0.5', externalIP: '1.1.1.1' },
      { internalIP: 'fd00:10:244::5', externalIP: 'fd00::9' },
    ]);
    assert.equal(wep.spec.containerID, 'abc123');
    assert.equal(wep.spec.interfaceName, 'calitest');
    // The result is a valid Calico WorkloadEndpoint.
    assert.deepEqual(validateResource(wep).spec, wep.spec);
  });

  it('refuses an unscheduled pod', () => {
    assert.throws(() => podToWorkloadEndpoint(pod({ name: 'a', spec: { containers: [] } })), { code: 'ConversionFailed' });
  });
});

describe('Namespace → Profile', () => {
  it('carries the labels with the pcns. prefix and allows everything', () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' }, uid: '85daf4ec-8826-46da-aa8b-9aa6f307666d' }, spec: {} } as unknown as Namespace;
    const p = namespaceToProfile(ns);
    assert.equal(p.metadata.name, 'kns.shop');
    assert.equal(p.metadata.uid, derivedUID('85daf4ec-8826-46da-aa8b-9aa6f307666d'));
    assert.deepEqual(p.spec, {
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Allow' }],
      labelsToApply: { 'pcns.kubernetes.io/metadata.name': 'shop', 'pcns.team': 'a', 'pcns.projectcalico.org/name': 'shop' },
    });
    assert.deepEqual(validateResource(p).spec, p.spec);
  });
  it('service accounts give ksa.<ns>.<sa> with pcsa. labels and no rules', () => {
    const p = serviceAccountToProfile({ metadata: { name: 'test', namespace: 'default', labels: { role: 'x' } } });
    assert.equal(p.metadata.name, 'ksa.default.test');
    assert.deepEqual(p.spec, { labelsToApply: { 'pcsa.role': 'x', 'pcsa.projectcalico.org/name': 'test' } });
  });
});

describe('Kubernetes NetworkPolicy → Calico NetworkPolicy', () => {
  it('a policy with no rules', () => {
    const p = k8sNetworkPolicyToCalico(knp('test.policy', { podSelector: { matchLabels: { label: 'value' } }, policyTypes: ['Ingress'] }));
    assert.equal(p.metadata.name, 'knp.default.test.policy');
    assert.equal(p.metadata.namespace, 'default');
    assert.equal(p.spec.order, 1000);
    assert.equal(p.spec.tier, 'default');
    assert.equal(p.spec.selector, "projectcalico.org/orchestrator == 'k8s' && label == 'value'");
    assert.equal(p.spec.ingress, undefined);
    assert.equal(p.spec.egress, undefined);
    assert.deepEqual(p.spec.types, ['Ingress']);
  });

  it('a default-deny egress policy', () => {
    const p = k8sNetworkPolicyToCalico(knp('testPolicy', { podSelector: {}, policyTypes: ['Egress'] }));
    assert.equal(p.metadata.name, 'knp.default.testPolicy');
    assert.equal(p.spec.selector, "projectcalico.org/orchestrator == 'k8s'");
    assert.deepEqual(p.spec.types, ['Egress']);
  });

  it('no policyTypes means Ingress', () => {
    assert.deepEqual(k8sNetworkPolicyToCalico(knp('a', { podSelector: {} })).spec.types, ['Ingress']);
  });
  it('no policyTypes with egress rules means Ingress and Egress (the API server\'s defaulting)', () => {
    assert.deepEqual(k8sNetworkPolicyToCalico(knp('a', { podSelector: {}, egress: [{}] })).spec.types, ['Ingress', 'Egress']);
  });

  it('multiple peers give one rule per peer; an empty port entry means every TCP port', () => {
    const p = k8sNetworkPolicyToCalico(
      knp('test.policy', {
        podSelector: { matchLabels: { label: 'value' } },
        ingress: [{ ports: [{}], from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }] }],
        policyTypes: ['Ingress'],
      }),
    );
    assert.deepEqual(p.spec.ingress, [
      { action: 'Allow', protocol: 'TCP', source: { selector: "projectcalico.org/orchestrator == 'k8s' && k == 'v'" } },
      { action: 'Allow', protocol: 'TCP', source: { selector: "projectcalico.org/orchestrator == 'k8s' && k2 == 'v2'" } },
    ]);
  });

  it('a DoesNotExist expression, sorted matchLabels, numeric and named ports', () => {
    const p = k8sNetworkPolicyToCalico(
      knp('test.policy', {
        podSelector: { matchLabels: { label2: 'value2', label: 'value' } },
        ingress: [{ ports: [{ port: 80 }, { port: 'foo' }], from: [{ podSelector: { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] } }] }],
        policyTypes: ['Ingress'],
      }),
    );
    assert.equal(p.spec.selector, "projectcalico.org/orchestrator == 'k8s' && label == 'value' && label2 == 'value2'");
    assert.deepEqual(p.spec.ingress, [
      { action: 'Allow', protocol: 'TCP', source: { selector: "projectcalico.org/orchestrator == 'k8s' && ! has(toast)" }, destination: { ports: [80, 'foo'] } },
    ]);
  });

  it('multiple peers and ports: one rule per protocol (sorted) and peer', () => {
    const p = k8sNetworkPolicyToCalico(
      knp('test.policy', {
        podSelector: { matchLabels: { label: 'value' } },
        ingress: [
          {
            ports: [
              { port: 90, protocol: 'UDP' },
              { port: 80, protocol: 'TCP' },
            ],
            from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }],
          },
        ],
        policyTypes: ['Ingress'],
      }),
    );
    assert.deepEqual(
      p.spec.ingress?.map((r) => [r.protocol, r.source?.selector, r.destination?.ports]),
      [
        ['TCP', "projectcalico.org/orchestrator == 'k8s' && k == 'v'", [80]],
        ['TCP', "projectcalico.org/orchestrator == 'k8s' && k2 == 'v2'", [80]],
        ['UDP', "projectcalico.org/orchestrator == 'k8s' && k == 'v'", [90]],
        ['UDP', "projectcalico.org/orchestrator == 'k8s' && k2 == 'v2'", [90]],
      ],
    );
  });

  it('a namespaceSelector peer keeps the pod selector term and an empty one means all()', () => {
    const p = k8sNetworkPolicyToCalico(
      knp('test.policy', {
        podSelector: { matchLabels: { label: 'value' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } } }, { namespaceSelector: {} }] }],
        policyTypes: ['Ingress'],
      }),
    );
    assert.deepEqual(p.spec.ingress, [
      { action: 'Allow', source: { selector: "projectcalico.org/orchestrator == 'k8s'", namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'" } },
      { action: 'Allow', source: { selector: "projectcalico.org/orchestrator == 'k8s'", namespaceSelector: 'all()' } },
    ]);
  });

  it('ipBlock becomes nets and notNets; endPort a range; egress peers go to the destination', () => {
    const p = k8sNetworkPolicyToCalico(
      knp('egress', {
        podSelector: {},
        egress: [{ to: [{ ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } }], ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }],
        policyTypes: ['Egress'],
      }),
    );
    assert.deepEqual(p.spec.egress, [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['32000:32768'], nets: ['172.17.0.0/16'], notNets: ['172.17.1.0/24'] } }]);
    assert.deepEqual(p.spec.types, ['Egress']);
  });

  it('a port entry with only a protocol allows every port of it', () => {
    const p = k8sNetworkPolicyToCalico(knp('udp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }, { protocol: 'UDP', port: 53 }] }] }));
    assert.deepEqual(p.spec.ingress, [{ action: 'Allow', protocol: 'UDP' }]);
  });

  it('converted policies validate as Calico NetworkPolicies', () => {
    const p = k8sNetworkPolicyToCalico(
      knp('allow-dns-access', {
        podSelector: { matchLabels: {} },
        policyTypes: ['Egress'],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'kube-system' } } }], ports: [{ protocol: 'UDP', port: 53 }] }],
      }),
    );
    assert.deepEqual(validateResource(p).spec, p.spec);
  });

  it('coalesces ports into ranges as Calico\'s SimplifyPorts does', () => {
    assert.deepEqual(simplifyPorts([80, 81, 82, 9090, 'foo']), ['foo', '80:82', 9090]);
    assert.deepEqual(simplifyPorts([80, 'foo']), [80, 'foo']);
    assert.deepEqual(simplifyPorts(['10:12', 11, 13, 20]), ['10:13', 20]);
  });
});
