// All-interfaces (`interfaceName: "*"`) and address-only host endpoints on real packets (root;
// needs nft, ip and dist/bin/tabby-probe). A node namespace with two pods (cali…) and two host
// interfaces, hep0 and hep1, each to its own "outside" namespace; the interfaces and addresses
// are read from the kernel (readHostInterfaces) as the agent does. Every probe's kernel answer
// is compared with evaluateFlow's:
// - "*" with no policy: the host is closed but for failsafe ports on every host interface; a
//   pod and its own host, and pod to pod, are untouched; with Calico's built-in
//   projectcalico-default-allow profile (what automatic host endpoints carry) it is open;
// - "*" under deny-all: failsafes open, pod-to-pod and forwarded traffic still flow (no
//   applyOnForward); doNotTrack is not applied to "*" (Felix); preDNAT applies to traffic from
//   outside, not to a pod's node-port traffic;
// - "*" with applyOnForward: pod-to-pod forwarding on the node is governed by it;
// - a named host endpoint takes its interface from "*" (forward path included);
// - address-only host endpoints take the interface holding their address once the kernel has
//   it; between an address-only and a named one the alphabetically earliest wins (Felix).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { ResourceObject } from '../../model/index.js';
import { type Flow, PolicyGraph, evaluateFlow, updateFor, type ResourceUpdate } from '../../policy/index.js';
import { NftPolicyRenderer, PolicyDataplane, nftRunner, readHostInterfaces } from './index.js';
import { type TestPod, Testbed } from './testbed.js';

type Doc = Record<string, unknown>;
const PREFIX = `tbr${process.pid % 10000}`;
const NODE0 = '198.19.28.1';
const OUT0 = '198.19.28.2';
const NODE1 = '198.19.27.1';
const OUT1 = '198.19.27.2';
const EXTRA1 = '198.19.27.9';
const WEB = '198.19.29.1';
const CLI = '198.19.29.2';
const ALL = 'hep/n1-all';
const up = (docs: Doc[]): ResourceUpdate[] => docs.map((d) => updateFor(d as unknown as ResourceObject));
const gone = (kind: string, key: string): ResourceUpdate => ({ kind, key, value: undefined }) as unknown as ResourceUpdate;
const gnp = (name: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { selector: "role == 'host'", ...spec } });
const hep = (name: string, role: string, spec: Doc): Doc => ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name, labels: { role } }, spec: { node: 'n1', ...spec } });

type From = 'out0' | 'out1' | 'node' | 'cli' | 'web';
interface Probe {
  readonly what: string;
  readonly from: From;
  readonly to: string;
  readonly port: number;
  readonly flow: Flow;
}
const probe = (what: string, from: From, to: string, port: number, flow: Partial<Flow> & { src: Flow['src'] }): Probe => ({ what, from, to, port, flow: { dst: { ip: to, port }, protocol: 6, ...flow } });

