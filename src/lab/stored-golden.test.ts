// Behaviour unchanged, proven: a lab run (real etcd, `tabby node` agents, the CNI plugin, IPAM,
// the resource client) stores exactly the keys and values recorded from the code before the
// layer refactor (testdata/stored-golden.json), byte for byte after normalising what differs run
// to run; and tabbyctl and tabby print what they printed then (testdata/cli-golden.json), over the
// same cluster, normalised the same way. Needs root and a `make build`.
//
// Values are compared as JSON text (each writer stores compact JSON, so the text of the parsed
// value is the stored text). Normalised, explicitly and nothing else:
//   - UUIDs (metadata.uid, pod uids), the clusterGUID     → <uuid:N>, <guid:N>, numbered by first appearance
//   - container IDs (64 hex) and MAC addresses          → <id:N>, <mac:N>
//   - RFC 3339 timestamps (creationTimestamp, IPAM attribute timestamps, affinity claim times) → <time>
//   - a block's sequenceNumber (random start)            → <seq>, and sequenceNumberForAllocation
//     values as offsets from it (<seq+K>)
// Numbering by first appearance in key order keeps the structure: a container ID that shows up
// in a handle, a block attribute and a WorkloadEndpoint gets the same placeholder everywhere.
// Entries are numbered in the order of their stored keys and then sorted by normalised key (a
// handle's key holds a random container ID, so its place among the raw keys is random).
// Revisions are not part of the values and are not compared (in CLI output, resourceVersion → <rev>).
//
// Record (on the old code only): TABBY_GOLDEN_RECORD=1 node --test dist/src/lab/stored-golden.test.js

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tabbyOk } from './testing.js';
import { openCluster } from './cluster.js';
import { labDown } from './down.js';
import { openEtcdBridge } from './etcd-bridge.js';
import { planLab } from './plan.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const GOLDEN = join(repo, 'src/lab/testdata/stored-golden.json');
const CLI_GOLDEN = join(repo, 'src/lab/testdata/cli-golden.json');
/** Commands whose output must not change: data in every format, and the help texts. */
const CLI_RUNS: readonly string[][] = [
  ['tabbyctl', 'get', 'nodes', '-o', 'wide'],
  ['tabbyctl', 'get', 'ippools'],
  ['tabbyctl', 'get', 'ippools', '-o', 'yaml'],
  ['tabbyctl', 'get', 'workloadendpoints', '-A', '-o', 'wide'],
  ['tabbyctl', 'get', 'profiles', '-o', 'json'],
  ['tabbyctl', 'get', 'networkpolicies', '-A', '-o', 'yaml'],
  ['tabbyctl', 'get', 'pods', '-A'],
  ['tabbyctl', 'ipam', 'show', '--show-blocks'],
  ['tabbyctl', 'ipam', 'check'],
  ['tabbyctl', 'get', 'nosuchkind'],
  ['tabbyctl', '--help'],
  ['tabbyctl', 'get', '--help'],
  ['tabbyctl', 'ipam', '--help'],
  ['tabby', '--help'],
  ['tabby', 'node', '--help'],
  ['tabby', 'controllers', '--help'],
  ['tabby', 'lab', '--help'],
];
const LAB = 'tblgold';
const plan = planLab(LAB, 2);

const STEP1 = `
apiVersion: v1
kind: Namespace
metadata: {name: alpha, labels: {team: a}, annotations: {'cni.projectcalico.org/ipv4pools': '["default-ipv4-ippool"]'}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: outside, labels: {zone: out}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: alpha}
spec:
  podSelector: {matchLabels: {app: a1}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 80, protocol: TCP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: a1, namespace: alpha, labels: {app: a1}}
spec:
  nodeName: node-1
  serviceAccountName: web
  containers:
  - {name: c, ports: [{name: http, containerPort: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b1}
spec:
  nodeName: node-2
  containers:
  - {name: c, ports: [{containerPort: 80}]}
`;
const STEP2 = `
apiVersion: v1
kind: Pod
metadata: {name: a2, namespace: alpha, labels: {app: a2}}
spec:
  nodeName: node-1
  containers:
  - {name: c, ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b2}
spec:
  nodeName: node-2
  containers:
  - {name: c, ports: [{containerPort: 80}]}
`;
const STEP3 = 'apiVersion: v1\nkind: Pod\nmetadata: {name: a1, namespace: alpha}\n';

/** Runs a built executable with only the datastore in its environment; exit code and output. */
function run(bin: string, args: readonly string[], endpoint: string): Promise<string> {
  return new Promise((done) => {
    const env = { PATH: process.env['PATH'] ?? '', ETCD_ENDPOINTS: endpoint, DATASTORE_TYPE: 'etcdv3' };
    execFile(process.execPath, [join(repo, `dist/bin/${bin}.cjs`), ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      done(`exit ${code}\n--- stdout\n${stdout.replaceAll(endpoint, '<endpoint>')}--- stderr\n${stderr.replaceAll(endpoint, '<endpoint>')}`);
    });
  });
}

