// tabbyctl in-process: argument parsing, help, exit codes and messages, against a shared
// MemoryDatastore (the built binary against a real etcd is covered by ctl.integration.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { runCtlInProcess } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'tabbyctl-program-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], opts: { ds?: MemoryDatastore; stdin?: string } = {}) => runCtlInProcess(args, opts);

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const POOLS = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
  labels: {env: prod}
spec:
  cidr: 10.1.0.0/16
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: 10.2.0.0/16
  natOutgoing: true
`;
const BROKEN = `${POOLS}---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-c
spec:
  cidr: 10.3.0.0/33
`;

describe('tabbyctl help and usage', () => {
  for (const cmd of [[], ['validate'], ['create'], ['apply'], ['replace'], ['delete'], ['get'], ['patch'], ['version']]) {
    it(`${['tabbyctl', ...cmd].join(' ')} --help shows examples and exit codes and exits 0`, async () => {
      const r = await run([...cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:\n {2}tabbyctl /);
      assert.match(r.stdout, /Exit codes:\n {2}0 {2}success/);
      if (cmd.length > 0 && cmd[0] !== 'validate') assert.match(r.stdout, /--etcd-endpoints <urls>/);
    });
  }
  it('exits 1 on an unknown command, option or output format', async () => {
    assert.equal((await run(['frobnicate'])).code, 1);
    assert.equal((await run(['get', 'ippool', '--bogus'])).code, 1);
    const r = await run(['get', 'ippool', '-o', 'xml']);
    assert.deepEqual([r.code, r.stderr], [1, 'error: unknown output format "xml"; use one of yaml, json, wide, name, custom-columns=SPEC, jsonpath=TEMPLATE (or leave -o out for the table)\n']);
  });
  it('exits 1 naming the kind when it is unknown', async () => {
    const r = await run(['get', 'ipoool']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown resource type "ipoool"/);
  });
  it('exits 1 when -f is missing', async () => {
    const r = await run(['apply']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no input: give -f FILE/);
  });
  it('version --client prints the client version without a datastore', async () => {
    const r = await run(['version', '--client']);
    assert.deepEqual([r.code, r.stdout], [0, 'Client Version:    v0.1.0\n']);
  });
});

describe('tabbyctl validate', () => {
  it('accepts valid manifests', async () => {
    const r = await run(['validate', '-f', file('pools.yaml', POOLS)]);
    assert.deepEqual([r.code, r.stdout], [0, 'Valid: 2 resource(s) in 1 file(s)\n']);
  });
  it('names the file, document, line, field and rule of an invalid document', async () => {
    const f = file('broken.yaml', BROKEN);
    const r = await run(['validate', '-f', f]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: 1 document is invalid/);
    assert.match(r.stderr, new RegExp(`${f}: document 3 \\(line \\d+\\) IPPool "pool-c": spec\\.cidr: .* \\[rule: [a-z-]+\\]`));
  });
  it('reads standard input with -f -', async () => {
    const r = await run(['validate', '-f', '-'], { stdin: POOLS });
    assert.equal(r.code, 0);
  });
});

describe('tabbyctl writes against a datastore', () => {
  it('apply, get, patch, replace conflict, delete', async () => {
    const ds = new MemoryDatastore();
    const pools = file('pools2.yaml', POOLS);
    let r = await run(['apply', '-f', pools], { ds });
    assert.deepEqual([r.code, r.stdout], [0, "Successfully applied 2 'IPPool' resource(s)\n"]);
    r = await run(['get', 'ippools'], { ds });
    assert.deepEqual([r.code, r.stdout], [0, 'NAME     CIDR          SELECTOR\npool-a   10.1.0.0/16   all()\npool-b   10.2.0.0/16   all()\n']);
    r = await run(['get', 'ippool', '-l', 'env == "prod"', '-o', 'name'], { ds });
    assert.deepEqual([r.code, r.stdout], [0, 'ippool/pool-a\n']);
    r = await run(['get', 'ippool', 'pool-a', 'nope'], { ds });
    assert.equal(r.code, 2);
    assert.match(r.stdout, /pool-a/);
    assert.equal(r.stderr, 'error: resource does not exist: IPPool(nope)\n');
    r = await run(['patch', 'ippool', 'pool-a', '-p', '{"spec":{"natOutgoing":true}}'], { ds });
    assert.deepEqual([r.code, r.stdout], [0, "Successfully patched 1 'IPPool' resource\n"]);
    r = await run(['patch', 'ippool', 'pool-a', '-p', '{"spec":'], { ds });
    assert.equal(r.code, 1);
    const stale = file('stale.yaml', POOLS.replace('name: pool-a', 'name: pool-a\n  resourceVersion: "1"'));
    r = await run(['replace', '-f', stale], { ds });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /update conflict: IPPool\(pool-a\)/);
    r = await run(['create', '-f', pools], { ds });
    assert.equal(r.code, 3);
    r = await run(['create', '-f', pools, '--skip-exists'], { ds });
    assert.deepEqual([r.code, r.stdout], [0, "Successfully created 0 resource(s); skipped 2 that already existed\n"]);
    r = await run(['delete', 'ippool', 'pool-a', 'pool-b'], { ds });
    assert.deepEqual([r.code, r.stdout], [0, "Successfully deleted 2 'IPPool' resource(s)\n"]);
    r = await run(['delete', 'ippool', 'pool-a'], { ds });
    assert.equal(r.code, 2);
  });
  it('an invalid document stores nothing, and --continue-on-error stores the valid ones', async () => {
    const ds = new MemoryDatastore();
    const f = file('broken2.yaml', BROKEN);
    let r = await run(['apply', '-f', f], { ds });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid; nothing was stored/);
    assert.equal((await ds.list('/calico/resources/v3/projectcalico.org/ippools/')).items.length, 0);
    r = await run(['apply', '-f', f, '--continue-on-error'], { ds });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Partial success: applied 2 out of 3 resource\(s\)/);
    assert.equal((await ds.list('/calico/resources/v3/projectcalico.org/ippools/')).items.length, 2);
  });
});
