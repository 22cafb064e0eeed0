// Loading manifest files: YAML and JSON forms, line numbers, error rendering, decoding rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError, formatIssue, loadManifests, validateResource } from './index.js';

const pool = (name: string, cidr: string) => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  cidr: ${cidr}\n`;

describe('loadManifests', () => {
  it('numbers documents and renders issues with file, document, line, kind, name, path', () => {
    const text = `${pool('good', '10.1.0.0/16')}---\n# a comment\n${pool('bad', '10.0.0.1')}`;
    const { documents, issues } = loadManifests(text, 'pools.yaml');
    assert.deepEqual(
      documents.map((d) => [d.index, d.line, d.resource.metadata.name]),
      [[1, 1, 'good']],
    );
    assert.equal(issues.length, 1);
    assert.equal(formatIssue(issues[0]!), 'pools.yaml: document 2 (line 14) IPPool "bad": spec.cidr: "10.0.0.1" is not a CIDR: missing "/prefix" (e.g. "10.244.0.0/16")');
  });

  it('gives every issue of a document, each at its own line', () => {
    const text = 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: prod\nspec:\n  ingress:\n  - action: Allow\n    destination:\n      ports: [80]\n  selectr: all()\n';
    const { issues } = loadManifests(text, 'np.yaml');
    assert.deepEqual(
      issues.map((i) => [i.line, i.path, i.rule]),
      [
        [10, 'spec.ingress[0].destination.ports', 'ports-need-protocol'],
        [11, 'spec.selectr', 'unknown-field'],
      ],
    );
    const fixed = loadManifests(text.replace('  selectr: all()\n', ''), 'np.yaml');
    assert.deepEqual(
      fixed.issues.map((i) => [i.line, i.path, i.rule]),
      [[10, 'spec.ingress[0].destination.ports', 'ports-need-protocol']],
    );
    assert.equal(formatIssue(fixed.issues[0]!).startsWith('np.yaml: document 1 (line 10) NetworkPolicy "prod/p": spec.ingress[0].destination.ports: '), true);
  });

  it('names file and line of a YAML syntax error and returns nothing', () => {
    const text = `${pool('a', '10.1.0.0/16')}---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: [unclosed\n`;
    const { documents, issues } = loadManifests(text, 'broken.yaml');
    assert.equal(documents.length, 0);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.rule, 'syntax');
    assert.equal(issues[0]!.source, 'broken.yaml');
    assert.ok(issues[0]!.line !== undefined && issues[0]!.line >= 10, `line ${issues[0]!.line}`);
  });

  it('reads JSON: one object, an array, and a List', () => {
    const obj = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/16' } };
    assert.equal(loadManifests(JSON.stringify(obj), 'a.json').documents.length, 1);
    const arr = loadManifests(JSON.stringify([obj, { ...obj, metadata: { name: 'b' } }], null, 2), 'a.json');
    assert.deepEqual(
      arr.documents.map((d) => [d.index, d.item, d.line, d.resource.metadata.name]),
      [
        [1, 1, 2, 'a'],
        [1, 2, 12, 'b'],
      ],
    );
    const list = loadManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [obj] }), 'l.json');
    assert.equal(list.documents.length, 1);
    const bad = loadManifests('{"apiVersion": "projectcalico.org/v3",\n "kind": "IPPool",\n "metadata": {"name": "a"},\n "spec": {"cidr": "10.1.0.0/16", "natOutgoing": "yes"}}', 'b.json');
    assert.deepEqual(bad.issues.map((i) => [i.line, i.path, i.rule]), [[4, 'spec.natOutgoing', 'type']]);
    assert.equal(loadManifests('{"kind": ', 'x.json').issues[0]?.rule, 'syntax');
  });

  it('refuses deep nesting with a position instead of overflowing the stack', () => {
    const head = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: a\nspec:\n  cidr: 10.0.0.0/16\n';
    const flow = loadManifests(`${head}  x: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`, 'deep.yaml');
    const block = loadManifests(`${head}  x:\n    ${'- '.repeat(20_000)}x\n`, 'deep.yaml');
    assert.deepEqual(block.documents, []);
    assert.equal(block.issues[0]?.rule, 'nesting');
    assert.deepEqual(flow.documents, []);
    assert.deepEqual(flow.issues.map((i) => [i.rule, i.line]), [['nesting', 7]]);
    assert.match(formatIssue(flow.issues[0]!), /^deep\.yaml: line 7: the document nests mappings and sequences more than 64 levels deep \(from line 7\)/);
    const moderate = loadManifests(`${head}  x:\n    ${'- '.repeat(70)}x\n`, 'deep.yaml');
    assert.deepEqual(moderate.issues.map((i) => [i.rule, i.line, i.document]), [['nesting', 8, 1]]);
    assert.match(moderate.issues[0]!.message, /at spec\.x(\[0\])+/);
  });

  it('refuses a YAML alias bomb, naming file and document, without expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const { documents, issues } = loadManifests(`${pool('ok', '10.1.0.0/16')}---\n${bomb}\n`, 'bomb.yaml');
    assert.deepEqual(documents, []);
    assert.deepEqual(issues.map((i) => [i.rule, i.document]), [['aliases', 2]]);
    assert.match(formatIssue(issues[0]!), /^bomb\.yaml: document 2 \(line 8\): the document uses YAML aliases/);
  });

  it('skips empty documents and accepts an empty file', () => {
    assert.deepEqual(loadManifests('', 'e.yaml'), { documents: [], issues: [] });
    assert.equal(loadManifests(`---\n${pool('a', '10.1.0.0/16')}---\n`, 'x.yaml').documents.length, 1);
  });

  it('refuses a key repeated with a different value, accepts one repeated with the same value', () => {
    const changed = loadManifests(`${pool('a', '10.1.0.0/16')}  cidr: 10.2.0.0/16\n`, 'd.yaml');
    assert.deepEqual(changed.issues.map((i) => [i.line, i.rule]), [[7, 'duplicate-key']]);
    const same = loadManifests(`${pool('a', '10.1.0.0/16')}  cidr: 10.1.0.0/16\n`, 'd.yaml');
    assert.deepEqual(same.issues, []);
  });
});

