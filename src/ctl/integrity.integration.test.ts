// tabbyctl's integrity rules, run as a user runs them (the built binary, a real etcd): no lost
// update through a stale apply, no policy left in a missing tier, conversions edited only through
// their Kubernetes source, concurrent patches that all land, and input that is too large, too
// deep or not text refused with a message that says where; and `get --watch` streaming changes.
// Needs `make build` first.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { TABBYCTL, assertOk, etcdForFile, runBinary } from './testing.js';

const fx = etcdForFile('tabbyctl-integrity-');
const env = () => ({ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: fx.etcd.endpoints.join(',') });
const ctl = (args: string[], stdin?: string) => runBinary(TABBYCTL, args, env(), stdin);
const file = (name: string, text: string | Buffer) => {
  const p = join(fx.work, name);
  writeFileSync(p, text);
  return p;
};
const stored = async (key: string) => (await fx.ds.get(key))?.value as Record<string, any> | undefined;
const V3 = '/calico/resources/v3/projectcalico.org';

const tier = (name: string) => `apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: ${name}}\nspec: {order: 100}\n`;
const gnp = (name: string, tierName?: string) =>
  `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec:\n${tierName ? `  tier: ${tierName}\n` : ''}  selector: app == 'db'\n  ingress: [{action: Allow}]\n`;

