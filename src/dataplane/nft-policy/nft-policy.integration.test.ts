// Real packets through the nftables policy dataplane (root; needs nft, ip and dist/bin/tabby-probe).
// A node namespace with cali… veths to four pod namespaces, table inet tabby from the renderer
// applied in the node namespace, and TCP/UDP probes between every pair of pods compared with
// evaluateFlow for each scenario. Every change must reach the kernel as one small transaction;
// drift (a rule, a set element deleted by hand) is repaired by a resync; a restarted agent finds
// its table correct and applies nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { ResourceObject } from '../../model/index.js';
import { PolicyGraph, evaluateFlow, updateFor, type ResourceUpdate } from '../../policy/index.js';
import { NftPolicyRenderer, PolicyDataplane, nftRunner } from './index.js';
import { Testbed } from './testbed.js';

type Doc = Record<string, unknown>;
const PREFIX = `tbn${process.pid % 10000}`;
const TCP = 80;
const UDP = 81;
const ns = (name: string): Doc => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { team: name } }, spec: {} });
const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'web', containerPort: TCP, protocol: 'TCP' }] }] },
  status: { podIP: ip },
});
const knp = (namespace: string, name: string, spec: Doc): Doc => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const gnp = (name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec });
const cnp = (namespace: string, name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const up = (docs: Doc[]): ResourceUpdate[] => docs.map((d) => updateFor(d as unknown as ResourceObject));

const PODS: [string, string, string, Record<string, string>][] = [
  ['a', 'web', '198.19.7.1', { app: 'web' }],
  ['a', 'db', '198.19.7.2', { app: 'db' }],
  ['b', 'client', '198.19.7.3', { app: 'client' }],
  ['b', 'other', '198.19.7.4', { app: 'other' }],
];

describe('nft policy dataplane on real packets', () => {
  const graph = new PolicyGraph({ localNode: 'n1' });
  let bed: Testbed;
  let dp: PolicyDataplane;

  before(async () => {
    bed = new Testbed(PREFIX);
    const docs = PODS.map(([n, name, ip, labels]) => pod(n, name, ip, labels));
    const events = graph.apply(up([ns('a'), ns('b'), ...docs]));
    for (const [n, name, ip] of PODS) {
      const ep = [...graph.allEndpoints()].find((e) => e.namespace === n && e.pod === name)!;
      bed.addPod(`${n}/${name}`, ip, ep.interfaceName!);
    }
    await bed.serve(TCP, UDP);
    dp = new PolicyDataplane(new NftPolicyRenderer(), nftRunner({ netns: bed.node }));
    dp.renderer.apply(events);
    const first = await dp.sync();
    assert.match(first, /^add table inet tabby\n/);
  });

  after(() => bed?.destroy());

  /** Every pod pair, TCP and UDP: the kernel's answer must equal evaluateFlow's. */
  function assertMatrix(what: string): { allowed: number; denied: number } {
    let allowed = 0;
    let denied = 0;
    const problems: string[] = [];
    for (const src of bed.pods) {
      const dsts = bed.pods.filter((p) => p !== src);
      const targets = dsts.flatMap((d) => [`tcp:${d.ip}:${TCP}`, `udp:${d.ip}:${UDP}`]);
      const got = bed.probe(src, targets);
      dsts.forEach((d, i) => {
        for (const [k, proto, port] of [[0, 6, TCP], [1, 17, UDP]] as const) {
          const want = evaluateFlow(graph, { src: { ip: src.ip }, dst: { ip: d.ip, port }, protocol: proto }).allowed;
          if (want) allowed++;
          else denied++;
          if (got[i * 2 + k] !== want) problems.push(`${src.name} → ${d.name} ${proto === 6 ? 'tcp' : 'udp'}: kernel ${got[i * 2 + k] ? 'allowed' : 'denied'}, evaluateFlow ${want ? 'allows' : 'denies'}`);
        }
      });
    }
    assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}`);
    return { allowed, denied };
  }

  async function change(docs: Doc[]): Promise<string[]> {
    const script = await dp.apply(graph.apply(up(docs)));
    const lines = script.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 0, 'the change reached the kernel');
    assert.ok(lines.every((l) => !/^(add table|flush table|delete table)/.test(l)), script);
    return lines;
  }

  it('with no policy every pod reaches every other (the namespace profiles allow)', () => {
    const m = assertMatrix('no policy');
    assert.equal(m.denied, 0);
  });

  it('Kubernetes default-deny plus an allow from a label', async () => {
    const lines = await change([
      knp('a', 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      knp('a', 'allow-web-to-db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: TCP, protocol: 'TCP' }] }] }),
    ]);
    assert.ok(lines.length < 40, `policy add delta is ${lines.length} lines`);
    const m = assertMatrix('default-deny + allow');
    assert.ok(m.denied > 0 && m.allowed > 0);
  });

  it('a label change is one small transaction and takes effect', async () => {
    const lines = await change([pod('b', 'other', '198.19.7.4', { app: 'client' })]);
    assert.ok(lines.length <= 3, lines.join('\n'));
    assert.ok(lines.some((l) => /^add element inet tabby s4_\w+ \{ 198\.19\.7\.4 \}$/.test(l)), lines.join('\n'));
    assertMatrix('label change');
  });

  it('a Calico tier with Pass, and a GNP Deny beside an NP Allow', async () => {
    const lines = await change([
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 10 } },
      gnp('security.gate', { tier: 'security', order: 1, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'UDP', source: { selector: 'app == "client"' } }, { action: 'Pass' }] }),
      gnp('deny-udp-to-web', { order: 10, selector: 'app == "web"', types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'UDP' }] }),
      cnp('a', 'allow-all-web', { order: 20, selector: 'app == "web"', types: ['Ingress'], ingress: [{ action: 'Allow' }] }),
    ]);
    assert.ok(lines.length < 120, `${lines.length} lines`);
    assertMatrix('tier + GNP vs NP');
  });

  it('a policy add (egress) is one transaction and takes effect', async () => {
    const lines = await change([knp('b', 'client-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } } }], ports: [{ port: 'web' }] }] })]);
    assert.ok(lines.filter((l) => l.startsWith('add chain') && !l.startsWith('add chain inet tabby dl_')).length === 2, lines.join('\n'));
    assertMatrix('egress policy');
  });

  it('drift: a rule and a set element deleted by hand come back with a resync, nothing else is touched', async () => {
    const run = nftRunner({ netns: bed.node });
    const table = JSON.parse(await run.run(['-j', '-a', 'list', 'table', 'inet', 'tabby'])) as { nftables: Record<string, { chain?: string; handle?: number; name?: string; elem?: unknown[]; comment?: string }>[] };
    const rule = table.nftables.map((x) => x['rule']).find((r) => r !== undefined && r.chain!.startsWith('pi_'))!;
    const set = table.nftables.map((x) => x['set']).find((s) => s !== undefined && s.name!.startsWith('s4_') && (s.elem?.length ?? 0) > 0)!;
    const elem = set.elem![0] as string;
    await run.run(['delete', 'rule', 'inet', 'tabby', rule.chain!, 'handle', String(rule.handle)]);
    await run.run(['delete', 'element', 'inet', 'tabby', set.name!, `{ ${elem} }`]);
    const fix = (await dp.sync()).split('\n').filter((l) => l !== '');
    assert.equal(fix[0], `add element inet tabby ${set.name} { ${elem} }`);
    assert.equal(fix[1], `flush chain inet tabby ${rule.chain}`);
    assert.ok(fix.slice(2).every((l) => l.startsWith(`add rule inet tabby ${rule.chain} `)), fix.join('\n'));
    assert.equal(await dp.sync(), '', 'a second check finds nothing to repair');
    assertMatrix('after repair');
  });

  it('an agent restart finds the table correct and applies nothing (no flush), and keeps enforcing', async () => {
    const fresh = new PolicyDataplane(new NftPolicyRenderer(), nftRunner({ netns: bed.node }));
    // The restarted agent rebuilds its graph from the same resources.
    const all: Doc[] = [];
    for (const [n, name, ip, labels] of PODS) all.push(pod(n, name, ip, name === 'other' ? { app: 'client' } : labels));
    const replay = new PolicyGraph({ localNode: 'n1' });
    fresh.renderer.apply(replay.apply(up([ns('a'), ns('b'), ...all, ...POLICIES()])));
    assert.equal(await fresh.sync(), '');
    const counters = await fresh.counters(fresh.renderer.knownChains().filter((c) => c.startsWith('pi_')));
    assert.ok(counters.some((c) => c.packets > 0 && / ingress \d+ #/.test(c.comment)), 'per-rule counters read per chain');
    assertMatrix('after restart');
    // Leaves the namespace's nft state for after() to remove with the namespace.
    execFileSync('ip', ['netns', 'exec', bed.node, 'nft', 'list', 'table', 'inet', 'tabby'], { stdio: 'ignore' });
  });
});

/** Every policy the scenarios above added, in order (what a restarted agent reads back). */
function POLICIES(): Doc[] {
  return [
    knp('a', 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
    knp('a', 'allow-web-to-db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: TCP, protocol: 'TCP' }] }] }),
    { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 10 } },
    gnp('security.gate', { tier: 'security', order: 1, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'UDP', source: { selector: 'app == "client"' } }, { action: 'Pass' }] }),
    gnp('deny-udp-to-web', { order: 10, selector: 'app == "web"', types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'UDP' }] }),
    cnp('a', 'allow-all-web', { order: 20, selector: 'app == "web"', types: ['Ingress'], ingress: [{ action: 'Allow' }] }),
    knp('b', 'client-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } } }], ports: [{ port: 'web' }] }] }),
  ];
}