describe('decoding like calicoctl', () => {
  it('normalises crd.projectcalico.org/v1 to projectcalico.org/v3', () => {
    const r = validateResource({ apiVersion: 'crd.projectcalico.org/v1', kind: 'Tier', metadata: { name: 't' }, spec: { order: 1 } });
    assert.equal(r.apiVersion, 'projectcalico.org/v3');
  });
  it('matches field names without regard to case for Calico kinds, not for Kubernetes kinds', () => {
    const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { Name: 'a' }, spec: { CIDR: '10.1.0.0/16', NatOutgoing: true } });
    assert.deepEqual([r.metadata.name, (r.spec as { cidr: string }).cidr, (r.spec as { natOutgoing: boolean }).natOutgoing], ['a', '10.1.0.0/16', true]);
    assert.throws(() => validateResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { Name: 'a' } }), ValidationError);
  });
  it('treats an explicit null as unset', () => {
    const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a', labels: null }, spec: { cidr: '10.1.0.0/16', nodeSelector: null } });
    assert.equal((r.spec as { nodeSelector: string }).nodeSelector, 'all()');
    assert.equal(r.metadata.labels, undefined);
  });
  it('takes a plain YAML number or boolean in a string field as its text', () => {
    const { documents, issues } = loadManifests('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s\n  labels:\n    version: 2\n    canary: true\nspec:\n  nets: []\n', 'n.yaml');
    assert.deepEqual(issues, []);
    assert.deepEqual(documents[0]!.resource.metadata.labels, { version: '2', canary: 'true' });
  });
  it('applies defaults and canonicalises an IPv6 pool CIDR', () => {
    const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:10:244:0::/48' } });
    assert.deepEqual(r.spec, {
      cidr: 'fd00:10:244::/48',
      blockSize: 122,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
    });
  });
  it('accepts an IPPool CIDR with host bits set and stores it normalised, as Calico does', () => {
    const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'tutorial' }, spec: { cidr: '10.244.3.220/24' } });
    assert.equal((r.spec as { cidr: string }).cidr, '10.244.3.0/24');
    const v6 = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:10:244::17/64' } });
    assert.equal((v6.spec as { cidr: string }).cidr, 'fd00:10:244::/64');
  });
  it('accepts a KubeControllersConfiguration host endpoint template with annotations', () => {
    const text = 'apiVersion: projectcalico.org/v3\nkind: KubeControllersConfiguration\nmetadata: {name: default}\nspec:\n  controllers:\n    node:\n      hostEndpoint:\n        autoCreate: Enabled\n        templates:\n        - generateName: custom-host-endpoint\n          annotations: {owner: platform-team}\n          nodeSelector: has(zone)\n';
    const { documents, issues } = loadManifests(text, 'kcc.yaml');
    assert.deepEqual(issues, []);
    assert.equal(documents.length, 1);
  });
  it('accepts a WorkloadEndpoint whose name is the one its identifiers give', () => {
    const wep = { apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name: 'node--1-k8s-my--pod-eth0', namespace: 'ns' }, spec: { node: 'node-1', orchestrator: 'k8s', pod: 'my-pod', endpoint: 'eth0' } };
    assert.equal(validateResource(wep).metadata.name, 'node--1-k8s-my--pod-eth0');
  });
  it('refuses a resource too large for one etcd request, naming it and the limit', () => {
    const nets = Array.from({ length: 40_000 }, (_, i) => `fd00:1111:2222:3333:4444:5555:${(0x1000 + (i >> 12)).toString(16)}:${(0x1000 + (i & 0xfff)).toString(16)}/128`);
    const big = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'huge' }, spec: { nets } };
    assert.throws(
      () => validateResource(big, { source: 'big.yaml', document: 1 }),
      (e: unknown) => e instanceof ValidationError && /big\.yaml: document 1 GlobalNetworkSet "huge": .*bytes as stored, over the 1564672-byte limit \(etcd refuses requests over 1572864 bytes/.test(formatIssue(e.issues[0]!)),
    );
  });
  it('takes an IPPool blockSize of 0 as the default, as Go\'s zero value', () => {
    const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/16', blockSize: 0 } });
    assert.equal((r.spec as { blockSize: number }).blockSize, 26);
  });
  it('defaults policy types from the rules present', () => {
    const types = (spec: object) =>
      (validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec }).spec as { types: string[] }).types;
    assert.deepEqual(types({}), ['Ingress']);
    assert.deepEqual(types({ ingress: [{ action: 'Allow' }] }), ['Ingress']);
    assert.deepEqual(types({ egress: [{ action: 'Allow' }] }), ['Egress']);
    assert.deepEqual(types({ ingress: [{ action: 'Allow' }], egress: [{ action: 'Deny' }] }), ['Ingress', 'Egress']);
    assert.deepEqual(types({ types: ['Egress'], ingress: [{ action: 'Allow' }] }), ['Egress']);
  });
  it('never changes its input', () => {
    const input = { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/16' } };
    const copy = structuredClone(input);
    validateResource(input);
    assert.deepEqual(input, copy);
  });
});
