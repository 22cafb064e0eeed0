// The renderer's deltas on the rendered text: a label change, a pod add and a policy add each
// become a small script touching only what changed, in sets → rules → jumps order; the repair
// script of a table that already matches is empty, and a lost rule or element is all it restores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyGraph, updateFor } from '../../policy/index.js';
import type { ResourceObject } from '../../model/index.js';
import { NftPolicyRenderer, repairScript, type ObservedTable } from './index.js';

type Doc = Record<string, unknown>;
const ns = (name: string): Doc => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {} });
const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
  status: { podIP: ip },
});
const knp = (namespace: string, name: string, spec: Doc): Doc => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const up = (docs: Doc[]) => docs.map((d) => updateFor(d as unknown as ResourceObject));

function fixture(): { g: PolicyGraph; r: NftPolicyRenderer } {
  const g = new PolicyGraph({ localNode: 'n1' });
  const r = new NftPolicyRenderer();
  const pods: Doc[] = [];
  for (let i = 1; i <= 20; i++) pods.push(pod('a', `p${i}`, `10.1.0.${i}`, { app: i % 2 === 0 ? 'web' : 'db' }));
  r.apply(
    g.apply(
      up([
        ns('a'),
        ...pods,
        knp('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }),
        knp('a', 'allow', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }, { port: 5432 }] }] }),
      ]),
    ),
  );
  return { g, r };
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

/** The observed table equal to the desired one (what a correct kernel would list). */
function observedFrom(r: NftPolicyRenderer): ObservedTable {
  const comment = (rule: string): string => /comment "([^"]*)"$/.exec(rule)![1]!;
  return {
    sets: new Map([...r.state.sets].map(([n, s]) => [n, new Set(s.elems)])),
    maps: new Map([...r.state.maps].map(([n, m]) => [n, new Map(m.elems)])),
    chains: new Map([...r.state.chains].map(([n, c]) => [n, c.rules.map(comment)])),
  };
}

