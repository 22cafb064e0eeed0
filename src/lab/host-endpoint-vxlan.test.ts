// Integration: a deny-all host endpoint on every node's underlay interface in a 2-node VXLAN lab
// (`--encapsulation VXLAN`) leaves the overlay alone, on real packets: VXLAN between the nodes is
// accepted ahead of host endpoint policy (Felix's static rules), so pods on different nodes still
// reach each other (`tabby lab probe` equals `tabbyctl policy matrix`, every pod reaching every
// pod), while the nodes themselves are closed to the external host but for failsafe ports. The
// engine (`tabbyctl policy explain` on node-1, from etcd) says the same of the outer VXLAN flows:
// allowed from node-2, denied from the external host. Needs root and a `make build`.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labDown } from './down.js';
import { planLab } from './plan.js';
import { podYaml, tabbyOk } from './testing.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TABBYCTL = join(repo, 'bin/tabbyctl');
const PROBE = join(repo, 'dist/bin/tabby-probe');
const LAB = 'tbhepx';
const plan = planLab(LAB, 2, 1);
const [NODE1, NODE2] = plan.nodes as [(typeof plan.nodes)[0], (typeof plan.nodes)[0]];
const EXTERNAL = plan.external.address4;

const ok = (args: string[]) => tabbyOk(args, 300_000);
const inNode = (node: string, ...argv: string[]) => ok(['lab', 'exec', '--name', LAB, node, '--', ...argv]);

const hep = (node: string, address: string) => `---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: ${node}-eth0, labels: {role: host}}
spec: {node: ${node}, interfaceName: eth0, expectedIPs: ['${address}']}
`;
const DENY_ALL = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-deny-all}
spec: {selector: "role == 'host'", order: 500, types: [Ingress, Egress], ingress: [{action: Deny}], egress: [{action: Deny}]}
`;

type Matrix = { pods: string[]; matrix: boolean[][] };

describe('a deny-all host endpoint on the underlay leaves the VXLAN overlay alone in the lab', { timeout: 1_800_000 }, () => {
  let workdir = '';
  let server: ChildProcess | undefined;

  before(async () => {
    await labDown(LAB);
    workdir = mkdtempSync(join(tmpdir(), 'tbhepx-'));
    writeFileSync(join(workdir, 'pods.yaml'), podYaml('a', 'node-1') + podYaml('b', 'node-2'));
    await ok(['lab', 'up', '--name', LAB, '--nodes', '2', '--encapsulation', 'VXLAN', '-f', join(workdir, 'pods.yaml')]);
    // A failsafe port (22) and an ordinary one (8081) served on node-1 itself.
    server = spawn('ip', ['netns', 'exec', NODE1.netns, PROBE, 'serve', '--tcp', '22', '--tcp', '8081'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r, reject) => {
      server!.on('error', reject);
      server!.stdout!.once('data', () => r());
    });
  });

  after(async () => {
    if (server !== undefined && server.exitCode === null) server.kill('SIGTERM');
    await labDown(LAB);
    rmSync(workdir, { recursive: true, force: true });
  });

  /** The engine on node-1 for UDP 4789 from `src` to node-1. */
  async function vxlanVerdict(src: string): Promise<{ allowed: boolean; by: string }> {
    const v = JSON.parse(await inNode('node-1', TABBYCTL, 'policy', 'explain', '-o', 'json', '--from', src, '--to', NODE1.address4, '--port', '4789', '--protocol', 'UDP')) as { allowed: boolean; decidedBy?: { decision: { by: string } } };
    return { allowed: v.allowed, by: v.decidedBy?.decision.by ?? 'nothing' };
  }

  async function probeUntilEqual(label: string): Promise<Matrix> {
    const matrix = JSON.parse(await inNode('node-1', TABBYCTL, 'policy', 'matrix', '-o', 'json', '--protocol', 'TCP', '--port', '80')) as Matrix;
    const t0 = Date.now();
    for (;;) {
      const probe = JSON.parse(await ok(['lab', 'probe', '--name', LAB, '-o', 'json', '--protocol', 'TCP', '--port', '80'])) as Matrix;
      if (JSON.stringify(probe) === JSON.stringify(matrix)) {
        console.log(`# ${label}: lab probe equals policy matrix after ${Date.now() - t0} ms of probe rounds`);
        return probe;
      }
      if (Date.now() - t0 > 60_000) assert.deepEqual(probe, matrix, `${label}: lab probe equals tabbyctl policy matrix`);
    }
  }

  it('pods on different nodes reach each other over VXLAN before and after a deny-all host endpoint on both nodes’ eth0', async () => {
    const open = await probeUntilEqual('no host endpoint');
    const before = await ok(['lab', 'exec', '--name', LAB, 'external', '--', PROBE, 'connect', '--timeout-ms', '1000', `tcp:${NODE1.address4}:8081`]);
    assert.equal(before.trim(), 'ok', 'without a host endpoint node-1:8081 answers the external host');
    assert.ok(open.matrix.every((row) => row.every((c) => c)), JSON.stringify(open));
    const f = join(workdir, 'hep.yaml');
    writeFileSync(f, hep('node-1', NODE1.address4) + hep('node-2', NODE2.address4) + DENY_ALL);
    await ok(['lab', 'apply', '--name', LAB, '-f', f]);
    // The host endpoint is in force: the external host reaches node-1's failsafe port 22 but no
    // longer 8081 (wait for it: policy lands within about a second).
    const t0 = Date.now();
    for (;;) {
      const out = await ok(['lab', 'exec', '--name', LAB, 'external', '--', PROBE, 'connect', '--timeout-ms', '1000', `tcp:${NODE1.address4}:8081`, `tcp:${NODE1.address4}:22`]);
      const [other, failsafe] = out.trim().split('\n');
      if (other !== 'ok' && failsafe === 'ok') break;
      assert.ok(Date.now() - t0 < 60_000, `the host endpoint never closed node-1:8081 (${out.trim()})`);
    }
    const closed = await probeUntilEqual('deny-all host endpoints on eth0');
    assert.ok(closed.matrix.every((row) => row.every((c) => c)), `every pod still reaches every pod over the overlay\n${JSON.stringify(closed)}`);
    assert.deepEqual(await vxlanVerdict(NODE2.address4), { allowed: true, by: 'overlay' }, 'the engine: VXLAN from node-2 passes ahead of the deny-all');
    assert.deepEqual(await vxlanVerdict(EXTERNAL), { allowed: false, by: 'overlay' }, 'the engine: VXLAN from the external host is dropped');
    const set = await inNode('node-1', 'nft', 'list', 'set', 'inet', 'tabby', 'vxlan_peers4');
    assert.match(set, new RegExp(`elements = \\{ ${NODE2.address4.replace(/\./g, '\\.')} \\}`), set);
    const input = await inNode('node-1', 'nft', 'list', 'chain', 'inet', 'tabby', 'input');
    assert.match(input, /ip saddr @vxlan_peers4 udp dport 4789 fib daddr type local counter packets [1-9]/, `the overlay accept counted the pods' traffic:\n${input}`);
  });
});
