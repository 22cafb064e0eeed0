// Host endpoint stages on real packets (root; needs nft, ip, conntrack and dist/bin/tabby-probe).
// A node namespace with one pod (cali…) and a host interface `hep0` to an "outside" namespace;
// a HostEndpoint on hep0. Each scenario probes TCP from outside to the node, from outside to the
// pod (forwarded through the host endpoint), and from the node to outside, and compares the
// kernel's answer with evaluateFlow's:
// - failsafe ports stay open under a deny-all host policy (inbound 22, outbound 179);
// - forwarded traffic (arriving on or leaving by the host endpoint) is governed by applyOnForward
//   policies only;
// - a preDNAT Deny on the node port drops before the DNAT that would take it to the pod;
// - doNotTrack traffic passes (both directions allowed untracked) and leaves no conntrack entry.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { ResourceObject } from '../../model/index.js';
import { type Flow, PolicyGraph, evaluateFlow, updateFor, type ResourceUpdate } from '../../policy/index.js';
import { NftPolicyRenderer, PolicyDataplane, nftRunner } from './index.js';
import { type TestPod, Testbed } from './testbed.js';

type Doc = Record<string, unknown>;
const PREFIX = `tbh${process.pid % 10000}`;
const NODE_IP = '198.19.8.1';
const OUTSIDE_IP = '198.19.8.2';
const POD_IP = '198.19.9.1';
const HEP = 'hep/n1-hep0';
const up = (docs: Doc[]): ResourceUpdate[] => docs.map((d) => updateFor(d as unknown as ResourceObject));
const gnp = (name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { selector: "role == 'host'", ...spec } });

interface Probe {
  readonly what: string;
  readonly from: 'outside' | 'node' | 'pod';
  /** Address and port the client connects to. */
  readonly to: string;
  readonly port: number;
  /** The flow evaluateFlow judges (the pre-DNAT destination for a node port). */
  readonly flow: Flow;
}

const toNode = (port: number): Probe => ({ what: `outside → node:${port}`, from: 'outside', to: NODE_IP, port, flow: { src: { ip: OUTSIDE_IP }, dst: { ip: NODE_IP, port }, protocol: 6 } });
const toPod = (port: number): Probe => ({ what: `outside → pod:${port} (forwarded)`, from: 'outside', to: POD_IP, port, flow: { src: { ip: OUTSIDE_IP }, dst: { ip: POD_IP, port }, protocol: 6, viaHostEndpoint: HEP } });
const podOut = (port: number): Probe => ({ what: `pod → outside:${port} (forwarded)`, from: 'pod', to: OUTSIDE_IP, port, flow: { src: { ip: POD_IP }, dst: { ip: OUTSIDE_IP, port }, protocol: 6, leavesHostEndpoint: HEP } });
const nodeOut = (port: number): Probe => ({ what: `node → outside:${port}`, from: 'node', to: OUTSIDE_IP, port, flow: { src: { ip: NODE_IP }, dst: { ip: OUTSIDE_IP, port }, protocol: 6 } });

