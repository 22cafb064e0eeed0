// The renderer's deltas on the rendered text: a label change, a pod add and a policy add each
// become a small script touching only what changed, in sets → rules → jumps order; the repair
// script of a table that already matches is empty, and a lost rule or element is all it restores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyGraph, overlayAllowOf, updateFor } from '../../policy/index.js';
import type { ResourceObject } from '../../model/index.js';
import { NDP_TYPES, NftPolicyRenderer, profileChain, repairScript, type ObservedTable } from './index.js';

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
    assert.match(hin[hin.length - 1]!, /^counter goto dl_[0-9a-f]+ comment "no policy or profile allowed/);
    assert.equal(r.state.maps.get('host_in')!.elems.get('eth0'), 'goto hin_eth0');
    const hout = r.state.chains.get('hout_eth0')!.rules;
    assert.ok(hout.some((x) => x.includes('th dport 2379 counter accept')), 'outbound failsafe (etcd)');
    assert.ok(!hout.some((x) => x.includes('jump pi_')), 'an ingress-only policy is not in the egress chain');
  });
});

describe('nft policy renderer: host endpoint stages, staged policies, denied-flow logs', () => {
  const hep = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-eth0', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['198.18.0.10'] } };
  const gnp = (name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { selector: 'role == "host"', ...spec } });
  const base = (r: NftPolicyRenderer, chain: string): string[] => r.state.chains.get(chain)!.rules.map((x) => x.replace(/ comment "[^"]*"$/, ''));

  it('each stage gets its chain and hook dispatch only while a host endpoint has it', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const r = new NftPolicyRenderer();
    r.apply(g.apply(up([hep])));
    assert.deepEqual(base(r, 'raw_pre'), []);
    assert.deepEqual(base(r, 'pre_dnat'), []);
    assert.ok(!base(r, 'forward').some((x) => x.includes('hep_fwd')), base(r, 'forward').join('\n'));
    const script = r.apply(
      g.apply(
        up([
          gnp('pre', { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [30080] } }] }),
          gnp('raw', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [4789] } }], egress: [{ action: 'Allow', protocol: 'UDP', source: { ports: [4789] } }] }),
          gnp('fwd', { applyOnForward: true, ingress: [{ action: 'Allow' }] }),
        ]),
      ),
    ).script;
    for (const [map, chain] of [['host_pre', 'hpre_eth0'], ['host_raw_in', 'hri_eth0'], ['host_raw_out', 'hro_eth0'], ['host_fwd_in', 'hfi_eth0']] as const) {
      assert.equal(r.state.maps.get(map)!.elems.get('eth0'), `goto ${chain}`, map);
    }
    assert.ok(!r.state.maps.get('host_fwd_out')!.elems.has('eth0'), 'no applyOnForward egress policy: no forward egress chain');
    const nd = `${NDP_TYPES} counter accept`;
    assert.deepEqual(base(r, 'raw_pre'), [nd, 'iifname vmap @host_raw_in'], 'neighbour discovery ahead of untracked policy');
    assert.deepEqual(base(r, 'pre_dnat'), ['ct state established,related accept', 'meta mark and 0x00040000 == 0x00040000 accept', nd, 'iifname vmap @host_pre']);
    assert.ok(base(r, 'forward').includes('meta mark and 0x00040000 == 0 jump hep_fwd_in_dispatch'));
    // The chains come before the verdict-map elements that reach them.
    assert.ok(script.indexOf('add chain inet tabby hri_eth0') < script.indexOf('add element inet tabby host_raw_in'), script);
    const hri = base(r, 'hri_eth0');
    assert.match(hri[0]!, /^fib daddr type local meta l4proto 6 th dport 22 counter accept$/, 'failsafe to the host itself first');
    assert.ok(hri.includes('meta mark and 0x00010000 == 0x00010000 meta mark set meta mark or 0x00040000 notrack accept'), hri.join('\n'));
    assert.ok(!hri.some((x) => /counter (drop|goto dl_\w+)$/.test(x)), 'untracked policy has no default drop');
    const hpre = base(r, 'hpre_eth0');
    assert.ok(hpre.includes('meta mark and 0x00010000 == 0x00010000 meta mark set meta mark or 0x00040000 accept'), hpre.join('\n'));
    assert.ok(!hpre.some((x) => /counter (drop|goto dl_\w+)$/.test(x)), 'preDNAT policy has no default drop');
    const hfi = base(r, 'hfi_eth0');
    assert.ok(!hfi.some((x) => / th dport 22 /.test(x)), 'no failsafe for forwarded traffic');
    assert.ok(hfi.some((x) => /counter (drop|goto dl_\w+)$/.test(x)), 'a forward tier drops at its end');
    // The preDNAT policy is in neither the normal nor the forward chain.
    const preChain = r.state.chains.get('hpre_eth0')!.rules.find((x) => x.includes('jump pi_'))!.split(' ')[1];
    assert.ok(!base(r, 'hin_eth0').some((x) => x.includes(`jump ${preChain}`)) && !hfi.some((x) => x.includes(`jump ${preChain}`)));
    // Gone again with the host endpoint.
    r.apply(g.apply([{ kind: 'HostEndpoint', key: 'n1-eth0', value: undefined }]));
    assert.deepEqual(base(r, 'raw_pre'), []);
    assert.ok(![...r.state.chains.keys()].some((c) => c.endsWith('_eth0')));
  });

  it('"*" is each stage\'s default after the map (no raw chains); a specific endpoint\'s interface is kept from it', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const r = new NftPolicyRenderer();
    const all = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-all', labels: { role: 'host', scope: 'all' } }, spec: { node: 'n1', interfaceName: '*', profiles: ['projectcalico-default-allow'] } };
    r.apply(
      g.apply(
        up([
          all,
          hep,
          gnp('pre', { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [30080] } }] }),
          gnp('raw', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [4789] } }] }),
          gnp('fwd', { selector: 'scope == "all"', applyOnForward: true, types: ['Egress'], egress: [{ action: 'Allow' }] }),
        ]),
      ),
    );
    assert.deepEqual(Object.fromEntries(r.hostInterfaceBindings()), { '*': 'hep/n1-all', eth0: 'hep/n1-eth0' });
    // Calico's built-in allow-all profile (automatic host endpoints name it) is rendered once named.
    const allowAll = profileChain('pro/projectcalico-default-allow', 'i');
    assert.deepEqual(base(r, allowAll).filter((x) => x.endsWith('counter meta mark set meta mark or 0x00010000 return')).length, 2, 'allow all, IPv4 and IPv6');
    assert.ok(base(r, 'hinall').includes(`jump ${allowAll}`), base(r, 'hinall').join('\n'));
    for (const c of ['hinall', 'houtall', 'hpreall', 'hfoall']) assert.ok(r.state.chains.has(c), c);
    assert.ok(!r.state.chains.has('hriall') && !r.state.chains.has('hfiall'), 'no raw chain for "*"; no forward-ingress policy');
    assert.equal(base(r, 'input').at(-1), 'meta mark and 0x00040000 == 0 iifname != "cali*" goto hinall');
    assert.equal(base(r, 'output').at(-1), 'meta mark and 0x00040000 == 0 oifname != "cali*" goto houtall');
    assert.equal(base(r, 'pre_dnat').at(-1), 'iifname != "cali*" goto hpreall');
    assert.deepEqual(base(r, 'hep_fwd_out_dispatch'), ['oifname vmap @host_fwd_out', 'goto hfoall'], 'forward: any interface, workloads included');
    assert.ok(base(r, 'forward').includes('jump hep_fwd_out_dispatch'));
    // eth0 is n1-eth0's: where it has no such stage, a return keeps "*" away.
    assert.equal(r.state.maps.get('host_fwd_out')!.elems.get('eth0'), 'return');
    assert.equal(r.state.maps.get('host_pre')!.elems.get('eth0'), 'goto hpre_eth0');
    // The named endpoint goes: "*" takes eth0 too (its map keys go), and then "*" goes as well.
    r.apply(g.apply([{ kind: 'HostEndpoint', key: 'n1-eth0', value: undefined }]));
    assert.equal(r.state.maps.get('host_fwd_out')!.elems.size, 0);
    assert.ok(![...r.state.chains.keys()].some((c) => c.endsWith('_eth0')));
    r.apply(g.apply([{ kind: 'HostEndpoint', key: 'n1-all', value: undefined }]));
    assert.ok(![...r.state.chains.keys()].some((c) => c.endsWith('all')));
    assert.ok(!base(r, 'input').some((x) => x.includes('hinall')));
    assert.deepEqual(base(r, 'pre_dnat'), []);
  });

  it('an address-only host endpoint takes the interface holding its address (setHostInterfaces)', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const r = new NftPolicyRenderer();
    r.apply(g.apply(up([{ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'by-ip' }, spec: { node: 'n1', expectedIPs: ['198.18.0.10'] } }])));
    assert.equal(r.hostInterfaceBindings().size, 0, 'no interfaces known yet');
    const { script } = r.setHostInterfaces(new Map([['eth1', ['198.18.0.10', 'fe80::1']], ['lo', ['127.0.0.1']]]));
    assert.match(script, /^add element inet tabby host_in \{ "eth1" : goto hin_eth1 \}$/m);
    assert.equal(r.setHostInterfaces(new Map([['eth1', ['198.18.0.10', 'fe80::1']], ['lo', ['127.0.0.1']]])).script, '', 'same interfaces: nothing');
    const moved = r.setHostInterfaces(new Map([['eth2', ['198.18.0.10']], ['eth1', []]])).script;
    assert.match(moved, /^delete chain inet tabby hin_eth1$/m);
    assert.match(moved, /goto hin_eth2/);
  });

  it('a staged policy is a counting chain at its place in the tier: counts and returns, never marks or drops', () => {
    const { g, r } = fixture();
    r.apply(g.apply(up([{ apiVersion: 'projectcalico.org/v3', kind: 'StagedNetworkPolicy', metadata: { name: 'lockdown', namespace: 'a' }, spec: { order: 1, selector: 'app == "db"', ingress: [{ action: 'Deny', protocol: 'TCP' }, { action: 'Allow' }] } }])));
    const chain = [...r.state.chains].find(([, c]) => c.rules.some((x) => x.includes('"staged snp/a/lockdown ingress 0')))!;
    const rules = chain[1].rules.map((x) => x.replace(/ comment "[^"]*"$/, ''));
    assert.ok(rules.every((x) => x.endsWith(' counter return') || x === 'meta nfproto ipv4 return'), rules.join('\n'));
    // IPv4 rules first; an IPv4 packet returns before the IPv6 half.
    const split = rules.indexOf('meta nfproto ipv4 return');
    assert.ok(split > 0 && rules.slice(0, split).every((x) => x.startsWith('meta nfproto ipv4 ')) && rules.slice(split + 1).every((x) => x.startsWith('meta nfproto ipv6 ')), rules.join('\n'));
    const to = base(r, `to_${ifaceOf(g, 'p1')}`);
    const jump = to.findIndex((x) => x === `jump ${chain[0]}`);
    assert.ok(jump >= 0 && !to[jump + 1]!.includes('0x00010000 =='), 'no accept check after a staged policy');
    assert.ok(jump < to.findIndex((x) => x.includes('jump pi_') && !x.includes(chain[0])), 'order 1 comes before the Kubernetes policies (order 1000)');
  });

  it('deny rules, end-of-tier and no-profile drops log to the NFLOG group first, and each prefix maps back', () => {
    const g = new PolicyGraph({ localNode: 'n1' });
    const r = new NftPolicyRenderer({ logGroup: 7, logRate: '5/second' });
    r.apply(g.apply(up([hep, { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'sec' }, spec: { order: 5 } }, gnp('sec.guard', { tier: 'sec', ingress: [{ action: 'Log', ipVersion: 4, protocol: 'UDP' }, { action: 'Allow', ipVersion: 4, protocol: 'TCP' }, { action: 'Deny', ipVersion: 4, protocol: 'UDP' }] })])));
    const hin = base(r, 'hin_eth0');
    const policy = base(r, r.state.chains.get('hin_eth0')!.rules.find((x) => x.includes('jump pi_'))!.split(' ')[1]!);
    const prefixOf = (x: string): string => /prefix "([^"]+)"/.exec(x)![1]!;
    /** The prefix a deny's `goto dl_…` logs with (the shared log chain's first rule). */
    const denyPrefix = (x: string): string => {
      const chain = /goto (dl_[0-9a-f]+)$/.exec(x)![1]!;
      const rules = base(r, chain);
      assert.equal(rules[1], 'drop');
      return prefixOf(rules[0]!);
    };
    const [logRule, allowRule, deny] = policy;
    assert.equal(policy.length, 3, 'one nft rule per Calico rule: a deny is not doubled by its log');
    assert.match(logRule!, /^meta nfproto ipv4 meta l4proto 17 counter limit rate 5\/second log group 7 prefix "tby:L:[0-9a-f]{12}"$/);
    assert.match(allowRule!, / counter meta mark set meta mark or 0x00010000 return$/);
    assert.match(deny!, /^meta nfproto ipv4 meta l4proto 17 counter goto dl_[0-9a-f]{12}$/);
    assert.match(base(r, /goto (dl_\w+)/.exec(deny!)![1]!)[0]!, /^limit rate 5\/second log group 7 prefix "tby:D:[0-9a-f]{12}"$/);
    assert.deepEqual(r.logEntry(prefixOf(logRule!)), { tier: 'sec', policy: 'gnp/sec.guard', rule: 0, direction: 'ingress', action: 'log' });
    const logDeny = denyPrefix(deny!);
    assert.deepEqual(r.logEntry(logDeny), { tier: 'sec', policy: 'gnp/sec.guard', rule: 2, direction: 'ingress', action: 'deny' });
    const eot = denyPrefix(hin.find((x) => x.startsWith('meta mark and 0x00020000 == 0 counter goto dl_'))!);
    assert.deepEqual(r.logEntry(eot), { tier: 'sec', policy: null, rule: 'end-of-tier', direction: 'ingress', action: 'deny' });
    assert.deepEqual(r.logEntry(denyPrefix(hin[hin.length - 1]!)), { tier: null, policy: null, rule: 'no-profile-allowed', direction: 'ingress', action: 'deny' });
    assert.equal(r.logEntry('tby:D:000000000000'), undefined);
    // The policy goes: its prefixes are forgotten with its chains.
    r.apply(g.apply([{ kind: 'GlobalNetworkPolicy', key: 'sec.guard', value: undefined }]));
    assert.equal(r.logEntry(logDeny), undefined);
    assert.equal(r.logEntry(eot), undefined);
    assert.ok(![...r.state.chains.keys()].includes(`dl_${logDeny.slice(6)}`), 'its log chain went with it');
    // No logging at all when asked.
    const quiet = new NftPolicyRenderer({ logDenied: false });
    quiet.apply(new PolicyGraph({ localNode: 'n1' }).apply(up([hep])));
    assert.ok(![...quiet.state.chains.values()].some((c) => c.rules.some((x) => x.includes(' log '))));
  });
});

