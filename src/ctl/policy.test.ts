// tabbyctl policy matrix|explain: the built binary on manifest files (the JSON of DESIGN.md §9,
// exit codes, error messages), and the live-datastore path in-process over a MemoryDatastore.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { MemoryDatastore } from '../datastore/index.js';
import { fixtureNamespace, fixturePod } from '../policy/testdata/netpol-e2e.js';
import { TABBYCTL, assertOk, runBinary, runCtlInProcess } from './testing.js';

const denyXIngress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-y-to-x-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }], ports: [{ port: 80 }] }] },
};
const docs = [fixtureNamespace('x'), fixtureNamespace('y'), fixturePod('x/a'), fixturePod('x/b'), fixturePod('y/a'), denyXIngress];
const manifest = docs.map((d) => stringify(d)).join('---\n');

describe('tabbyctl policy (built binary)', () => {
  let dir = '';
  let file = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tbp-ctl-'));
    file = join(dir, 'all.yaml');
    writeFileSync(file, manifest);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('matrix -o json prints pods and the matrix, rows from and columns to', async () => {
    const r = await runBinary(TABBYCTL, ['policy', 'matrix', '-f', file, '--port', '80', '--protocol', 'TCP', '-o', 'json'], {});
    assertOk(r);
    assert.deepEqual(JSON.parse(r.stdout), {
      pods: ['x/a', 'x/b', 'y/a'],
      matrix: [
        [false, true, true],
        [false, true, true],
        [true, true, true],
      ],
    });
  });

  it('matrix on another port: only y may reach x/a, and only on 80', async () => {
    const r = await runBinary(TABBYCTL, ['policy', 'matrix', '-f', file, '--port', '81', '-o', 'json'], {});
    assertOk(r);
    assert.deepEqual(JSON.parse(r.stdout).matrix[2], [false, true, true]);
  });

  it('explain names the deciding tier, policy and rule, and the policies consulted', async () => {
    const r = await runBinary(TABBYCTL, ['policy', 'explain', '-f', file, '--from', 'x/b', '--to', 'x/a', '--port', '80', '--protocol', 'TCP'], {});
    assertOk(r);
    assert.match(r.stdout, /^DENIED: x\/b \(10\.0\.1\.2\) → x\/a \(10\.0\.1\.1\) TCP\/80/);
    assert.match(r.stdout, /decided by: ingress of x\/a: end of tier default/);
    assert.match(r.stdout, /knp\/x\/allow-y-to-x-a: no rule matched/);
    assert.match(r.stdout, /rule 0: source 10\.0\.1\.2 is not selected by/);
    const j = await runBinary(TABBYCTL, ['policy', 'explain', '-f', file, '--from', 'y/a', '--to', 'x/a', '--port', '80', '-o', 'json'], {});
    assertOk(j);
    const v = JSON.parse(j.stdout);
    assert.equal(v.allowed, true);
    assert.deepEqual(
      { tier: v.decidedBy.decision.tier, policy: v.decidedBy.decision.policy, rule: v.decidedBy.decision.rule },
      { tier: 'default', policy: 'knp/x/allow-y-to-x-a', rule: 0 },
    );
  });

  it('refuses a bad flag value or an unknown pod with exit code 1 and a message naming it', async () => {
    const bad = await runBinary(TABBYCTL, ['policy', 'matrix', '-f', file, '--protocol', 'ICMP'], {});
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--protocol "ICMP" is not one of TCP, UDP, SCTP/);
    const missing = await runBinary(TABBYCTL, ['policy', 'explain', '-f', file, '--from', 'z/a', '--to', 'x/a'], {});
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--from z\/a: no pod a in namespace z/);
  });
});

