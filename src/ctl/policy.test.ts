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
  });
});