describe('tabbyctl integrity against etcd', () => {
  it('apply with a stale resourceVersion is a conflict (exit 3) and keeps the newer change', async () => {
    assertOk(await ctl(['apply', '-f', file('p.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: stale}\nspec: {cidr: 10.50.0.0/16}\n')]));
    const got = await ctl(['get', 'ippool', 'stale', '-o', 'yaml']);
    assertOk(got);
    const old = file('old.yaml', got.stdout);
    assertOk(await ctl(['patch', 'ippool', 'stale', '-p', '{"spec":{"natOutgoing":true}}']));
    const r = await ctl(['apply', '-f', old]);
    assert.equal(r.code, 3, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /update conflict: IPPool\(stale\) is at resourceVersion \d+, not the document's resourceVersion \d+/);
    assert.equal((await stored(`${V3}/ippools/stale`))?.spec.natOutgoing, true);
    // Without a resourceVersion, apply overwrites as before.
    const doc = parse(got.stdout) as { metadata: Record<string, unknown> };
    delete doc.metadata.resourceVersion;
    assertOk(await ctl(['apply', '-f', '-'], JSON.stringify(doc)));
    assert.equal((await stored(`${V3}/ippools/stale`))?.spec.natOutgoing ?? false, false);
  });

  it('refuses to delete the default tier or a tier with policies, and policies in a tier that does not exist', async () => {
    const def = await ctl(['delete', 'tier', 'default']);
    assert.equal(def.code, 1);
    assert.match(def.stderr, /Cannot delete default tier/);
    const missing = await ctl(['create', '-f', file('orphan.yaml', gnp('security.orphan', 'security'))]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /tier "security" does not exist/);
    assert.equal(await stored(`${V3}/globalnetworkpolicies/security.orphan`), undefined);

    assertOk(await ctl(['create', '-f', file('tier.yaml', `${tier('security')}---\n${gnp('security.db', 'security')}`)]));
    const nonEmpty = await ctl(['delete', 'tier', 'security']);
    assert.equal(nonEmpty.code, 1);
    assert.match(nonEmpty.stderr, /Cannot delete a non-empty tier: it has 1 policy \(GlobalNetworkPolicy\(security\.db\)\)/);
    // Policies carry Calico's tier label, so they can be listed by tier.
    const listed = await ctl(['get', 'gnp', '-l', "projectcalico.org/tier == 'security'", '-o', 'name']);
    assertOk(listed);
    assert.equal(listed.stdout.trim(), 'globalnetworkpolicy/security.db');
    assertOk(await ctl(['delete', 'gnp', 'security.db']));
    assertOk(await ctl(['delete', 'tier', 'security']));
  });

  it('keeps the tier rules under races: a policy never outlives its tier', async () => {
    for (let round = 0; round < 6; round++) {
      assertOk(await ctl(['apply', '-f', file('race-tier.yaml', tier('race'))]));
      const [create, del] = await Promise.all([ctl(['create', '-f', file(`race-${round}.yaml`, gnp(`race.p${round}`, 'race'))]), ctl(['delete', 'tier', 'race'])]);
      const tierLeft = await stored(`${V3}/tiers/race`);
      const policy = await stored(`${V3}/globalnetworkpolicies/race.p${round}`);
      assert.ok(!(policy !== undefined && tierLeft === undefined), `round ${round}: the policy was stored but its tier is gone (create ${create.code}, delete ${del.code})`);
      assert.equal(create.code === 0, policy !== undefined);
      assert.equal(del.code === 0, tierLeft === undefined);
      if (policy !== undefined) assertOk(await ctl(['delete', 'gnp', `race.p${round}`]));
    }
  });

  it('refuses direct edits of knp.* policies and kns.* profiles, naming the Kubernetes object to edit', async () => {
    const k8s = `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{ports: [{port: 80}]}]\n`;
    assertOk(await ctl(['apply', '-f', file('k8s.yaml', k8s)]));
    const patch = await ctl(['patch', 'networkpolicy', 'knp.default.web', '-n', 'shop', '-p', '{"spec":{"order":5}}']);
    assert.equal(patch.code, 1);
    assert.match(patch.stderr, /converted from the Kubernetes NetworkPolicy shop\/web/);
    const del = await ctl(['delete', 'networkpolicy', 'knp.default.web', '-n', 'shop']);
    assert.equal(del.code, 1);
    assert.match(del.stderr, /edit or delete that instead/);
    const got = await ctl(['get', 'profile', 'kns.shop', '-o', 'yaml']);
    assertOk(got);
    const replace = await ctl(['replace', '-f', '-'], got.stdout);
    assert.equal(replace.code, 1);
    assert.match(replace.stderr, /converted from the Kubernetes Namespace shop/);
    assert.ok(await stored(`${V3}/networkpolicies/shop/knp.default.web`));
    assert.ok(await stored(`${V3}/profiles/kns.shop`));
  });

  it('lands 10 concurrent patches of one resource, each one', async () => {
    assertOk(await ctl(['apply', '-f', file('busy.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: busy}\nspec: {nets: [10.9.0.0/16]}\n')]));
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => ctl(['patch', 'globalnetworkset', 'busy', '-p', JSON.stringify({ metadata: { labels: { [`p${i}`]: 'yes' } } })])));
    runs.forEach((r, i) => assert.equal(r.code, 0, `patch ${i}: ${r.stderr}`));
    const labels = (await stored(`${V3}/globalnetworksets/busy`))?.metadata.labels as Record<string, string>;
    assert.deepEqual(Object.keys(labels).sort(), Array.from({ length: 10 }, (_, i) => `p${i}`).sort());
  });

  it('refuses a resource over etcd\'s request limit in validate and apply, naming it and the limit', async () => {
    const nets = Array.from({ length: 40_000 }, (_, i) => `fd00:1111:2222:3333:4444:5555:${(0x1000 + (i >> 12)).toString(16)}:${(0x1000 + (i & 0xfff)).toString(16)}/128`);
    const big = file('big.json', JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'huge' }, spec: { nets } }));
    for (const verb of ['validate', 'apply']) {
      const r = await ctl([verb, '-f', big]);
      assert.equal(r.code, 1, `${verb}: ${r.stderr}`);
      assert.match(r.stderr, /big\.json: document 1 .*GlobalNetworkSet "huge": .*over the 1564672-byte limit \(etcd refuses requests over 1572864 bytes/);
      assert.doesNotMatch(r.stderr, /RESOURCE_EXHAUSTED/);
    }
    assert.equal(await stored(`${V3}/globalnetworksets/huge`), undefined);
  });

  it('refuses deep nesting, alias bombs and bytes that are not UTF-8 with the file and document, echoing no garbage', async () => {
    const deep = await ctl(['apply', '-f', file('deep.yaml', `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: d}\nspec:\n  cidr: 10.0.0.0/16\n  x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)]);
    assert.equal(deep.code, 1);
    assert.match(deep.stderr, /deep\.yaml: line 6: the document nests mappings and sequences more than 64 levels deep/);
    assert.doesNotMatch(deep.stderr, /call stack/);
    const sel = await ctl(['validate', '-f', file('sel.yaml', `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: s}\nspec:\n  selector: "${'('.repeat(120)}a == 'b'${')'.repeat(120)}"\n`)]);
    assert.equal(sel.code, 1);
    assert.match(sel.stderr, /sel\.yaml: document 1 \(line 5\) GlobalNetworkPolicy "s": spec\.selector: .*parentheses nest more than 100 levels deep/);
    assert.doesNotMatch(sel.stderr, /nothing was stored/, 'validate stores nothing anyway and must not say so');
    const aliases = Array.from({ length: 10 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    const bomb = await ctl(['apply', '-f', file('bomb.yaml', `${tier('fine')}---\na: &a [x,x,x,x,x,x,x,x,x]\n${aliases.join('\n')}\n`)]);
    assert.equal(bomb.code, 1);
    assert.match(bomb.stderr, /bomb\.yaml: document 2 \(line \d+\): the document uses YAML aliases/);
    assert.equal(await stored(`${V3}/tiers/fine`), undefined);
    const latin1 = Buffer.concat([Buffer.from(`${tier('ok')}---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: caf`), Buffer.from([0xe9, 0x1b, 0x5b, 0x32, 0x4a]), Buffer.from('}\n')]);
    const bad = await ctl(['apply', '-f', file('latin1.yaml', latin1)]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /latin1\.yaml: document 2 \(line 8\): not UTF-8 text: byte \d+ \(0xe9\)/);
    assert.doesNotMatch(bad.stderr, /[\u001b\ufffd]/);
  });

  it('refuses a WorkloadEndpoint whose name does not match its spec, and accepts pool CIDRs with host bits, normalised', async () => {
    const wep = await ctl(['apply', '-f', file('wep.yaml', 'apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: node1-k8s-wrong-eth0, namespace: ns}\nspec: {node: node1, orchestrator: k8s, pod: web, endpoint: eth0}\n')]);
    assert.equal(wep.code, 1);
    assert.match(wep.stderr, /expected "node1-k8s-web-eth0"/);
    assertOk(await ctl(['apply', '-f', file('tutorial.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: tutorial}\nspec: {cidr: 10.244.3.220/24}\n')]));
    assert.equal((await stored(`${V3}/ippools/tutorial`))?.spec.cidr, '10.244.3.0/24');
    const kcc = 'apiVersion: projectcalico.org/v3\nkind: KubeControllersConfiguration\nmetadata: {name: default}\nspec:\n  controllers:\n    node:\n      hostEndpoint:\n        autoCreate: Enabled\n        templates:\n        - generateName: NAME\n          annotations: {team: net}\n          nodeSelector: all()\n';
    assertOk(await ctl(['validate', '-f', file('kcc.yaml', kcc.replace('NAME', 'custom-hep'))]));
    const badName = await ctl(['validate', '-f', file('kcc-bad.yaml', kcc.replace('NAME', "'test$set'"))]);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /templates\[0\]\.generateName: generateName "test\$set" is not a DNS-1123 subdomain/);
  });

  it('delete A B with B missing deletes A, reports B and exits 2', async () => {
    assertOk(await ctl(['apply', '-f', file('ab.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: set-a}\nspec: {nets: [10.1.0.0/16]}\n')]));
    const r = await ctl(['delete', 'globalnetworkset', 'set-a', 'set-b']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /Successfully deleted 1 'GlobalNetworkSet' resource\(s\)/);
    assert.match(r.stderr, /resource does not exist: GlobalNetworkSet\(set-b\)/);
    assert.equal(await stored(`${V3}/globalnetworksets/set-a`), undefined);
  });

  it('names an invalid List item as "item N of the List in document M"', async () => {
    const list = `${tier('one')}---\napiVersion: v1\nkind: List\nitems:\n- ${tier('two').trimEnd().replace(/\n/g, '\n  ')}\n- apiVersion: projectcalico.org/v3\n  kind: Tier\n  metadata: {name: Bad_Name}\n`;
    const r = await ctl(['validate', '-f', file('list.yaml', list)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /list\.yaml: item 2 of the List in document 2 \(line \d+\) Tier "Bad_Name": metadata\.name: /);
  });

  it('with DATASTORE_TYPE=memory, refuses writes instead of reporting success', async () => {
    const r = await runBinary(TABBYCTL, ['apply', '-f', file('mem.yaml', tier('mem'))], { DATASTORE_TYPE: 'memory' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the datastore type is memory \(env DATASTORE_TYPE\), which keeps nothing once this command ends/);
    assert.doesNotMatch(r.stdout, /Successfully/);
    assertOk(await runBinary(TABBYCTL, ['get', 'ippools'], { DATASTORE_TYPE: 'memory' }));
  });

  it('get --watch prints the listing, then each change with its event, until interrupted', async () => {
    const set = (labels: string) => `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: watched, labels: {${labels}}}\nspec: {nets: [10.77.0.0/16]}\n`;
    const child = spawn(TABBYCTL, ['get', 'globalnetworksets', '-w', '-l', 'watch=yes'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env() } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const until = async (pattern: RegExp) => {
      for (let i = 0; i < 400 && !pattern.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(out, pattern);
    };
    try {
      await until(/^EVENT\s+NAME/m);
      assertOk(await ctl(['apply', '-f', file('w1.yaml', set('watch: "yes"'))]));
      await until(/^ADDED\s+watched/m);
      assertOk(await ctl(['label', 'gns', 'watched', 'extra=1']));
      await until(/^MODIFIED\s+watched/m);
      assertOk(await ctl(['label', 'gns', 'watched', 'watch=no', '--overwrite']));
      await until(/^DELETED\s+watched/m);
      assertOk(await ctl(['delete', 'gns', 'watched']));
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.deepEqual(out.split('\n').filter((l) => /^(ADDED|MODIFIED|DELETED)/.test(l)).map((l) => l.split(/\s+/)[0]), ['ADDED', 'MODIFIED', 'DELETED']);
  });
});