describe('nft policy dataplane: host endpoint stages on real packets', () => {
  const graph = new PolicyGraph({ localNode: 'n1' });
  let bed: Testbed;
  let dp: PolicyDataplane;
  let outside: TestPod;
  let node: TestPod;

  before(async () => {
    bed = new Testbed(PREFIX);
    const events = graph.apply(
      up([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec: {} },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] }, status: { podIP: POD_IP } },
        { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-hep0', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: 'hep0', expectedIPs: [NODE_IP] } },
      ]),
    );
    const web = [...graph.allEndpoints()].find((e) => e.pod === 'web')!;
    bed.addPod('a/web', POD_IP, web.interfaceName!);
    ({ outside, node } = bed.addOutside('hep0', NODE_IP, OUTSIDE_IP));
    await Promise.all([bed.serveIn(bed.pods[0]!.netns, [80, 82]), bed.serveIn(bed.node, [22, 80, 81]), bed.serveIn(outside.netns, [80, 179])]);
    // A node port: 8080 on the node is DNATed to the pod's 80 (what kube-proxy would do).
    execFileSync('ip', ['netns', 'exec', bed.node, 'nft', '-f', '-'], { input: `table ip ${PREFIX}nat {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  tcp dport 8080 dnat to ${POD_IP}:80\n }\n}\n` });
    dp = new PolicyDataplane(new NftPolicyRenderer(), nftRunner({ netns: bed.node }));
    dp.renderer.apply(events);
    await dp.sync();
  });

  after(() => bed?.destroy());

  const DNAT: Probe = { what: 'outside → node:8080 (DNAT to pod:80)', from: 'outside', to: NODE_IP, port: 8080, flow: { src: { ip: OUTSIDE_IP }, dst: { ip: NODE_IP, port: 8080 }, dnat: { ip: POD_IP, port: 80 }, protocol: 6 } };
  const PROBES: Probe[] = [toNode(22), toNode(80), toNode(81), DNAT, toPod(80), toPod(82), nodeOut(179), nodeOut(80), podOut(80), podOut(179)];

  /** Probes every case; asserts the kernel equals evaluateFlow; returns kernel results by name. */
  function probeAll(what: string): Record<string, boolean> {
    const got: Record<string, boolean> = {};
    const problems: string[] = [];
    for (const from of ['outside', 'node', 'pod'] as const) {
      const list = PROBES.filter((p) => p.from === from);
      const res = bed.probe(from === 'outside' ? outside : from === 'node' ? node : bed.pods[0]!, list.map((p) => `tcp:${p.to}:${p.port}`));
      list.forEach((p, i) => {
        got[p.what] = res[i]!;
        const want = evaluateFlow(graph, p.flow).allowed;
        if (res[i] !== want) problems.push(`${p.what}: kernel ${res[i] ? 'allowed' : 'denied'}, evaluateFlow ${want ? 'allows' : 'denies'}`);
      });
    }
    assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}`);
    return got;
  }

  async function change(docs: Doc[]): Promise<void> {
    const script = await dp.apply(graph.apply(up(docs)));
    assert.ok(script !== '' && !/^(add|flush|delete) table/m.test(script), script);
  }

  it('a host endpoint with no policy and no profile: failsafe ports only; forwarded traffic is not its business', () => {
    const got = probeAll('no policy');
    assert.equal(got['outside → node:22'], true);
    assert.equal(got['outside → node:80'], false);
    assert.equal(got['outside → pod:80 (forwarded)'], true);
    assert.equal(got['node → outside:179'], true);
    assert.equal(got['node → outside:80'], false);
  });

  it('under a deny-all host policy the failsafe ports stay open and forwarded traffic still flows (no applyOnForward)', async () => {
    await change([gnp('deny-all', { ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }] })]);
    const got = probeAll('deny-all');
    assert.equal(got['outside → node:22'], true, 'inbound failsafe');
    assert.equal(got['node → outside:179'], true, 'outbound failsafe');
    assert.equal(got['outside → node:80'], false);
    assert.equal(got['node → outside:80'], false);
    assert.equal(got['outside → pod:80 (forwarded)'], true);
    assert.equal(got['outside → node:8080 (DNAT to pod:80)'], true, 'the node port is forwarded to the pod');
    assert.equal(got['pod → outside:80 (forwarded)'], true, 'forwarded both ways');
  });

  it('a preDNAT Deny on the node port drops before the DNAT; the same pod port reached directly is untouched', async () => {
    await change([gnp('pre', { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }] })]);
    const got = probeAll('preDNAT');
    assert.equal(got['outside → node:8080 (DNAT to pod:80)'], false);
    assert.equal(got['outside → pod:80 (forwarded)'], true, 'after DNAT the packet would be pod:80, which nothing denies');
    assert.equal(got['outside → node:22'], true, 'failsafe in the preDNAT stage too');
    const hits = await dp.counters(dp.renderer.knownChains().filter((c) => c.startsWith('pi_')));
    assert.ok(hits.some((c) => c.comment.startsWith('gnp/pre ingress 0 ') && c.packets > 0), JSON.stringify(hits));
  });

  it('forwarded traffic is governed by applyOnForward policies', async () => {
    await change([
      gnp('fwd', {
        applyOnForward: true,
        ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }],
        egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }],
      }),
    ]);
    const got = probeAll('applyOnForward');
    assert.equal(got['outside → pod:80 (forwarded)'], false);
    assert.equal(got['outside → pod:82 (forwarded)'], true);
    assert.equal(got['pod → outside:80 (forwarded)'], false, 'forward egress through the host endpoint');
    assert.equal(got['pod → outside:179 (forwarded)'], true);
    assert.equal(got['outside → node:22'], true);
  });

  it('doNotTrack: allowed both ways untracked, skips the deny-all, and leaves no conntrack entry', async () => {
    const conntrack = (port: number): number => {
      const out = execFileSync('ip', ['netns', 'exec', bed.node, 'conntrack', '-L', '-p', 'tcp', '--orig-port-dst', String(port)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return out.split('\n').filter((l) => l.trim() !== '').length;
    };
    await change([gnp('raw', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [81] } }], egress: [{ action: 'Allow', protocol: 'TCP', source: { ports: [81] } }] })]);
    const got = probeAll('doNotTrack');
    assert.equal(got['outside → node:81'], true, 'untracked allow skips the deny-all');
    assert.equal(got['outside → node:80'], false);
    assert.equal(conntrack(81), 0, 'the untracked connection left no conntrack entry');
    assert.ok(conntrack(22) > 0, 'a tracked connection (failsafe 22) did');
  });

  it('removing the host endpoint removes its stages and the hooks stop dispatching', async () => {
    const script = await dp.apply(graph.apply([{ kind: 'HostEndpoint', key: 'n1-hep0', value: undefined }]));
    for (const chain of ['hin_hep0', 'hout_hep0', 'hfi_hep0', 'hpre_hep0', 'hri_hep0', 'hro_hep0']) assert.match(script, new RegExp(`^delete chain inet tabby ${chain}$`, 'm'));
    assert.equal(await dp.sync(), '', 'the table is what the renderer wants');
    const got = probeAll('no host endpoint');
    assert.equal(got['outside → node:80'], true);
  });
});
