// The agent's policy wiring on real packets (root; nft, ip and dist/bin/tabby-probe): a node
// namespace with cali… veths to pod namespaces (the nft-policy testbed), a datastore holding
// namespaces, WorkloadEndpoints and policies, and startPolicy programming table inet tabby in
// the node namespace from the datastore alone. Checks: enforcement follows datastore writes;
// the CNI hook (programWorkload) resolves only once the new pod's chains and dispatch entries are
// in the kernel; per-rule counters and /metrics series move with denied and allowed probes; the
// FelixConfiguration drift interval repairs a hand-deleted entry; a restarted wiring changes
// nothing in a correct table and keeps enforcing; a denied packet comes out of the flow log as a
// record naming its tier and the rule that dropped it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { type Pod, STORED, podToWorkloadEndpoint, resourceKey, workloadEndpointKey } from '../model/index.js';
import { workloadChain } from '../dataplane/index.js';
import { Testbed } from '../dataplane/nft-policy/testbed.js';
import { createLogger } from '../util/log.js';
import { Registry } from './metrics.js';
import { type PolicyWiring, startPolicy } from './policy.js';
import { type DeniedFlowRecord, nftRunner } from '../dataplane/index.js';

type Doc = Record<string, unknown>;
const PREFIX = `tba${process.pid % 10000}`;
const NODE = 'n1';
const TCP = 80;
const UDP = 81;
const PODS: [string, string, string][] = [
  ['a', 'web', '198.19.9.1'],
  ['a', 'db', '198.19.9.2'],
  ['b', 'client', '198.19.9.3'],
];