describe('nft policy renderer deltas', () => {
  it('a label change is one set element moved, nothing else', () => {
    const { g, r } = fixture();
    const script = r.apply(g.apply(up([pod('a', 'p2', '10.1.0.2', { app: 'db' })]))).script;
    const l = lines(script);
    // p2 leaves the web set; it is now selected by the allow policy, so its ingress chain changes.
    assert.ok(l.some((x) => /^delete element inet tabby s4_\w+ \{ 10\.1\.0\.2 \}$/.test(x)), script);
    assert.ok(l.every((x) => !x.startsWith('add table') && !x.startsWith('flush table')), script);
    const flushed = l.filter((x) => x.startsWith('flush chain'));
    assert.deepEqual(flushed, [`flush chain inet tabby to_${ifaceOf(g, 'p2')}`]);
    assert.ok(l.length < 20, `delta has ${l.length} lines`);
    // Order: sets, then rules, nothing referencing a missing thing.
    assert.ok(l.findIndex((x) => x.startsWith('delete element')) < l.findIndex((x) => x.startsWith('flush chain')));
  });

  it('a label change that changes no membership renders nothing', () => {
    const { g, r } = fixture();
    assert.equal(r.apply(g.apply(up([pod('a', 'p2', '10.1.0.2', { app: 'web', extra: 'x' })]))).script, '');
  });

  it('a pod add is its set elements, its two chains and its two map elements', () => {
    const { g, r } = fixture();
    const script = r.apply(g.apply(up([pod('a', 'p99', '10.1.0.99', { app: 'web' })]))).script;
    const l = lines(script);
    const iface = ifaceOf(g, 'p99');
    assert.deepEqual(
      l.filter((x) => x.startsWith('add chain')),
      [`add chain inet tabby to_${iface}`, `add chain inet tabby from_${iface}`],
    );
    assert.ok(l.some((x) => /^add element inet tabby s4_\w+ \{ 10\.1\.0\.99 \}$/.test(x)));
    assert.ok(l.some((x) => x === `add element inet tabby to_wl { "${iface}" : goto to_${iface} }`));
    assert.ok(l.every((x) => !x.startsWith('flush chain')), 'no other chain rewritten');
    const at = (p: string): number => l.findIndex((x) => x.startsWith(p));
    assert.ok(at('add element inet tabby s4_') < at('add chain') && at('add chain') < at('add rule') && at('add rule') < at('add element inet tabby to_wl'));
  });

  it('a policy add is its chains and the jumps of the endpoints it selects', () => {
    const { g, r } = fixture();
    const script = r.apply(g.apply(up([knp('a', 'egress-web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] })]))).script;
    const l = lines(script);
    assert.equal(l.filter((x) => /^add chain inet tabby p[io]_/.test(x)).length, 2);
    const flushed = l.filter((x) => x.startsWith('flush chain')).map((x) => x.split(' ')[4]!);
    assert.equal(flushed.length, 10, 'the ten web pods egress chains');
    assert.ok(flushed.every((c) => c.startsWith('from_cali')));
    assert.ok(l.some((x) => x.includes('meta l4proto 17') && x.includes('th dport { 53 }') && x.includes('counter')));
  });

  it('a full script applies from nothing; a matching table needs no repair; a lost rule or element is all that is repaired', () => {
    const { r } = fixture();
    assert.match(r.fullScript(), /^add table inet tabby\n/);
    const obs = observedFrom(r);
    assert.equal(repairScript(r.state, obs), '');
    const chain = [...r.state.chains.keys()].find((c) => c.startsWith('to_cali'))!;
    const set = [...r.state.sets.entries()].find(([, s]) => s.elems.size > 3)![0];
    const elem = [...r.state.sets.get(set)!.elems][0]!;
    (obs.chains as Map<string, string[]>).set(chain, obs.chains.get(chain)!.slice(1));
    (obs.sets.get(set) as Set<string>).delete(elem);
    const fix = lines(repairScript(r.state, obs));
    assert.deepEqual(fix[0], `add element inet tabby ${set} { ${elem} }`);
    assert.equal(fix[1], `flush chain inet tabby ${chain}`);
    assert.equal(fix.length, 2 + r.state.chains.get(chain)!.rules.length);
  });

  it('a selector set holds only members no wider net covers (nft refuses overlapping intervals)', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const r = new NftPolicyRenderer();
    const gns = (name: string, nets: string[]): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name, labels: { ext: 'y' } }, spec: { nets } });
    r.apply(g.apply(up([ns('a'), pod('a', 'p', '10.1.0.1', {}), gns('one', ['198.18.1.5/32']), { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'x' }, spec: { selector: 'all()', ingress: [{ action: 'Allow', source: { selector: 'ext == "y"' } }] } }])));
    const elems = (): string[] => [...[...r.state.sets.entries()].find(([n, s]) => n.startsWith('s4_') && s.elems.size > 0)![1].elems].sort();
    assert.deepEqual(elems(), ['198.18.1.5']);
    const d = r.apply(g.apply(up([gns('two', ['198.18.1.0/24'])]))).script;
    assert.deepEqual(elems(), ['198.18.1.0/24']);
    assert.ok(d.indexOf('delete element') < d.indexOf('add element'), d);
    r.apply(g.apply([{ ...up([gns('two', ['198.18.1.0/24'])])[0]!, value: undefined }]));
    assert.deepEqual(elems(), ['198.18.1.5']);
  });
});

function ifaceOf(g: PolicyGraph, podName: string): string {
  return [...g.allEndpoints()].find((e) => e.pod === podName)!.interfaceName!;
}

describe('nft policy renderer: host endpoints', () => {
  it('failsafe ports come before any policy, and a host endpoint with no policy and no profile drops the rest', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const r = new NftPolicyRenderer();
    r.apply(
      g.apply(
        up([
          { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-eth0', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['198.18.0.10'] } },
          { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'ssh-only-from-admin' }, spec: { selector: 'role == "host"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['198.18.5.0/24'] }, destination: { ports: [2222] } }] } },
        ]),
      ),
    );
    const hin = r.state.chains.get('hin_eth0')!.rules;
    const firstPolicy = hin.findIndex((x) => x.startsWith('jump pi_'));
    const failsafe = hin.slice(0, firstPolicy).filter((x) => / th dport 22 counter accept /.test(x));
    assert.equal(failsafe.length, 1, hin.join('\n'));
    assert.match(hin[hin.length - 1]!, /^counter drop comment "no policy or profile allowed/);
    assert.equal(r.state.maps.get('host_in')!.elems.get('eth0'), 'goto hin_eth0');
    const hout = r.state.chains.get('hout_eth0')!.rules;
    assert.ok(hout.some((x) => x.includes('th dport 2379 counter accept')), 'outbound failsafe (etcd)');
    assert.ok(!hout.some((x) => x.includes('jump pi_')), 'an ingress-only policy is not in the egress chain');
  });
});
