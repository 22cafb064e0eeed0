// Seeing why, on real packets (root; needs nft, ip, dist/bin/tabby-probe and dist/bin/tabby-nflog):
// - a staged deny does not drop, and its rule's counter moves;
// - a denied packet produces exactly one kind of DeniedFlowLog record naming tier, policy, rule,
//   direction, addresses, ports and the pod's interface; a Log rule produces an `action: log`
//   record and lets the packet on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { ResourceObject } from '../../model/index.js';
import { PolicyGraph, updateFor, type ResourceUpdate } from '../../policy/index.js';
import { DeniedFlowLog, type DeniedFlowRecord, NftPolicyRenderer, PolicyDataplane, nftRunner } from './index.js';
import { Testbed, distBinary } from './testbed.js';

type Doc = Record<string, unknown>;
const PREFIX = `tbo${process.pid % 10000}`;
const CLIENT_IP = '198.19.10.1';
const WEB_IP = '198.19.10.2';
const up = (docs: Doc[]): ResourceUpdate[] => docs.map((d) => updateFor(d as unknown as ResourceObject));
const pod = (name: string, ip: string, labels: Record<string, string>): Doc => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'a', labels }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] }, status: { podIP: ip } });

/** Waits (polling) until `cond` holds or `ms` pass; the caller asserts afterwards. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; waited < ms && !cond(); waited += 50) await sleep(50);
}

describe('nft policy dataplane: staged policies and denied-flow logs on real packets', () => {
  const graph = new PolicyGraph({ localNode: 'n1' });
  let bed: Testbed;
  let dp: PolicyDataplane;
  let log: DeniedFlowLog;
  const records: DeniedFlowRecord[] = [];
  const errors: Error[] = [];
  let webIface = '';

  before(async () => {
    bed = new Testbed(PREFIX);
    const events = graph.apply(up([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec: {} }, pod('client', CLIENT_IP, { app: 'client' }), pod('web', WEB_IP, { app: 'web' })]));
    for (const [name, ip] of [['client', CLIENT_IP], ['web', WEB_IP]] as const) {
      const ep = [...graph.allEndpoints()].find((e) => e.pod === name)!;
      if (name === 'web') webIface = ep.interfaceName!;
      bed.addPod(name, ip, ep.interfaceName!);
    }
    await bed.serve(80, 81);
    dp = new PolicyDataplane(new NftPolicyRenderer({ logGroup: 30 }), nftRunner({ netns: bed.node }));
    dp.renderer.apply(events);
    await dp.sync();
    log = new DeniedFlowLog({ renderer: dp.renderer, netns: bed.node, binary: distBinary('tabby-nflog'), onRecord: (r) => records.push(r), onError: (e) => errors.push(e) });
    await log.start();
  });

  after(async () => {
    await log?.stop();
    bed?.destroy();
  });

  const client = (): ReturnType<Testbed['probe']> => bed.probe(bed.pods[0]!, [`tcp:${WEB_IP}:80`, `udp:${WEB_IP}:81`]);

  it('a staged deny does not drop, and its counter moves', async () => {
    await dp.apply(graph.apply(up([{ apiVersion: 'projectcalico.org/v3', kind: 'StagedNetworkPolicy', metadata: { name: 'lockdown', namespace: 'a' }, spec: { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }] } }])));
    const staged = dp.renderer.knownChains().filter((c) => dp.renderer.state.chains.get(c)!.rules.some((r) => r.includes('"staged snp/a/lockdown ingress 0')));
    assert.equal(staged.length, 1);
    const before = (await dp.counters(staged)).reduce((n, c) => n + c.packets, 0);
    assert.deepEqual(client(), [true, true], 'nothing is dropped');
    const afterCount = (await dp.counters(staged)).reduce((n, c) => n + c.packets, 0);
    assert.ok(afterCount > before, `the staged rule counted the connection (${before} → ${afterCount})`);
    assert.deepEqual(records, [], 'a staged deny logs nothing');
  });

  it('a denied packet produces a record naming tier, policy, rule and the flow; a Log rule an action "log" record', async () => {
    await dp.apply(
      graph.apply(
        up([
          {
            apiVersion: 'projectcalico.org/v3',
            kind: 'NetworkPolicy',
            metadata: { name: 'guard', namespace: 'a' },
            spec: { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Log', protocol: 'UDP' }, { action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Allow' }] },
          },
        ]),
      ),
    );
    assert.deepEqual(client(), [false, true], 'TCP 80 denied, UDP 81 logged and allowed');
    await until(() => records.some((r) => r.action === 'deny') && records.some((r) => r.action === 'log'), 5000);
    assert.deepEqual(errors, []);
    const denied = records.filter((r) => r.action === 'deny');
    assert.ok(denied.length >= 1, JSON.stringify(records));
    for (const r of denied) {
      const { time, sport, ...rest } = r;
      assert.ok(!Number.isNaN(Date.parse(time)) && typeof sport === 'number', JSON.stringify(r));
      assert.deepEqual(rest, { tier: 'default', policy: 'np/a/guard', rule: 1, direction: 'ingress', action: 'deny', src: CLIENT_IP, dst: WEB_IP, proto: 'TCP', dport: 80, iface: webIface, inIface: bed.pods[0]!.iface, outIface: webIface });
    }
    const logged = records.filter((r) => r.action === 'log');
    assert.ok(logged.length >= 1);
    assert.deepEqual(
      logged.map(({ time: _t, sport: _s, ...rest }) => rest),
      logged.map(() => ({ tier: 'default', policy: 'np/a/guard', rule: 0, direction: 'ingress', action: 'log', src: CLIENT_IP, dst: WEB_IP, proto: 'UDP', dport: 81, iface: webIface, inIface: bed.pods[0]!.iface, outIface: webIface })),
    );
    assert.equal(log.unknown, 0);
  });

  it('stop() ends the reader; start() binds the group again', async () => {
    await log.stop();
    assert.equal(log.running, false);
    await log.start();
    assert.equal(log.running, true);
  });
});

describe('tabby-nflog ends with its parent', () => {
  it('a SIGKILLed parent leaves no reader behind (it would hold the group and its namespace)', async () => {
    // sh starts the reader in a namespace of its own (unshare) and prints its pid; then sh is killed.
    const { spawn } = await import('node:child_process');
    const sh = spawn('unshare', ['--net', 'sh', '-c', `"$0" --group 47 & echo $!; wait`, distBinary('tabby-nflog')], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Its pid, then its "ready" line (printed once the group is bound and the death signal is set).
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      sh.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^ready\t47$/m.test(out)) resolve(Number(out.split('\n')[0]));
      });
      sh.once('exit', (code) => reject(new Error(`sh exited ${code} before the reader was ready: ${out}`)));
    });
    // Running or sleeping; a zombie (exited, not yet reaped by whoever inherited it) counts as ended.
    const alive = (): boolean => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    assert.ok(alive(), 'the reader runs');
    // sh is the reader's parent only while the unshare'd sh lives; kill the whole group's head.
    sh.kill('SIGKILL');
    for (let i = 0; i < 50 && alive(); i++) await sleep(100);
    const left = alive();
    if (left) process.kill(pid, 'SIGKILL');
    assert.equal(left, false, 'tabby-nflog outlived its parent');
  });
});
