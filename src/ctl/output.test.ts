import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { kindInfo, type ResourceObject } from '../model/index.js';
import { cell, columnsFor, renderTable } from './columns.js';
import { parseOutputFormat, renderResources } from './output.js';

const pool = (name: string, cidr: string, spec: Record<string, unknown> = {}): ResourceObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name, resourceVersion: '7' },
  spec: { cidr, nodeSelector: 'all()', ...spec },
});
const ippool = kindInfo('ippool');
const base = { kind: ippool, single: false, resourceVersion: '9', withNamespace: false } as const;

describe('table rendering', () => {
  it('pads columns to the widest cell with three spaces between and no trailing blanks', () => {
    assert.equal(renderTable(['NAME', 'CIDR'], [['a', '10.0.0.0/8'], ['long-name', '']]), 'NAME        CIDR\na           10.0.0.0/8\nlong-name\n');
  });
  it('IPPool shows calicoctl columns, and more with wide', () => {
    assert.deepEqual(columnsFor('IPPool', { wide: false, withNamespace: false }).map((c) => c.header), ['NAME', 'CIDR', 'SELECTOR']);
    assert.deepEqual(columnsFor('IPPool', { wide: true, withNamespace: false }).map((c) => c.header), [
      'NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'DISABLEBGPEXPORT', 'SELECTOR',
    ]);
  });
  it('adds NAMESPACE first across namespaces, and falls back to NAME for kinds without columns', () => {
    assert.deepEqual(columnsFor('NetworkPolicy', { wide: false, withNamespace: true }).map((c) => c.header), ['NAMESPACE', 'NAME']);
    assert.deepEqual(columnsFor('SomethingNew', { wide: true, withNamespace: false }).map((c) => c.header), ['NAME']);
  });
  it('renders cells: missing as empty, lists joined by commas, booleans as words', () => {
    assert.deepEqual([cell(undefined), cell(['a', 'b']), cell(false), cell(26)], ['', 'a,b', 'false', '26']);
  });
  it('renders the default and wide tables from resources', () => {
    const items = [pool('a', '10.1.0.0/16', { natOutgoing: true }), pool('bb', '10.2.0.0/16')];
    assert.equal(renderResources(items, { ...base, format: 'table' }), 'NAME   CIDR          SELECTOR\na      10.1.0.0/16   all()\nbb     10.2.0.0/16   all()\n');
    assert.match(renderResources(items, { ...base, format: 'wide' }).split('\n')[1]!, /^a\s+10\.1\.0\.0\/16\s+true\s+false\s+false\s+all\(\)$/);
  });
});

describe('WorkloadEndpoint columns', () => {
  it('shows the pod as WORKLOAD for Kubernetes endpoints and spec.workload otherwise', () => {
    const workload = columnsFor('WorkloadEndpoint', { wide: false, withNamespace: false }).find((c) => c.header === 'WORKLOAD')!;
    const wep = (spec: Record<string, unknown>) => ({ kind: 'WorkloadEndpoint', metadata: { name: 'n', namespace: 'ns' }, spec });
    assert.equal(workload.value(wep({ orchestrator: 'k8s', pod: 'web-1', endpoint: 'eth0' })), 'web-1');
    assert.equal(workload.value(wep({ orchestrator: 'cni', workload: 'ctr-1', pod: 'ignored' })), 'ctr-1');
    assert.equal(workload.value(wep({})), '');
  });
});

describe('yaml, json and name output', () => {
  const items = [pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')];
  it('prints one named resource bare and several as a <Kind>List with the list resourceVersion', () => {
    assert.deepEqual(parse(renderResources(items.slice(0, 1), { ...base, format: 'yaml', single: true })), items[0]);
    const list = JSON.parse(renderResources(items, { ...base, format: 'json' }));
    assert.deepEqual(list, { apiVersion: 'projectcalico.org/v3', kind: 'IPPoolList', metadata: { resourceVersion: '9' }, items });
  });
  it('writes YAML that Go tools read back: 1.1 booleans quoted, sequences not indented', () => {
    const r = { ...pool('a', '10.1.0.0/16'), metadata: { name: 'a', labels: { flag: 'yes' } }, spec: { cidr: '10.1.0.0/16', allowedUses: ['Workload'] } };
    const text = renderResources([r as ResourceObject], { ...base, format: 'yaml', single: true });
    assert.match(text, /flag: "yes"/);
    assert.match(text, /allowedUses:\n {2}- Workload/);
  });
  it('prints kind/name lines for -o name', () => {
    assert.equal(renderResources(items, { ...base, format: 'name' }), 'ippool/a\nippool/b\n');
    const knp = kindInfo('networkpolicies.networking.k8s.io');
    assert.equal(renderResources([{ ...items[0]!, kind: 'NetworkPolicy' }], { ...base, kind: knp, format: 'name' }), 'networkpolicy.networking.k8s.io/a\n');
  });
  it('parses -o values and refuses unknown ones with the list of valid ones', () => {
    assert.deepEqual(['yaml', 'JSON', 'wide', 'name', undefined].map(parseOutputFormat), ['yaml', 'json', 'wide', 'name', 'table']);
    assert.throws(() => parseOutputFormat('xml'), /unknown output format "xml"; use one of yaml, json, wide, name, custom-columns/);
  });
});