const tabby = async (args: string[]): Promise<void> => void (await tabbyOk(args, 120_000));

const PATTERNS: readonly [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, 'uuid'],
  [/\b[0-9a-f]{64}\b/g, 'id'],
  [/\b[0-9a-f]{32}\b/g, 'guid'],
  [/\b(?!ee:ee:ee:ee:ee:ee)[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/g, 'mac'],
];
const TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;

/** A namer of run-to-run values: the same text gets the same placeholder. */
function placeholders(): (what: string, text: string) => string {
  const seen = new Map<string, string>();
  const counters = new Map<string, number>();
  return (what: string, text: string): string => {
    let p = seen.get(text);
    if (p === undefined) {
      const n = (counters.get(what) ?? 0) + 1;
      counters.set(what, n);
      p = `<${what}:${n}>`;
      seen.set(text, p);
    }
    return p;
  };
}

/** CLI output with the run-to-run fields normalised as in the dump, plus revisions (resourceVersion). */
export function normaliseOutput(text: string, name = placeholders()): string {
  let t = text.replace(TIME, '<time>').replace(/("?resourceVersion"?:\s*)"\d+"/g, '$1"<rev>"');
  for (const [re, what] of PATTERNS) t = t.replace(re, (m) => name(what, m));
  return t;
}

/** Every key and value under `/`, in key order, with the run-to-run fields normalised. */
export function normaliseDump(items: readonly { key: string; value: unknown }[]): { key: string; value: string }[] {
  const name = placeholders();
  return [...items]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ key, value }) => {
      let v = value;
      if (key.includes('/ipam/v2/assignment/') && typeof v === 'object' && v !== null && 'sequenceNumber' in v) {
        const b = v as { sequenceNumber: number; sequenceNumberForAllocation: Record<string, number> };
        const offsets = Object.fromEntries(Object.entries(b.sequenceNumberForAllocation).map(([k, s]) => [k, `<seq+${s - b.sequenceNumber}>`]));
        v = { ...b, sequenceNumber: '<seq>', sequenceNumberForAllocation: offsets };
      }
      let text = JSON.stringify(v).replace(TIME, '<time>');
      let k = key;
      for (const [re, what] of PATTERNS) {
        text = text.replace(re, (m) => name(what, m));
        k = k.replace(re, (m) => name(what, m));
      }
      return { key: k, value: text };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

describe('stored keys and values of a lab run', { timeout: 600_000 }, () => {
  let workdir = '';
  before(async () => {
    await labDown(LAB);
    workdir = mkdtempSync(join(tmpdir(), 'tbl-golden-'));
    for (const [f, text] of [['step1.yaml', STEP1], ['step2.yaml', STEP2], ['step3.yaml', STEP3]] as const) writeFileSync(join(workdir, f), text);
  });
  after(async () => {
    await labDown(LAB);
    rmSync(workdir, { recursive: true, force: true });
  });

  it('are byte for byte those the code before the refactor stored', async () => {
    await tabby(['lab', 'up', '--name', LAB, '--nodes', '2', '-f', join(workdir, 'step1.yaml')]);
    await tabby(['lab', 'apply', '--name', LAB, '-f', join(workdir, 'step2.yaml')]);
    await tabby(['lab', 'delete', '--name', LAB, '-f', join(workdir, 'step3.yaml')]);
    const cluster = await openCluster(plan);
    let dump: { key: string; value: string }[];
    const outputs: { command: string; output: string }[] = [];
    try {
      dump = normaliseDump((await cluster.datastore.list('/')).items);
      const bridge = await openEtcdBridge(plan.etcd.socket);
      try {
        for (const [bin, ...args] of CLI_RUNS) outputs.push({ command: [bin, ...args].join(' '), output: normaliseOutput(await run(bin!, args, bridge.endpoint)) });
      } finally {
        await bridge.close();
      }
    } finally {
      await cluster.close();
    }
    if (process.env['TABBY_GOLDEN_RECORD'] === '1') {
      writeFileSync(GOLDEN, `${JSON.stringify(dump, null, 1)}\n`);
      writeFileSync(CLI_GOLDEN, `${JSON.stringify(outputs, null, 1)}\n`);
      return;
    }
    const cliGolden = JSON.parse(readFileSync(CLI_GOLDEN, 'utf8')) as { command: string; output: string }[];
    assert.deepEqual(outputs.map((o) => o.command), cliGolden.map((g) => g.command), 'the same commands');
    for (let i = 0; i < cliGolden.length; i++) assert.equal(outputs[i]!.output, cliGolden[i]!.output, `the output of ${cliGolden[i]!.command}`);
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { key: string; value: string }[];
    assert.deepEqual(dump.map((d) => d.key), golden.map((g) => g.key), 'the same keys');
    for (let i = 0; i < golden.length; i++) assert.equal(dump[i]!.value, golden[i]!.value, `the value at ${golden[i]!.key}`);
  });
});
