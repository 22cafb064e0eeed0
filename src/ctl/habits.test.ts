// The calicoctl and kubectl habits users bring to tabbyctl, in-process against a MemoryDatastore:
// label, KIND/NAME and KIND,KIND arguments, -o name read back, custom-columns, jsonpath,
// --no-headers, --show-labels, -a, kubectl's -l form, short names, convert and completion.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { MemoryDatastore } from '../datastore/index.js';
import { runCtlInProcess } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'tabbyctl-habits-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ds = new MemoryDatastore();
const run = (args: string[], stdin?: string) => runCtlInProcess(args, { ds, ...(stdin === undefined ? {} : { stdin }) });
const ok = async (args: string[], stdin?: string) => {
  const r = await run(args, stdin);
  assert.equal(r.code, 0, `tabbyctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const MANIFESTS = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-a, labels: {env: prod, zone: a}}
spec: {cidr: 10.1.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-b, labels: {env: dev}}
spec: {cidr: 10.2.0.0/16, natOutgoing: true}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-db}
spec: {selector: "role == 'db'", types: [Egress], egress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: cloud, labels: {kind: cloud}}
spec: {nets: [192.0.2.0/24]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: shop}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [front, edge]}, {key: legacy, operator: DoesNotExist}]
  ingress: [{ports: [{port: 80}]}]
`;

before(async () => {
  await ok(['apply', '-f', file('all.yaml', MANIFESTS)]);
});

describe('tabbyctl habits', () => {
  it('label sets, refuses to change without --overwrite, changes with it, and removes with key-', async () => {
    assert.equal(await ok(['label', 'ippool', 'pool-b', 'team=net']), "Successfully labeled 1 'IPPool' resource\n");
    const clash = await run(['label', 'ippool', 'pool-b', 'env=prod']);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /already has label env=dev; use --overwrite/);
    await ok(['label', 'ippool/pool-b', 'env=prod', '--overwrite']);
    await ok(['label', 'ippool', 'pool-b', 'team-']);
    const labels = parse(await ok(['get', 'ippool', 'pool-b', '-o', 'yaml'])).metadata.labels;
    assert.deepEqual(labels, { env: 'prod' });
    await ok(['label', 'ippool', 'pool-b', 'env=dev', '--overwrite']);
    const bad = await run(['label', 'ippool', 'pool-b', 'bad key=x']);
    assert.equal(bad.code, 1);
    assert.equal((await run(['label', 'ippool', 'nope', 'a=b'])).code, 2);
  });

  it('-o name output reads back as KIND/NAME arguments to get and delete', async () => {
    const names = await ok(['get', 'ippools', '-o', 'name']);
    assert.equal(names, 'ippool/pool-a\nippool/pool-b\n');
    const again = await ok(['get', ...names.trim().split('\n'), '-o', 'name']);
    assert.equal(again, names);
    await ok(['apply', '-f', file('tmp.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: tmp}\nspec: {nets: [10.0.0.0/8]}\n')]);
    assert.equal(await ok(['delete', 'globalnetworkset/tmp']), "Successfully deleted 1 'GlobalNetworkSet' resource(s)\n");
  });

  it('lists several kinds with KIND,KIND and short names gns, netset, knp', async () => {
    const out = await ok(['get', 'ippool,gnp', '-o', 'name']);
    assert.equal(out, 'ippool/pool-a\nippool/pool-b\nglobalnetworkpolicy/deny-db\n');
    const tables = await ok(['get', 'ippool,gns']);
    assert.match(tables, /^NAME\s+CIDR\s+SELECTOR\npool-a.*\npool-b.*\n\nNAME\ncloud\n$/);
    const list = JSON.parse(await ok(['get', 'ippool,gnp', '-o', 'json']));
    assert.deepEqual([list.kind, list.items.map((i: { kind: string }) => i.kind)], ['List', ['IPPool', 'IPPool', 'GlobalNetworkPolicy']]);
    assert.equal(await ok(['get', 'netset', '-n', 'shop', '-o', 'name']), 'networkset/partners\n');
    assert.equal(await ok(['get', 'knp', '-n', 'shop', '-o', 'name']), 'networkpolicy.networking.k8s.io/web\n');
  });

  it('prints custom columns and jsonpath, with --no-headers and --show-labels', async () => {
    assert.equal(await ok(['get', 'ippools', '-o', 'custom-columns=NAME:.metadata.name,CIDR:.spec.cidr,NAT:.spec.natOutgoing']), 'NAME     CIDR          NAT\npool-a   10.1.0.0/16   <none>\npool-b   10.2.0.0/16   true\n');
    assert.equal(await ok(['get', 'ippools', '-o', 'custom-columns=NAME:.metadata.name', '--no-headers']), 'pool-a\npool-b\n');
    assert.equal(await ok(['get', 'ippools', '-o', 'jsonpath={.items[*].metadata.name}']), 'pool-a pool-b');
    assert.equal(await ok(['get', 'ippools', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.spec.cidr}{"\\n"}{end}']), 'pool-a\t10.1.0.0/16\npool-b\t10.2.0.0/16\n');
    assert.equal(await ok(['get', 'ippool', 'pool-a', '-o', 'jsonpath={.spec.cidr}']), '10.1.0.0/16');
    assert.equal(await ok(['get', 'ippools', '-o', `jsonpath={.items[?(@.metadata.name=="pool-b")].spec.cidr}`]), '10.2.0.0/16');
    const shown = await ok(['get', 'ippools', '--show-labels', '--no-headers']);
    assert.match(shown, /^pool-a\s+10\.1\.0\.0\/16\s+all\(\)\s+env=prod,zone=a\npool-b\s+10\.2\.0\.0\/16\s+all\(\)\s+env=dev\n$/);
    const bad = await run(['get', 'ippools', '-o', 'jsonpath={.items[}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid JSONPath/);
  });

  it("takes kubectl's -l key=value form besides Calico's, and -a for all namespaces", async () => {
    assert.equal(await ok(['get', 'ippools', '-l', 'env=prod', '-o', 'name']), 'ippool/pool-a\n');
    assert.equal(await ok(['get', 'ippools', '-l', 'env in (prod,dev),!zone', '-o', 'name']), 'ippool/pool-b\n');
    assert.equal(await ok(['get', 'ippools', '-l', "env == 'dev'", '-o', 'name']), 'ippool/pool-b\n');
    assert.equal(await ok(['get', 'netsets', '-a', '-o', 'name']), 'networkset/partners\n');
    assert.match(await ok(['get', 'netsets', '-a']), /^NAMESPACE\s+NAME/);
  });

  it("shows a Kubernetes NetworkPolicy's pod selector as kubectl does", async () => {
    const out = await ok(['get', 'networkpolicy.networking.k8s.io', '-n', 'shop']);
    assert.equal(out, 'NAME   POD-SELECTOR\nweb    app=web,tier in (front,edge),!legacy\n');
  });

  it('converts a Kubernetes NetworkPolicy into a Calico NetworkPolicy that applies as is', async () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]\n';
    const yaml = await ok(['convert', '-f', file('knp.yaml', text)]);
    const docs = parseAllDocuments(yaml).map((d) => d.toJS());
    assert.equal(docs.length, 1);
    assert.deepEqual([docs[0].apiVersion, docs[0].kind, docs[0].metadata.name, docs[0].metadata.namespace, docs[0].spec.tier, docs[0].spec.order], ['projectcalico.org/v3', 'NetworkPolicy', 'api', 'shop', 'default', 1000]);
    assert.match(docs[0].spec.selector, /app == 'api'/);
    await ok(['apply', '-f', '-'], yaml);
    assert.equal(await ok(['get', 'networkpolicy', 'api', '-n', 'shop', '-o', 'name']), 'networkpolicy/api\n');
    const refused = await run(['convert', '-f', file('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /v1 Namespace has no Calico v3 form/);
  });

  it('prints bash and zsh completion that complete commands, kinds and flags', async () => {
    const script = await ok(['completion', 'bash']);
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tabbyctl; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).trim();
    assert.equal(complete(['tabbyctl', 'lab']), 'label');
    assert.equal(complete(['tabbyctl', 'get', 'gnp']), 'gnp gnps');
    assert.match(complete(['tabbyctl', 'get', 'ippool', '--no']), /--no-headers/);
    assert.equal(complete(['tabbyctl', 'ipam', 'sh']), 'show');
    assert.match(await ok(['completion', 'zsh']), /^#compdef tabbyctl\n/);
    assert.equal((await run(['completion', 'fish'])).code, 1);
  });

  it('shows an example in the help of every new command', async () => {
    for (const cmd of ['label', 'convert', 'completion', 'get']) {
      const r = await run([cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:\n  (tabbyctl|source)/, cmd);
    }
  });
});