describe('tabbyctl policy explain: forwarded and DNATed flows (--via, --leaves, --dnat)', () => {
  // A node with a host endpoint on eth0 (10.0.0.11) and x/a behind it: a node port 30080 DNATed
  // to x/a:80 that a preDNAT policy closes to 198.51.100.0/24, and applyOnForward policy
  // denying forwarded 443 out of the host endpoint.
  const hostDocs = [
    ...docs.slice(0, 5),
    { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node-1-eth0', labels: { role: 'host' } }, spec: { node: 'node-1', interfaceName: 'eth0', expectedIPs: ['10.0.0.11'] } },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'pre' },
      spec: { selector: "role == 'host'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', source: { nets: ['198.51.100.0/24'] }, destination: { ports: [30080] } }] },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'fwd' },
      spec: { selector: "role == 'host'", applyOnForward: true, types: ['Egress'], egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [443] } }, { action: 'Allow' }] },
    },
  ];
  let dir = '';
  let file = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tbp-ctl-hep-'));
    file = join(dir, 'all.yaml');
    writeFileSync(file, hostDocs.map((d) => stringify(d)).join('---\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const explain = (...args: string[]) => runBinary(TABBYCTL, ['policy', 'explain', '-f', file, ...args], {});

  it('--dnat: preDNAT sees the node port, later stages the pod; another source passes', async () => {
    const r = await explain('--from', '198.51.100.7', '--to', '10.0.0.11', '--port', '30080', '--dnat', 'x/a:80', '-o', 'json');
    assertOk(r);
    const v = JSON.parse(r.stdout);
    assert.equal(v.allowed, false);
    assert.deepEqual(v.flow.dnat, { ip: '10.0.1.1', port: 80 });
    assert.equal(v.decidedBy.stage, 'preDNAT');
    assert.equal(v.decidedBy.decision.policy, 'gnp/pre');
    const other = await explain('--from', '203.0.113.9', '--to', '10.0.0.11', '--port', '30080', '--dnat', '10.0.1.1:80', '-o', 'json');
    assertOk(other);
    const w = JSON.parse(other.stdout);
    assert.equal(w.allowed, true);
    assert.deepEqual(
      w.stages.map((s: { stage: string; endpoint: string }) => `${s.stage} ${s.endpoint}`),
      ['preDNAT hep/node-1-eth0', 'forwardIngress hep/node-1-eth0', 'ingress wep/x/node--1-k8s-a-eth0'],
    );
    const text = await explain('--from', '198.51.100.7', '--to', '10.0.0.11', '--port', '30080', '--dnat', 'x/a:80');
    assertOk(text);
    assert.match(text.stdout, /^DENIED: 198\.51\.100\.7 \(not a Calico endpoint\) → host endpoint node-1-eth0 \(10\.0\.0\.11\) TCP\/30080 \(DNAT to 10\.0\.1\.1:80\)/);
    assert.match(text.stdout, /decided by: preDNAT of host endpoint node-1-eth0: tier default, policy gnp\/pre, rule 0/);
  });

  it('--via and --leaves: the host endpoints a forwarded flow crosses; their names appear in the output', async () => {
    const out = await explain('--from', 'x/a', '--to', '198.51.100.7', '--port', '443', '--leaves', 'node-1-eth0', '-o', 'json');
    assertOk(out);
    const v = JSON.parse(out.stdout);
    assert.equal(v.allowed, false);
    assert.equal(v.flow.leavesHostEndpoint, 'hep/node-1-eth0');
    assert.equal(v.decidedBy.stage, 'forwardEgress');
    const ok = await explain('--from', 'x/a', '--to', '198.51.100.7', '--port', '80', '--leaves', 'hep/node-1-eth0');
    assertOk(ok);
    assert.match(ok.stdout, /^ALLOWED: .* TCP\/80 \(forwarded, leaving by hep\/node-1-eth0\)/);
    const without = await explain('--from', 'x/a', '--to', '198.51.100.7', '--port', '443', '-o', 'json');
    assert.equal(JSON.parse(without.stdout).allowed, true, 'not forwarded through it unless said');
    const via = await explain('--from', '198.51.100.7', '--to', 'x/a', '--port', '80', '--via', 'node-1-eth0', '-o', 'json');
    assertOk(via);
    const w = JSON.parse(via.stdout);
    assert.equal(w.flow.viaHostEndpoint, 'hep/node-1-eth0');
    assert.ok(w.stages.some((s: { stage: string }) => s.stage === 'forwardIngress'));
  });

  it('refuses an unknown host endpoint or a bad DNAT target, naming the flag', async () => {
    const r = await explain('--from', 'x/a', '--to', '198.51.100.7', '--leaves', 'eth9');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--leaves "eth9": no HostEndpoint of that name among the resources \(known: node-1-eth0\)/);
    const d = await explain('--from', '198.51.100.7', '--to', '10.0.0.11', '--dnat', '10.0.1.1:99999');
    assert.equal(d.code, 1);
    assert.match(d.stderr, /--dnat "10\.0\.1\.1:99999" has port "99999", not 1–65535/);
    const help = await runBinary(TABBYCTL, ['policy', 'explain', '--help'], {});
    assertOk(help);
    for (const flag of ['--via <hostendpoint>', '--leaves <hostendpoint>', '--dnat <target>']) assert.ok(help.stdout.includes(flag), flag);
  });
});