const nsDoc = (name: string): Doc => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { team: name } }, spec: {} });
const knp = (namespace: string, name: string, spec: Doc): Doc => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const podDoc = (namespace: string, name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: name } }, spec: { nodeName: NODE, containers: [{ name: 'c' }] } }) as unknown as Pod;
const ifaceOf = (namespace: string, name: string): string => `cali${PREFIX}${namespace}${name}`.slice(0, 15);
const wepOf = (namespace: string, name: string, ip: string): { key: string; value: Doc } => {
  const wep = podToWorkloadEndpoint(podDoc(namespace, name), { node: NODE, endpoint: 'eth0', containerID: `c-${name}`, interfaceName: ifaceOf(namespace, name), ipNetworks: [`${ip}/32`], mac: 'ee:ee:ee:ee:ee:ee' });
  return { key: workloadEndpointKey(namespace, wep.metadata.name!), value: wep as unknown as Doc };
};
const keyOfDoc = (d: Doc): string => {
  const m = d['metadata'] as { name: string; namespace?: string };
  const kind = d['kind'] === 'NetworkPolicy' ? STORED.K8sNetworkPolicy : d['kind'] === 'Namespace' ? STORED.Namespace : STORED.FelixConfiguration;
  return resourceKey(kind, m.namespace, m.name);
};

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('agent policy wiring: datastore → graph → table inet tabby, on real packets', () => {
  const ds = new MemoryDatastore();
  const log = createLogger({ test: 'policy' }, { level: 'warn' });
  let bed: Testbed;
  let registry: Registry;
  let policy: PolicyWiring;
  const flows: DeniedFlowRecord[] = [];
  const pod = (name: string) => bed.pods.find((p) => p.name === name)!;
  const reach = (from: string, to: string, proto: 'tcp' | 'udp' = 'tcp'): boolean => bed.probe(pod(from), [`${proto}:${pod(to).ip}:${proto === 'tcp' ? TCP : UDP}`])[0]!;
  const put = async (d: Doc): Promise<void> => {
    await ds.create(keyOfDoc(d), d as never);
  };

  before(async () => {
    bed = new Testbed(PREFIX);
    for (const [n, name, ip] of PODS) bed.addPod(`${n}/${name}`, ip, ifaceOf(n, name));
    await bed.serve(TCP, UDP);
    for (const n of ['a', 'b', 'c']) await put(nsDoc(n));
    for (const [n, name, ip] of PODS) {
      const w = wepOf(n, name, ip);
      await ds.create(w.key, w.value as never);
    }
    registry = new Registry();
    policy = startPolicy({ ds, nodename: NODE, log, registry, nft: nftRunner({ netns: bed.node }), hostInterfaces: { netns: bed.node }, counterIntervalMs: 60_000, flowLog: { netns: bed.node, onRecord: (r) => flows.push(r) } });
    await policy.firstSync();
  });

  after(async () => {
    await policy?.stop();
    bed?.destroy();
    await ds.close();
  });

  it('programs the datastore at start: every pod reaches every other (namespace profiles allow)', () => {
    assert.equal(reach('b/client', 'a/web'), true);
    assert.equal(reach('a/web', 'b/client', 'udp'), true);
    const s = policy.status();
    assert.equal(s.inSync, true);
    assert.equal(s.endpoints, 3);
  });

  it('a policy written to the datastore is enforced on real packets', async () => {
    await put(knp('a', 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] }));
    await put(knp('a', 'allow-client', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }], ports: [{ port: TCP, protocol: 'TCP' }] }] }));
    // Two writes, two transactions: wait for both.
    const ms = await until('default-deny and allow-client in a enforced', () => policy.status().policies === 2 && !reach('b/client', 'a/db') && reach('b/client', 'a/web'));
    console.log(`# policy write → enforced on packets: ${ms} ms (polling every 100 ms)`);
    assert.equal(reach('b/client', 'a/web'), true, 'allowed by allow-client rule 0');
    assert.equal(reach('b/client', 'a/web', 'udp'), false, 'UDP is not in the allow');
    assert.equal(reach('a/web', 'a/db'), false);
    assert.equal(reach('a/web', 'b/client'), true, 'b has no policy');
    // Denied probes are logged. Records from before both policies were in place (while only
    // default-deny was, client → web was refused too) are dropped; then one allowed and one
    // denied probe: client → db on TCP, dropped at the end of tier default.
    flows.length = 0;
    assert.equal(reach('b/client', 'a/web'), true);
    assert.equal(reach('b/client', 'a/db'), false);
    const db = pod('a/db').ip;
    await until('a flow-log record of client → db', () => flows.some((r) => r.dst === db && r.proto === 'TCP' && r.dport === TCP));
    const rec = flows.find((r) => r.dst === db && r.proto === 'TCP' && r.dport === TCP)!;
    assert.equal(rec.action, 'deny');
    assert.equal(rec.direction, 'ingress');
    assert.equal(rec.tier, 'default');
    assert.equal(rec.rule, 'end-of-tier');
    assert.equal(rec.src, pod('b/client').ip);
    assert.equal(rec.iface, ifaceOf('a', 'db'));
    assert.ok(flows.every((r) => !(r.dst === pod('a/web').ip && r.proto === 'TCP')), 'an allowed flow is not logged');
    assert.match(registry.render(), /tabby_policy_flow_logs_total\{action="deny"\} [1-9]/);
  });

  it('CNI hook: programWorkload resolves only when the new pod is programmed; its first packet is enforced', async () => {
    // Namespace c denies everything in and out; a pod added there must be isolated at once, and
    // a pod added to b (no policy) must be reachable at once (an unprogrammed cali… interface is dropped).
    await put(knp('c', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }));
    await until('deny-all in c programmed', () => policy.status().deltas > 0 && policy.status().policies >= 3);
    const late = bed.addPod('c/late', '198.19.9.4', ifaceOf('c', 'late'));
    const open = bed.addPod('b/open', '198.19.9.5', ifaceOf('b', 'open'));
    for (const [n, name, ip] of [['c', 'late', late.ip], ['b', 'open', open.ip]] as const) {
      const w = wepOf(n, name, ip);
      const kv = await ds.create(w.key, w.value as never);
      await policy.programWorkload(kv.key, kv.value);
      // Right after the hook returns (what CNI ADD waits for): the dispatch entries are there.
      const map = execFileSync('ip', ['netns', 'exec', bed.node, 'nft', 'list', 'map', 'inet', 'tabby', 'from_wl'], { encoding: 'utf8' });
      assert.match(map, new RegExp(`"${ifaceOf(n, name)}" : goto ${workloadChain(ifaceOf(n, name), 'o')}`));
      if (name === 'late') assert.deepEqual(bed.probe(late, [`tcp:${pod('b/client').ip}:${TCP}`, `udp:${pod('b/client').ip}:${UDP}`]), [false, false], 'c/late is denied from its first packet');
      else assert.deepEqual(bed.probe(open, [`tcp:${pod('b/client').ip}:${TCP}`, `udp:${pod('a/web').ip}:${UDP}`]), [true, false], 'b/open is allowed from its first packet (and denied where a\'s policy says)');
    }
  });

  it('appliedRevision reaches a policy write\'s revision only once it is enforced on packets, also for a write that changes nothing here', async () => {
    const start = policy.status().appliedRevision;
    assert.ok(start > 0, `appliedRevision after the writes so far: ${start}`);
    assert.equal(reach('a/web', 'b/client'), true, 'b has no policy yet');
    const doc = knp('b', 'deny-in', { podSelector: {}, policyTypes: ['Ingress'] });
    const t0 = Date.now();
    const kv = await ds.create(keyOfDoc(doc), doc as never);
    assert.ok(kv.revision > start);
    await until('appliedRevision reaches the write', () => policy.status().appliedRevision >= kv.revision);
    console.log(`# policy write → appliedRevision ${kv.revision}: ${Date.now() - t0} ms`);
    // No polling from here: the revision is reported only after the transaction committed.
    assert.equal(reach('a/web', 'b/client'), false, 'deny-in is enforced once appliedRevision covers it');
    const stats = await policy.stats();
    assert.ok(stats.appliedRevision >= kv.revision && stats.appliedAt !== undefined, JSON.stringify({ appliedRevision: stats.appliedRevision, appliedAt: stats.appliedAt }));
    const gauge = /^tabby_policy_applied_revision (\d+)$/m.exec(registry.render());
    assert.ok(gauge !== null && Number(gauge[1]) >= kv.revision, registry.render().split('\n').filter((l) => l.includes('applied_revision')).join('\n'));
    // A namespace no endpoint of this node is in: nothing (or nothing new) reaches the kernel, the revision still advances.
    const quiet = nsDoc('quiet');
    const kv2 = await ds.create(keyOfDoc(quiet), quiet as never);
    await until('appliedRevision reaches a write that changes nothing here', () => policy.status().appliedRevision >= kv2.revision);
    // The delete is the only write from here: a higher appliedRevision is the delete's.
    const rev = policy.status().appliedRevision;
    await ds.delete(kv.key);
    await until('deny-in deleted and applied', () => policy.status().appliedRevision > rev);
    assert.equal(reach('a/web', 'b/client'), true, 'deny-in is gone from the kernel once appliedRevision covers its delete');
  });

  it('per-rule counters and /metrics series move with allowed and denied packets', async () => {
    const before = await policy.stats();
    const rule = (s: typeof before) => s.rules.find((r) => r.policy === 'knp/a/allow-client' && r.direction === 'ingress' && r.rule === 0);
    const endOfTier = (s: typeof before) =>
      s.rules.filter((r) => r.kind === 'endpoint' && r.note === 'end of tier default' && r.direction === 'ingress' && (r.endpoint ?? '').includes('a/db')).reduce((n, r) => n + r.packets, 0);
    assert.ok(rule(before) !== undefined, JSON.stringify(before.rules.slice(0, 5)));
    assert.equal(rule(before)!.action, 'Allow');
    assert.equal(rule(before)!.tier, 'default');
    for (let i = 0; i < 3; i++) {
      assert.equal(reach('b/client', 'a/web'), true);
      assert.equal(reach('b/client', 'a/db'), false);
    }
    const now = await policy.stats();
    assert.ok(rule(now)!.packets >= rule(before)!.packets + 3, `allow rule counted ${rule(before)!.packets} → ${rule(now)!.packets}`);
    assert.ok(rule(now)!.bytes > rule(before)!.bytes);
    assert.ok(endOfTier(now) >= endOfTier(before) + 3, `denied packets at the end of tier default: ${endOfTier(before)} → ${endOfTier(now)}`);
    const text = registry.render();
    const m = /tabby_policy_packets_total\{tier="default",policy="knp\/a\/allow-client",direction="ingress",action="Allow"\} (\d+)/.exec(text);
    assert.ok(m !== null && Number(m[1]) >= 3, text.split('\n').filter((l) => l.startsWith('tabby_policy_packets_total')).join('\n'));
  });

  it('FelixConfiguration nftablesRefreshInterval drives the drift check, which repairs a hand-deleted entry', async () => {
    await put({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { nftablesRefreshInterval: '1s' } });
    await until('interval taken', () => policy.status().refreshMs === 1000);
    const iface = ifaceOf('a', 'web');
    execFileSync('ip', ['netns', 'exec', bed.node, 'nft', 'delete', 'element', 'inet', 'tabby', 'to_wl', `{ "${iface}" }`]);
    assert.equal(reach('b/client', 'a/web'), false, 'without its dispatch entry the pod is cut off');
    const repairedBefore = policy.status().repaired;
    const ms = await until('drift repaired', () => policy.status().repaired > repairedBefore);
    console.log(`# drift repaired after ${ms} ms (interval 1 s)`);
    assert.equal(reach('b/client', 'a/web'), true);
  });

  it('a restarted wiring finds the table right, applies nothing (no flush) and keeps enforcing', async () => {
    await policy.stop();
    assert.equal(reach('b/client', 'a/db'), false, 'enforcing while no agent runs');
    registry = new Registry();
    policy = startPolicy({ ds, nodename: NODE, log, registry, nft: nftRunner({ netns: bed.node }), hostInterfaces: { netns: bed.node }, counterIntervalMs: 60_000, flowLog: false });
    await policy.firstSync();
    assert.doesNotMatch(registry.render(), /tabby_policy_transactions_total\{kind=/, 'the first sync after a restart changed nothing');
    assert.equal(policy.status().syncs, 1);
    assert.equal(reach('b/client', 'a/web'), true);
    assert.equal(reach('b/client', 'a/db'), false);
  });
});