describe('nft policy dataplane: all-interfaces and address-only host endpoints on real packets', () => {
  const graph = new PolicyGraph({ localNode: 'n1' });
  let bed: Testbed;
  let dp: PolicyDataplane;
  const peers = {} as Record<From, TestPod>;

  before(async () => {
    bed = new Testbed(PREFIX);
    const events = graph.apply(
      up([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec: {} },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] }, status: { podIP: WEB } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cli', namespace: 'a', labels: { app: 'cli' } }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] }, status: { podIP: CLI } },
        hep('n1-all', 'host', { interfaceName: '*', expectedIPs: [NODE0, NODE1] }),
      ]),
    );
    for (const [name, ip] of [['web', WEB], ['cli', CLI]] as const) {
      const ep = [...graph.allEndpoints()].find((e) => e.pod === name)!;
      peers[name] = bed.addPod(`a/${name}`, ip, ep.interfaceName!);
    }
    const o0 = bed.addOutside('hep0', NODE0, OUT0);
    const o1 = bed.addOutside('hep1', NODE1, OUT1);
    peers.out0 = o0.outside;
    peers.out1 = o1.outside;
    peers.node = o0.node;
    await Promise.all([bed.serveIn(peers.web.netns, [80, 82]), bed.serveIn(peers.cli.netns, [80]), bed.serveIn(bed.node, [22, 80, 81]), bed.serveIn(o0.outside.netns, [80, 179]), bed.serveIn(o1.outside.netns, [80])]);
    execFileSync('ip', ['netns', 'exec', bed.node, 'nft', '-f', '-'], { input: `table ip ${PREFIX}nat {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  tcp dport 8080 dnat to ${WEB}:80\n }\n}\n` });
    dp = new PolicyDataplane(new NftPolicyRenderer(), nftRunner({ netns: bed.node }));
    dp.renderer.apply(events);
    dp.renderer.setHostInterfaces(await readHostInterfaces(bed.node));
    await dp.sync();
  });

  after(() => bed?.destroy());

  const viaAll = { viaHostEndpoint: ALL };
  const PROBES: Probe[] = [
    probe('out0 → node:22', 'out0', NODE0, 22, { src: { ip: OUT0 } }),
    probe('out0 → node:80', 'out0', NODE0, 80, { src: { ip: OUT0 } }),
    probe('out0 → node:81', 'out0', NODE0, 81, { src: { ip: OUT0 } }),
    probe('out0 → node:8080 (DNAT to web:80)', 'out0', NODE0, 8080, { src: { ip: OUT0 }, dnat: { ip: WEB, port: 80 } }),
    probe('out0 → web:80 (forwarded)', 'out0', WEB, 80, { src: { ip: OUT0 }, ...viaAll }),
    probe('out1 → node1:80', 'out1', NODE1, 80, { src: { ip: OUT1 } }),
    probe('node → out0:179', 'node', OUT0, 179, { src: { ip: NODE0 } }),
    probe('node → out0:80', 'node', OUT0, 80, { src: { ip: NODE0 } }),
    probe('node → web:80', 'node', WEB, 80, { src: { ip: NODE0 } }),
    probe('cli → web:80', 'cli', WEB, 80, { src: { ip: CLI } }),
    probe('cli → web:82', 'cli', WEB, 82, { src: { ip: CLI } }),
    probe('cli → node:80', 'cli', NODE0, 80, { src: { ip: CLI } }),
    probe('cli → node:8080 (DNAT to web:80)', 'cli', NODE0, 8080, { src: { ip: CLI }, dnat: { ip: WEB, port: 80 } }),
    probe('web → out0:80 (forwarded)', 'web', OUT0, 80, { src: { ip: WEB }, leavesHostEndpoint: ALL }),
  ];

  /** Probes; asserts the kernel equals evaluateFlow for each; returns the kernel's answers. */
  function probeAll(what: string, list: readonly Probe[] = PROBES): Record<string, boolean> {
    const got: Record<string, boolean> = {};
    const problems: string[] = [];
    for (const from of ['out0', 'out1', 'node', 'cli', 'web'] as const) {
      const mine = list.filter((p) => p.from === from);
      if (mine.length === 0) continue;
      const res = bed.probe(peers[from], mine.map((p) => `tcp:${p.to}:${p.port}`));
      mine.forEach((p, i) => {
        got[p.what] = res[i]!;
        const want = evaluateFlow(graph, p.flow).allowed;
        if (res[i] !== want) problems.push(`${p.what}: kernel ${res[i] ? 'allowed' : 'denied'}, evaluateFlow ${want ? 'allows' : 'denies'}`);
      });
    }
    assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}`);
    return got;
  }

  const inNodeNft = async (cmd: string): Promise<string> => execFileSync('ip', ['netns', 'exec', bed.node, 'nft', ...cmd.split(' ')], { encoding: 'utf8' });

  async function change(updates: ResourceUpdate[]): Promise<string> {
    const script = await dp.apply(graph.apply(updates));
    assert.ok(script !== '' && !/^(add|flush|delete) table/m.test(script), script);
    return script;
  }

  it('"*" with no policy and no profile closes every host interface but the failsafe ports; pods are untouched', () => {
    assert.deepEqual(Object.fromEntries(dp.renderer.hostInterfaceBindings()), { '*': ALL });
    const got = probeAll('no policy');
    assert.equal(got['out0 → node:22'], true);
    assert.equal(got['out0 → node:80'], false);
    assert.equal(got['out1 → node1:80'], false, 'every host interface');
    assert.equal(got['node → out0:80'], false);
    assert.equal(got['cli → node:80'], true, 'a pod to its own host: not host endpoint traffic');
    assert.equal(got['node → web:80'], true, 'the host to its own pod');
    assert.equal(got['cli → web:80'], true, 'pod to pod');
    assert.equal(got['out0 → web:80 (forwarded)'], true, 'forwarded: no applyOnForward policy');
  });

  it("\"*\" with Calico's built-in projectcalico-default-allow profile (automatic host endpoints) is open", async () => {
    await change(up([hep('n1-all', 'host', { interfaceName: '*', expectedIPs: [NODE0, NODE1], profiles: ['projectcalico-default-allow'] })]));
    const got = probeAll('default-allow profile');
    assert.equal(got['out0 → node:80'], true);
    assert.equal(got['out1 → node1:80'], true);
    assert.equal(got['node → out0:80'], true);
    await change(up([hep('n1-all', 'host', { interfaceName: '*', expectedIPs: [NODE0, NODE1] })]));
    assert.equal(probeAll('no profile again', PROBES.filter((p) => p.what === 'out0 → node:80'))['out0 → node:80'], false);
  });

  it('"*" under deny-all: failsafes open; forwarding untouched; doNotTrack ignored; preDNAT only from outside', async () => {
    await change(up([gnp('deny-all', { ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }] })]));
    let got = probeAll('deny-all');
    assert.equal(got['out0 → node:22'], true, 'inbound failsafe');
    assert.equal(got['node → out0:179'], true, 'outbound failsafe');
    assert.equal(got['out0 → node:80'], false);
    assert.equal(got['cli → web:80'], true);
    assert.equal(got['web → out0:80 (forwarded)'], true);
    assert.equal(got['out0 → node:8080 (DNAT to web:80)'], true);
    await change(up([gnp('raw', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [81] } }] })]));
    assert.ok(!dp.renderer.knownChains().some((c) => c.startsWith('hri') || c.startsWith('hro')), 'no raw chains for "*"');
    got = probeAll('doNotTrack');
    assert.equal(got['out0 → node:81'], false, 'the untracked Allow is not applied to "*"');
    await change(up([gnp('pre', { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }] })]));
    got = probeAll('preDNAT');
    assert.equal(got['out0 → node:8080 (DNAT to web:80)'], false, 'denied before the DNAT');
    assert.equal(got['cli → node:8080 (DNAT to web:80)'], true, "a pod's node-port traffic never meets preDNAT");
    assert.equal(got['out0 → node:22'], true);
  });

  it('"*" with applyOnForward governs pod-to-pod forwarding on the node', async () => {
    const deny80 = [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }];
    await change(up([gnp('fwd', { applyOnForward: true, ingress: deny80, egress: deny80 })]));
    const got = probeAll('applyOnForward');
    assert.equal(got['cli → web:80'], false, 'the user policy says so');
    assert.equal(got['cli → web:82'], true);
    assert.equal(got['out0 → web:80 (forwarded)'], false);
    assert.equal(got['web → out0:80 (forwarded)'], false);
    assert.equal(got['node → web:80'], true, 'the host to its own pod is not forwarded');
    assert.equal(got['out0 → node:22'], true);
  });

  it('a named host endpoint takes its interface from "*", forward path included', async () => {
    await change(
      up([
        hep('n1-hep1', 'open', { interfaceName: 'hep1', expectedIPs: [NODE1] }),
        gnp('open', { selector: "role == 'open'", ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }),
        gnp('fwd', { applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }] }),
      ]),
    );
    assert.equal(dp.renderer.hostInterfaceBindings().get('hep1'), 'hep/n1-hep1');
    const extra = [probe('out1 → web:80 (forwarded)', 'out1', WEB, 80, { src: { ip: OUT1 }, viaHostEndpoint: 'hep/n1-hep1' })];
    const got = probeAll('named hep1', [...PROBES, ...extra]);
    assert.equal(got['out1 → node1:80'], true, 'hep1 is n1-hep1');
    assert.equal(got['out0 → node:80'], false, 'hep0 is still "*"');
    assert.equal(got['out1 → web:80 (forwarded)'], true, "arriving on hep1 meets n1-hep1's (no) forward policy, not \"*\"'s");
    assert.equal(got['out0 → web:80 (forwarded)'], false);
    assert.equal(got['cli → web:80'], false, 'arriving from a pod: "*"');
    // The drift check reads the defaults and the `return` elements back as the renderer wants them.
    assert.match(await inNodeNft('list map inet tabby host_fwd_in'), /"hep1" : return/);
    assert.equal(await dp.sync(), '', 'the table is what the renderer wants');
  });

  it('address-only host endpoints take the interface holding their address; the earliest name wins', async () => {
    // Only address-resolved endpoints from here: "*" and n1-hep1 go.
    await change([gone('HostEndpoint', 'n1-all'), gone('HostEndpoint', 'n1-hep1'), ...up([hep('a-ip', 'host', { expectedIPs: [EXTRA1] })])]);
    assert.deepEqual(Object.fromEntries(dp.renderer.hostInterfaceBindings()), {}, 'no interface holds 198.19.27.9 yet');
    const toExtra = [probe('out1 → extra:80', 'out1', EXTRA1, 80, { src: { ip: OUT1 } }), probe('out1 → extra:22', 'out1', EXTRA1, 22, { src: { ip: OUT1 } })];
    assert.equal(probeAll('no host endpoint active', PROBES.filter((p) => p.what === 'out1 → node1:80'))['out1 → node1:80'], true);
    execFileSync('ip', ['-n', bed.node, 'addr', 'add', `${EXTRA1}/24`, 'dev', 'hep1']);
    const script = await dp.setHostInterfaces(await readHostInterfaces(bed.node));
    assert.match(script, /hin_hep1/);
    assert.ok(!/^(add|flush|delete) table/m.test(script), script);
    assert.equal(dp.renderer.hostInterfaceBindings().get('hep1'), 'hep/a-ip');
    let got = probeAll('a-ip on hep1', toExtra);
    assert.equal(got['out1 → extra:80'], false, 'deny-all');
    assert.equal(got['out1 → extra:22'], true, 'failsafe');
    // The host endpoint governs the interface, whichever of its addresses is addressed (the
    // engine knows a host endpoint by its expectedIPs only, so this one is the kernel's alone).
    assert.equal(bed.probe(peers.out1, [`tcp:${NODE1}:80`])[0], false);
    // A named endpoint for the same interface: a-ip is earlier, so it keeps hep1 (Felix).
    assert.equal(await dp.apply(graph.apply(up([hep('z-named', 'open', { interfaceName: 'hep1', expectedIPs: [EXTRA1] })]))), '', 'nothing changes hands');
    assert.equal(dp.renderer.hostInterfaceBindings().get('hep1'), 'hep/a-ip');
    got = probeAll('a-ip before z-named', toExtra);
    assert.equal(got['out1 → extra:80'], false);
    // The address goes: a-ip no longer matches and the named endpoint takes hep1.
    execFileSync('ip', ['-n', bed.node, 'addr', 'del', `${EXTRA1}/24`, 'dev', 'hep1']);
    await dp.setHostInterfaces(await readHostInterfaces(bed.node));
    assert.equal(dp.renderer.hostInterfaceBindings().get('hep1'), 'hep/z-named');
    assert.equal(bed.probe(peers.out1, [`tcp:${NODE1}:80`])[0], true, 'z-named is open');
    assert.equal(await dp.sync(), '', 'the table is what the renderer wants');
  });
});