describe('tabbyctl policy against the live datastore', () => {
  it('matrix without -f reads the datastore', async () => {
    const ds = new MemoryDatastore();
    assertOk(await runCtlInProcess(['apply', '-f', '-'], { ds, stdin: manifest }));
    const r = await runCtlInProcess(['policy', 'matrix', '--port', '80', '-o', 'json'], { ds });
    assertOk(r);
    assert.deepEqual(JSON.parse(r.stdout).matrix, [
      [false, true, true],
      [false, true, true],
      [true, true, true],
    ]);
  });
});

describe('tabbyctl policy stats: errors and the table', () => {
  it('a node that does not answer is named on stderr, exit 4; an unknown --node is exit 2', async () => {
    const ds = new MemoryDatastore();
    // A port nothing listens on (the kernel gave it to a server that is closed again).
    const srv = (await import('node:net')).createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const r = await runCtlInProcess(['policy', 'stats', '--health-url', `http://127.0.0.1:${port}`, '-o', 'json'], { ds });
    assert.equal(r.code, 4);
    assert.match(r.stderr, new RegExp(`nothing answers at http://127\\.0\\.0\\.1:${port}/policy/stats`));
    assert.deepEqual(JSON.parse(r.stdout).nodes, []);
    const unknown = await runCtlInProcess(['policy', 'stats', '--node', 'nope'], { ds });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /node "nope" does not exist/);
  });

  it('prints one row per rule, hiding idle endpoint drops unless wide', async () => {
    const { renderStatsTable } = await import('./policy.js');
    const rules = [
      { tier: 'default', policy: 'knp/shop/allow', kind: 'policy', direction: 'ingress', rule: 0, action: 'Allow', packets: 12, bytes: 720 },
      { tier: '', policy: '', kind: 'endpoint', direction: 'ingress', action: 'Deny', note: 'end of tier default', endpoint: 'cali1 (shop/web)', packets: 0, bytes: 0 },
    ];
    const text = renderStatsTable([{ node: 'node-1', url: '', rules }], false);
    assert.deepEqual(text.split('\n'), ['NODE    TIER     POLICY          DIRECTION  RULE  ACTION  PACKETS  BYTES', 'node-1  default  knp/shop/allow  ingress    0     Allow        12    720', '']);
    assert.match(renderStatsTable([{ node: 'node-1', url: '', rules }], true), /\(end of tier default: shop\/web\)\s+ingress\s+-\s+Deny\s+0\s+0\s+cali1 \(shop\/web\)/);
    const wide = renderStatsTable([{ node: 'node-1', url: '', rules, appliedRevision: 42, appliedAt: '2026-12-02T18:00:00.000Z' }, { node: 'node-2', url: '', rules: [] }], true).split('\n');
    assert.deepEqual(wide.slice(0, 4), ['NODE    APPLIED-REVISION  APPLIED-AT', 'node-1  42                2026-12-02T18:00:00.000Z', 'node-2  -                 -', '']);
  });
});