describe('nft policy renderer: VXLAN between nodes and neighbour discovery ahead of host endpoint policy', () => {
  const rules = (r: NftPolicyRenderer, chain: string): string[] => r.state.chains.get(chain)!.rules.map((x) => x.replace(/ comment "[^"]*"$/, ''));
  const nd = `${NDP_TYPES} counter accept`;

  it('accepts VXLAN from and to the peers before any dispatch, drops it from others, and keeps the peer sets element by element', () => {
    const r = new NftPolicyRenderer();
    assert.ok(!r.state.sets.has('vxlan_peers4'), 'no overlay: no set');
    const first = r.setOverlay({ port: 4789, families: [4, 6], peers: ['198.18.0.12', 'FD00:0::12', '198.18.0.13'], workloadDrop: true }).script;
    assert.match(first, /^add set inet tabby vxlan_peers4 \{ type ipv4_addr; \}$/m);
    assert.match(first, /^add element inet tabby vxlan_peers6 \{ fd00::12 \}$/m, 'IPv6 addresses normalised as nft lists them');
    const input = rules(r, 'input');
    const at = (re: RegExp): number => input.findIndex((x) => re.test(x));
    const accept4 = at(/^ip saddr @vxlan_peers4 udp dport 4789 fib daddr type local counter accept$/);
    const drop4 = at(/^meta nfproto ipv4 udp dport 4789 fib daddr type local counter drop$/);
    assert.ok(accept4 > 0 && drop4 === accept4 + 1, input.join('\n'));
    assert.ok(at(/^ip6 saddr @vxlan_peers6 udp dport 4789 fib daddr type local counter accept$/) > 0);
    assert.ok(drop4 < at(/from_wl_dispatch/) && drop4 < at(/@host_in/), 'ahead of the workload and host endpoint dispatch');
    const forward = rules(r, 'forward');
    const podDrop = forward.indexOf('iifname "cali*" udp dport 4789 counter drop');
    assert.ok(podDrop > 0 && podDrop < forward.indexOf('iifname "cali*" jump from_wl_dispatch'), `a pod's own VXLAN dropped before its egress policy:\n${forward.join('\n')}`);
    assert.ok(input.indexOf('iifname "cali*" udp dport 4789 counter drop') < at(/from_wl_dispatch/), 'to the host too');
    r.setOverlay({ port: 4789, families: [4, 6], peers: ['198.18.0.12', 'fd00::12', '198.18.0.13'], workloadDrop: false });
    assert.ok(!rules(r, 'forward').some((x) => x.includes('udp dport')), 'allowVXLANPacketsFromWorkloads: no pod drop');
    r.setOverlay({ port: 4789, families: [4, 6], peers: ['198.18.0.12', 'fd00::12', '198.18.0.13'], workloadDrop: true });
    const output = rules(r, 'output');
    const out4 = output.indexOf('ip daddr @vxlan_peers4 udp dport 4789 fib saddr type local counter accept');
    assert.ok(out4 > 0 && out4 < output.findIndex((x) => x.includes('@host_out')), output.join('\n'));
    // A node goes, another comes: one element each, no rule rewritten.
    const delta = r.setOverlay({ port: 4789, families: [4, 6], peers: ['198.18.0.12', 'fd00::12', '198.18.0.14'], workloadDrop: true }).script;
    assert.equal(delta, 'delete element inet tabby vxlan_peers4 { 198.18.0.13 }\nadd element inet tabby vxlan_peers4 { 198.18.0.14 }\n');
    assert.equal(r.setOverlay({ port: 4789, families: [4, 6], peers: ['198.18.0.14', '198.18.0.12', 'fd00::12'], workloadDrop: true }).script, '', 'same peers: nothing');
    // IPv6 VXLAN no longer in use: its rules and set go; the port changes: the rules are rewritten.
    const less = r.setOverlay({ port: 8472, families: [4], peers: ['198.18.0.12', 'fd00::12'], workloadDrop: true }).script;
    assert.match(less, /^delete set inet tabby vxlan_peers6$/m);
    assert.ok(!rules(r, 'input').some((x) => x.includes('vxlan_peers6')) && rules(r, 'input').some((x) => x.includes('udp dport 8472')));
    assert.deepEqual([...r.state.sets.get('vxlan_peers4')!.elems], ['198.18.0.12']);
    r.setOverlay(undefined);
    assert.ok(!r.state.sets.has('vxlan_peers4') && !rules(r, 'input').some((x) => x.includes('udp dport')), 'no overlay: no rules, no sets');
    assert.throws(() => r.setOverlay({ port: 4789, families: [4], peers: ['node-2'], workloadDrop: true }), /overlay peer "node-2" is not an IP address/);
    assert.throws(() => r.setOverlay({ port: 0, families: [4], peers: [], workloadDrop: true }), /overlay VXLAN port 0 is not a UDP port/);
  });

  it('lets neighbour discovery and MLD through to and from the host on every interface, ahead of host endpoint dispatch', () => {
    const r = new NftPolicyRenderer();
    for (const chain of ['input', 'output']) {
      const list = rules(r, chain);
      const i = list.indexOf(nd);
      assert.ok(i > 0 && i < list.findIndex((x) => /@host_(in|out)/.test(x)), `${chain}: ${list.join('\n')}`);
    }
  });

  it('overlayAllowOf follows Felix: VXLAN in use per family from the pools (vxlanEnabled overrides IPv4), the other nodes as peers', () => {
    const node = (name: string, bgp: Record<string, string>) => [name, { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp } }] as const;
    const pool = (name: string, cidr: string, vxlanMode: string) => [name, { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, vxlanMode } }] as const;
    const felix = (name: string, spec: Record<string, unknown>) => [name, { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec }] as const;
    const nodes = new Map([node('n1', { ipv4Address: '198.18.0.11/24', ipv6Address: 'fd00::11/64' }), node('n2', { ipv4Address: '198.18.0.12/24', ipv6Address: 'FD00::12/64' }), node('n3', { ipv4Address: '198.18.0.13' })]) as never;
    const of = (pools: (readonly [string, object])[], f: (readonly [string, object])[] = []) => overlayAllowOf({ nodename: 'n1', nodes, pools: new Map(pools) as never, felix: new Map(f) as never });
    assert.equal(of([pool('p4', '10.244.0.0/16', 'Never')]), undefined, 'no VXLAN pool: nothing');
    assert.deepEqual(of([pool('p4', '10.244.0.0/16', 'CrossSubnet')]), { port: 4789, families: [4], peers: ['198.18.0.12', '198.18.0.13'], workloadDrop: true });
    assert.deepEqual(of([pool('p4', '10.244.0.0/16', 'Always'), pool('p6', 'fd10::/48', 'Always')], [felix('default', { vxlanPort: 8472 })]), { port: 8472, families: [4, 6], peers: ['198.18.0.12', '198.18.0.13', 'fd00::12'], workloadDrop: true });
    assert.deepEqual(of([pool('p4', '10.244.0.0/16', 'Always')], [felix('default', { vxlanEnabled: false })])?.families, undefined, 'vxlanEnabled false turns IPv4 off');
    assert.deepEqual(of([], [felix('default', { vxlanEnabled: false }), felix('node.n1', { vxlanEnabled: true, vxlanPort: 4790 })]), { port: 4790, families: [4], peers: ['198.18.0.12', '198.18.0.13'], workloadDrop: true }, 'node.<name> over default');
  });
});
