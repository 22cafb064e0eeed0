// The agent resolves address-only host endpoints onto the node's interfaces from the kernel's
// addresses (root; needs nft, ip and dist/bin/tabby-probe): a HostEndpoint with only expectedIPs
// and a deny-all policy are in the datastore; the address is not on any interface, so nothing is
// enforced. Adding the address to the node's interface hep1 (no datastore write) makes the agent
// enforce the host endpoint there (failsafe ports stay open); removing it lifts it again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { STORED, resourceKey } from '../model/index.js';
import { Testbed, type TestPod } from '../dataplane/nft-policy/testbed.js';
import { nftRunner } from '../dataplane/index.js';
import { createLogger } from '../util/log.js';
import { Registry } from './metrics.js';
import { type PolicyWiring, startPolicy } from './policy.js';

const PREFIX = `tbq${process.pid % 10000}`;
const NODE = 'n1';
const NODE_IP = '198.19.37.1';
const OUT_IP = '198.19.37.2';
const EXTRA = '198.19.37.9';

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('agent policy wiring: address-only host endpoints follow the kernel', () => {
  const ds = new MemoryDatastore();
  const log = createLogger({ test: 'policy-hep' }, { level: 'warn' });
  let bed: Testbed;
  let outside: TestPod;
  let policy: PolicyWiring;
  const reach = (ip: string, port: number): boolean => bed.probe(outside, [`tcp:${ip}:${port}`])[0]!;

  before(async () => {
    bed = new Testbed(PREFIX);
    ({ outside } = bed.addOutside('hep1', NODE_IP, OUT_IP));
    await bed.serveIn(bed.node, [22, 80]);
    await ds.create(resourceKey(STORED.HostEndpoint, undefined, 'n1-by-ip'), { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-by-ip', labels: { role: 'host' } }, spec: { node: NODE, expectedIPs: [EXTRA] } } as never);
    await ds.create(resourceKey(STORED.GlobalNetworkPolicy, undefined, 'deny-all'), { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all' }, spec: { selector: "role == 'host'", ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }] } } as never);
    policy = startPolicy({ ds, nodename: NODE, log, registry: new Registry(), nft: nftRunner({ netns: bed.node }), hostInterfaces: { netns: bed.node }, counterIntervalMs: 60_000, flowLog: false });
    await policy.firstSync();
  });

  after(async () => {
    await policy?.stop();
    bed?.destroy();
    await ds.close();
  });

  it('no interface holds the address: nothing is enforced', () => {
    assert.equal(reach(NODE_IP, 80), true);
    assert.equal(policy.status().endpoints, 0);
  });

  it('the address appears on hep1: the host endpoint governs hep1, failsafe ports stay open', async () => {
    const deltas = policy.status().deltas;
    execFileSync('ip', ['-n', bed.node, 'addr', 'add', `${EXTRA}/24`, 'dev', 'hep1']);
    // The new address answers on 22 at once; 80 closes once the agent has resolved the host
    // endpoint onto hep1 (before that the address is open, as hep1 is held by nobody).
    const ms = await until('hep1 closed by n1-by-ip', () => reach(EXTRA, 22) && !reach(EXTRA, 80));
    console.log(`# address added → host endpoint enforced on packets: ${ms} ms (polling every 100 ms)`);
    assert.equal(reach(EXTRA, 22), true, 'failsafe');
    assert.equal(reach(NODE_IP, 80), false, 'every address of the interface it holds');
    assert.equal(policy.status().endpoints, 1);
    // The probes run synchronously: let the agent count the transaction the kernel already has.
    await until('the transaction counted', () => policy.status().deltas > deltas);
    const stats = await policy.stats();
    assert.ok(stats.rules.some((r) => r.endpoint?.startsWith('hep1 (n1-by-ip)')), JSON.stringify(stats.rules.map((r) => r.endpoint)));
  });

  it('the address goes: the host endpoint lets go of hep1', async () => {
    execFileSync('ip', ['-n', bed.node, 'addr', 'del', `${EXTRA}/24`, 'dev', 'hep1']);
    const ms = await until('hep1 open again', () => reach(NODE_IP, 80));
    console.log(`# address removed → host endpoint lifted: ${ms} ms`);
    assert.equal(policy.status().endpoints, 0);
    assert.equal(policy.status().inSync, true);
  });
});
