// tabbyctl's IPAM text (calicoctl's tables and sentences) from what the IPAM library returns, on
// the in-memory datastore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { BlockAllocator, ipamCheck, ipamShow } from '../ipam/index.js';
import { IPAM_CONFIG_KEY, encodeIpamConfig } from '../model/index.js';
import { putNode, putPool, putWorkloadEndpoint, wepKey } from '../testing/resources.js';
import { renderCheck, renderUtilisation, showText } from './ipam-text.js';

async function world() {
  const ds = new MemoryDatastore();
  await putPool(ds, 'pool-a', { cidr: '10.244.0.0/24', blockSize: 26 });
  await putNode(ds, 'node-a');
  return { ds, ipam: new BlockAllocator(ds) };
}

describe('tabbyctl ipam text', () => {
  it('ipam check: a summary, the problems, and the count at the end', async () => {
    const { ds, ipam } = await world();
    assert.match(renderCheck(await ipamCheck(ds)), /Check complete; found 0 problems\.\n$/);
    await putPool(ds, 'pool-b', { cidr: '10.244.0.128/25', blockSize: 26 });
    await ipam.autoAssign({ handleId: 'k8s-pod-network.gone', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'gone', namespace: 'default', node: 'node-a' } });
    const text = renderCheck(await ipamCheck(ds));
    assert.match(text, /\[OverlappingPools\] pool pool-a \(10\.244\.0\.0\/24\) overlaps pool pool-b/);
    assert.match(text, /\n  \[LeakedAddress\] .*no WorkloadEndpoint lists it\n/);
    assert.match(text, /Check complete; found 2 problems\.\n$/);
  });

  it('ipam show: utilisation in calicoctl’s table, and an address’s owner', async () => {
    const { ds, ipam } = await world();
    await putPool(ds, 'v6', { cidr: 'fd00:10:244::/48' });
    const got = await ipam.autoAssign({ handleId: 'h1', node: 'node-a', num4: 5, num6: 1, attrs: { pod: 'web', namespace: 'default' } });
    const r = await ipamShow(ds, { showBlocks: true });
    assert.equal(r.kind, 'utilisation');
    if (r.kind !== 'utilisation') return;
    const block = r.rows[1]!.cidr;
    assert.equal(
      renderUtilisation(r.rows.slice(0, 2)),
      [
        '+----------+-----------------+-----------+------------+-----------+',
        '| GROUPING |      CIDR       | IPS TOTAL | IPS IN USE | IPS FREE  |',
        '+----------+-----------------+-----------+------------+-----------+',
        '| IP Pool  | 10.244.0.0/24   |       256 | 5 (2%)     | 251 (98%) |',
        `| Block    | ${block.padEnd(15)} |        64 | 5 (8%)     | 59 (92%)  |`,
        '+----------+-----------------+-----------+------------+-----------+',
        '',
      ].join('\n'),
    );
    assert.equal(showText(await ipamShow(ds, { ip: got.ipv4[0]!.ip })), `IP ${got.ipv4[0]!.ip} is in use\nHandle ID: h1\nBlock: ${block}\nActive Owner Attributes:\n  namespace: default\n  pod: web\n`);
    assert.equal(showText(await ipamShow(ds, { ip: '10.244.0.250' })), 'IP 10.244.0.250 is not currently assigned (pool pool-a)\n');
  });

  it('ipam show: a released address cooling down, and the note below the table', async () => {
    const { ds, ipam } = await world();
    await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0, ipCooldownSeconds: 60 }));
    const a = (await ipam.autoAssign({ handleId: 'k8s-pod-network.p', node: 'node-a', num4: 1, num6: 0, attrs: { pod: 'p', namespace: 'default', node: 'node-a' } })).ipv4[0]!;
    await putWorkloadEndpoint(ds, 'default', 'node-a', 'p', [a.ip]);
    await ds.delete(wepKey('default', 'node-a', 'p'));
    assert.deepEqual(await ipam.releaseIPs([{ ip: a.ip, sequenceNumber: a.sequenceNumber }]), [a.ip]);
    assert.match(showText(await ipamShow(ds, { ip: a.ip })), new RegExp(`^IP ${a.ip.replace(/\./g, '\\.')} is not currently assigned: it was released at .* and is cooling down until `));
    assert.match(showText(await ipamShow(ds)), /\n1 of the addresses in use were released and are cooling down before reuse \(ipCooldownSeconds 60\)\.\n$/);
  });
});
