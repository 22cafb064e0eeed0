import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TxnOp, conflict } from '../datastore/index.js';
import { MemoryDatastore } from '../datastore/index.js';
import { type CIDR, cidrContains, enclosingCIDR, formatCIDR, formatIP, parseCIDR, parseIP } from '../ip/index.js';
import { BlockAllocator } from './allocator.js';
import { IpamError } from './api.js';
import { newBlock } from './core/block.js';
import { affinityKey, blockKey, handleKey, IPAM_CONFIG_KEY, decodeBlock, encodeBlock, decodeAffinity, decodeHandle, encodeIpamConfig } from '../model/index.js';
import { putNode, putPool, putReservation } from '../testing/resources.js';
import { BlockClaimer } from './claim.js';
import { blockCandidates, fnv1a32 } from './core/block-order.js';
import type { IpamPool } from './core/pools.js';
import { IpamStore } from './store.js';
import { nullLogger } from '../util/log.js';

/** "10.244.0.5/26" → 10.244.0.0/26 */
const blockOf = (text: string): CIDR => enclosingCIDR(parseIP(text.split('/')[0]!), Number(text.split('/')[1]));
const attrs = (pod: string) => ({ pod, namespace: 'default', node: 'node-a' });

async function setup(pools: Record<string, Record<string, unknown>> = { 'pool-a': { cidr: '10.244.0.0/24' } }) {
  const ds = new MemoryDatastore();
  for (const [name, spec] of Object.entries(pools)) await putPool(ds, name, spec as never);
  const ipam = new BlockAllocator(ds);
  return { ds, ipam };
}

async function rejectsCode(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof IpamError, `expected IpamError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (re) assert.match(err.message, re);
    return true;
  });
}

describe('BlockAllocator autoAssign', () => {
  it('claims a /26 block for the node and records block, affinity and handle under Calico keys', async () => {
    const { ds, ipam } = await setup();
    const res = await ipam.autoAssign({ handleId: 'k8s-pod-network.c1', node: 'node-a', num4: 1, num6: 0, attrs: attrs('web') });
    assert.equal(res.ipv4.length, 1);
    const a = res.ipv4[0]!;
    assert.match(a.blockCidr, /^10\.244\.0\.\d+\/26$/);
    const blockCidr = blockOf(a.blockCidr);
    const kv = await ds.get(blockKey(blockCidr));
    assert.ok(kv, 'block stored');
    const b = decodeBlock(kv.value, kv.key);
    assert.equal(b.affinity, 'host:node-a');
    assert.equal(b.attributes[0]?.handleId, 'k8s-pod-network.c1');
    assert.deepEqual(b.attributes[0]?.secondary, attrs('web'));
    assert.equal(decodeAffinity((await ds.get(affinityKey('node-a', blockCidr)))!.value).state, 'confirmed');
    const h = decodeHandle((await ds.get(handleKey('k8s-pod-network.c1')))!.value, 'k8s-pod-network.c1');
    assert.deepEqual(h.block, { [formatCIDR(blockCidr)]: 1 });
    assert.deepEqual(await ipam.addressesByHandle('k8s-pod-network.c1'), [a.ip]);
  });

  it('fills the node’s own block before claiming another, and never repeats an address', async () => {
    const { ipam } = await setup();
    const seen = new Set<string>();
    const blocks = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const r = await ipam.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) });
      const ip = r.ipv4[0]!.ip;
      assert.ok(!seen.has(ip), `duplicate ${ip}`);
      seen.add(ip);
      blocks.add(formatCIDR(blockOf(r.ipv4[0]!.blockCidr)));
    }
    assert.equal(seen.size, 100);
    assert.equal(blocks.size, 2, 'exactly two /26 blocks for 100 addresses');
  });

  it('reuses freed addresses last: the FIFO puts a released ordinal at the tail', async () => {
    const { ipam } = await setup();
    const first = (await ipam.autoAssign({ handleId: 'h1', node: 'node-a', num4: 1, num6: 0, attrs: {} })).ipv4[0]!;
    assert.deepEqual(await ipam.releaseByHandle('h1'), [first.ip]);
    const next = (await ipam.autoAssign({ handleId: 'h2', node: 'node-a', num4: 1, num6: 0, attrs: {} })).ipv4[0]!;
    assert.notEqual(next.ip, first.ip);
  });

  it('a stale release carrying an old sequence number cannot free the address handed out again (ABA)', async () => {
    const { ipam } = await setup({ tiny: { cidr: '10.9.0.0/30', blockSize: 30 } });
    const a = (await ipam.autoAssign({ handleId: 'old', node: 'node-a', num4: 1, num6: 0, attrs: {} })).ipv4[0]!;
    assert.deepEqual(await ipam.releaseIPs([{ ip: a.ip, sequenceNumber: a.sequenceNumber }]), [a.ip]);
    // Cycle the FIFO until the same address comes round again, to a new owner.
    let again;
    let owner = '';
    for (let i = 0; i < 4 && !again; i++) {
      const r = (await ipam.autoAssign({ handleId: `new${i}`, node: 'node-a', num4: 1, num6: 0, attrs: {} })).ipv4[0]!;
      if (r.ip === a.ip) [again, owner] = [r, `new${i}`];
    }
    assert.ok(again, 'address reassigned');
    assert.notEqual(again.sequenceNumber, a.sequenceNumber);
    assert.deepEqual(await ipam.releaseIPs([{ ip: a.ip, sequenceNumber: a.sequenceNumber }]), [], 'stale release refused');
    assert.deepEqual(await ipam.releaseIPs([{ ip: a.ip, handleId: 'old' }]), [], 'release for the old handle refused');
    assert.deepEqual(await ipam.addressesByHandle(owner), [a.ip], 'the new owner keeps it');
    assert.deepEqual(await ipam.releaseIPs([{ ip: a.ip, sequenceNumber: again.sequenceNumber }]), [a.ip]);
  });

  it('two allocators for one node racing on the same blocks never hand out an address twice', async () => {
    const { ds } = await setup({ small: { cidr: '10.7.0.0/26', blockSize: 28 } });
    const a1 = new BlockAllocator(ds);
    const a2 = new BlockAllocator(ds);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a1 : a2).autoAssign({ handleId: `h${i}`, node: i % 3 ? 'node-a' : 'node-b', num4: 1, num6: 0, attrs: {} })),
    );
    const ips = results.map((r) => r.ipv4[0]!.ip);
    assert.equal(new Set(ips).size, 60);
  });

  it('reports PoolExhausted and takes nothing when a request cannot be met in full', async () => {
    const { ds, ipam } = await setup({ tiny: { cidr: '10.9.0.0/30', blockSize: 30 } });
    await rejectsCode(ipam.autoAssign({ handleId: 'big', node: 'node-a', num4: 5, num6: 0, attrs: {} }), 'PoolExhausted', /tiny \(10\.9\.0\.0\/30\)/);
    assert.equal(await ds.get(handleKey('big')), undefined, 'no handle left behind');
    const r = await ipam.autoAssign({ handleId: 'fits', node: 'node-a', num4: 4, num6: 0, attrs: {} });
    assert.equal(r.ipv4.length, 4);
    await rejectsCode(ipam.autoAssign({ handleId: 'one-more', node: 'node-a', num4: 1, num6: 0, attrs: {} }), 'PoolExhausted');
  });

  it('uses IPv6 pools with /122 blocks by default, and dual-stack requests get one of each', async () => {
    const { ipam } = await setup({ v4: { cidr: '10.244.0.0/16' }, v6: { cidr: 'fd00:10:244::/48' } });
    const r = await ipam.autoAssign({ handleId: 'ds', node: 'node-a', num4: 1, num6: 1, attrs: {} });
    assert.equal(r.ipv4.length, 1);
    assert.equal(r.ipv6.length, 1);
    assert.match(r.ipv6[0]!.blockCidr, /^fd00:10:244:[0-9a-f:]+\/122$/);
    assert.equal(r.ipv6[0]!.family, 6);
    assert.deepEqual((await ipam.releaseByHandle('ds')).sort(), [r.ipv4[0]!.ip, r.ipv6[0]!.ip].sort());
    assert.deepEqual(await ipam.addressesByHandle('ds'), []);
  });

  it('a dual-stack request whose IPv6 half fails gives back its IPv4 address', async () => {
    const { ds, ipam } = await setup({ v4: { cidr: '10.244.0.0/16' }, v6: { cidr: 'fd00::/126', blockSize: 126 } });
    await ipam.autoAssign({ handleId: 'fill', node: 'node-a', num4: 0, num6: 4, attrs: {} });
    await rejectsCode(ipam.autoAssign({ handleId: 'half', node: 'node-a', num4: 1, num6: 1, attrs: {} }), 'PoolExhausted', /IPv6/);
    assert.equal(await ds.get(handleKey('half')), undefined);
  });
});

describe('BlockAllocator pool selection', () => {
  it('uses explicitly requested pools by name or CIDR, and refuses unknown, disabled or wrong-family ones', async () => {
    const { ipam } = await setup({
      a: { cidr: '10.1.0.0/24' },
      b: { cidr: '10.2.0.0/24' },
      off: { cidr: '10.3.0.0/24', disabled: true },
      v6: { cidr: 'fd00::/120' },
    });
    const byName = await ipam.autoAssign({ handleId: 'h1', node: 'n', num4: 1, num6: 0, attrs: {}, ipv4Pools: ['b'] });
    assert.match(byName.ipv4[0]!.ip, /^10\.2\.0\./);
    const byCidr = await ipam.autoAssign({ handleId: 'h2', node: 'n', num4: 1, num6: 0, attrs: {}, ipv4Pools: ['10.1.0.0/24'] });
    assert.match(byCidr.ipv4[0]!.ip, /^10\.1\.0\./);
    await rejectsCode(ipam.autoAssign({ handleId: 'h3', node: 'n', num4: 1, num6: 0, attrs: {}, ipv4Pools: ['nope'] }), 'NoQualifiedPool', /"nope" does not exist/);
    await rejectsCode(ipam.autoAssign({ handleId: 'h4', node: 'n', num4: 1, num6: 0, attrs: {}, ipv4Pools: ['off'] }), 'NoQualifiedPool', /disabled/);
    await rejectsCode(ipam.autoAssign({ handleId: 'h5', node: 'n', num4: 1, num6: 0, attrs: {}, ipv4Pools: ['v6'] }), 'InvalidRequest', /IPv6 pool/);
  });

  it('never picks disabled, Manual or non-Workload pools automatically', async () => {
    const { ipam } = await setup({
      off: { cidr: '10.3.0.0/24', disabled: true },
      manual: { cidr: '10.4.0.0/24', assignmentMode: 'Manual' },
      tunnels: { cidr: '10.5.0.0/24', allowedUses: ['Tunnel'] },
    });
    await rejectsCode(ipam.autoAssign({ handleId: 'h', node: 'n', num4: 1, num6: 0, attrs: {} }), 'NoQualifiedPool');
    const manual = await ipam.autoAssign({ handleId: 'm', node: 'n', num4: 1, num6: 0, attrs: {}, ipv4Pools: ['manual'] });
    assert.match(manual.ipv4[0]!.ip, /^10\.4\.0\./);
    const t = await ipam.assignTunnelAddress('n', 4, 'wireguard');
    assert.match(t.ip, /^10\.5\.0\./);
  });

  it('matches nodeSelector against the Node resource’s labels and namespaceSelector against the namespace labels', async () => {
    const { ds, ipam } = await setup({
      rack1: { cidr: '10.1.0.0/24', nodeSelector: "rack == 'r1'" },
      rack2: { cidr: '10.2.0.0/24', nodeSelector: "rack == 'r2'" },
      teamx: { cidr: '10.3.0.0/24', nodeSelector: 'all()', namespaceSelector: "team in {'x', 'z'}", allowedUses: ['Workload'] },
    });
    await putNode(ds, 'n1', { rack: 'r1' });
    await putNode(ds, 'n2', { rack: 'r2' });
    const r1 = await ipam.autoAssign({ handleId: 'a', node: 'n1', num4: 1, num6: 0, attrs: {}, namespaceLabels: { team: 'y' } });
    assert.match(r1.ipv4[0]!.ip, /^10\.1\.0\./);
    const r2 = await ipam.autoAssign({ handleId: 'b', node: 'n2', num4: 1, num6: 0, attrs: {}, namespaceLabels: {} });
    assert.match(r2.ipv4[0]!.ip, /^10\.2\.0\./);
    // Node n3 is unregistered (no labels): only the namespace-selected pool can match.
    const r3 = await ipam.autoAssign({ handleId: 'c', node: 'n3', num4: 1, num6: 0, attrs: {}, namespaceLabels: { team: 'x' } });
    assert.match(r3.ipv4[0]!.ip, /^10\.3\.0\./);
    await rejectsCode(ipam.autoAssign({ handleId: 'd', node: 'n3', num4: 1, num6: 0, attrs: {}, namespaceLabels: { team: 'y' } }), 'NoQualifiedPool');
  });
});

describe('BlockAllocator reservations, fixed addresses and affinity', () => {
  it('skips reserved addresses and never claims a block that reservations cover entirely', async () => {
    const { ds, ipam } = await setup({ p: { cidr: '10.8.0.0/27', blockSize: 28 } });
    await putReservation(ds, 'r', ['10.8.0.0/28', '10.8.0.16', '10.8.0.17/32']);
    const got = await ipam.autoAssign({ handleId: 'h', node: 'n', num4: 14, num6: 0, attrs: {} });
    const ips = got.ipv4.map((a) => a.ip);
    assert.equal(ips.length, 14);
    for (const ip of ips) assert.ok(parseIP(ip).value >= parseIP('10.8.0.18').value, `${ip} is reserved`);
    assert.equal(await ds.get(blockKey(parseCIDR('10.8.0.0/28'))), undefined, 'fully reserved block never created');
    await rejectsCode(ipam.autoAssign({ handleId: 'h2', node: 'n', num4: 1, num6: 0, attrs: {} }), 'PoolExhausted');
    await rejectsCode(ipam.assignIP({ ip: '10.8.0.3', handleId: 'f', node: 'n', attrs: {} }), 'Reserved');
  });

  it('assigns a fixed address once; a second request names the owning handle; outside every pool is NotInPool', async () => {
    const { ipam } = await setup();
    const a = await ipam.assignIP({ ip: '10.244.0.77', handleId: 'fixed-1', node: 'n', attrs: { pod: 'db', namespace: 'prod' } });
    assert.equal(a.ip, '10.244.0.77');
    assert.equal(a.blockCidr, '10.244.0.77/26');
    await rejectsCode(ipam.assignIP({ ip: '10.244.0.77', handleId: 'fixed-2', node: 'n', attrs: {} }), 'AddressInUse', /handle fixed-1.*"pod":"db"/);
    await rejectsCode(ipam.assignIP({ ip: '10.99.0.1', handleId: 'x', node: 'n', attrs: {} }), 'NotInPool', /pool-a \(10\.244\.0\.0\/24\)/);
    await rejectsCode(ipam.assignIP({ ip: '10.244.0.300', handleId: 'x', node: 'n', attrs: {} }), 'InvalidRequest');
    // Auto-assignment on the same node never returns the fixed address.
    const auto = await ipam.autoAssign({ handleId: 'auto', node: 'n', num4: 63, num6: 0, attrs: {} });
    assert.ok(!auto.ipv4.some((x) => x.ip === '10.244.0.77'));
  });

  it('borrows from another node’s block unless strict affinity is on, then reports the block limit', async () => {
    const { ds, ipam } = await setup({ one: { cidr: '10.6.0.0/28', blockSize: 28 } });
    await ipam.autoAssign({ handleId: 'a', node: 'node-a', num4: 2, num6: 0, attrs: {} });
    const borrowed = await ipam.autoAssign({ handleId: 'b', node: 'node-b', num4: 1, num6: 0, attrs: {} });
    assert.match(borrowed.ipv4[0]!.ip, /^10\.6\.0\./);
    const kv = await ds.get(blockKey(parseCIDR('10.6.0.0/28')));
    assert.equal(decodeBlock(kv!.value, kv!.key).affinity, 'host:node-a', 'borrowing does not move the block');
    await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 0 }));
    ipam.invalidate();
    await rejectsCode(ipam.autoAssign({ handleId: 'c', node: 'node-b', num4: 1, num6: 0, attrs: {} }), 'PoolExhausted');
    await rejectsCode(ipam.assignIP({ ip: '10.6.0.9', handleId: 'c', node: 'node-b', attrs: {} }), 'StrictAffinity', /affine to node node-a/);
  });

  it('a long-lived allocator claims from a remembered listing, and when its subnet turns out taken lists afresh and claims the next', async () => {
    const { ds } = await setup({ 'pool-a': { cidr: '10.7.0.0/28', blockSize: 30 } });
    await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 4 }));
    const listings: number[] = [];
    const taken: string[] = [];
    const watched = Object.create(ds) as MemoryDatastore;
    watched.listKeys = async (prefix) => {
      listings.push(listings.length);
      return ds.listKeys(prefix);
    };
    watched.txn = async (ops) => {
      try {
        return await ds.txn(ops);
      } catch (err) {
        if ((err as { code?: string }).code === 'AlreadyExists') taken.push(ops[0]!.key);
        throw err;
      }
    };
    const agent = new BlockAllocator(watched, { contextTtlMs: 60_000 });
    // node-a's subnets in its own order: it claims the first; node-b then takes the next two.
    const order = [...blockCandidates({ cidr: parseCIDR('10.7.0.0/28'), blockSize: 30 } as IpamPool, fnv1a32('node-a'))];
    const first = await agent.autoAssign({ handleId: 'h0', node: 'node-a', num4: 1, num6: 0, attrs: attrs('p0') });
    assert.equal(formatCIDR(blockOf(first.ipv4[0]!.blockCidr)), formatCIDR(order[0]!));
    const other = new BlockClaimer(ds, new IpamStore(ds), () => new Date(), nullLogger);
    for (const c of [order[1]!, order[2]!]) assert.equal((await other.claimFresh(c, 'node-b')).outcome, 'claimed');
    for (let i = 1; i < 4; i++) await agent.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) });
    assert.equal(listings.length, 1, 'one listing so far, made for the first claim');
    // The block is full: the claim goes by the remembered listing, finds order[1] taken, lists again.
    const next = await agent.autoAssign({ handleId: 'h4', node: 'node-a', num4: 1, num6: 0, attrs: attrs('p4') });
    assert.equal(formatCIDR(blockOf(next.ipv4[0]!.blockCidr)), formatCIDR(order[3]!));
    assert.deepEqual(taken, [blockKey(order[1]!)]);
    assert.equal(listings.length, 2);
  });

  it('a long-lived allocator notices addresses another process freed in its full block, instead of giving up', async () => {
    const { ds } = await setup({ 'pool-a': { cidr: '10.7.0.0/29', blockSize: 29 } });
    await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 1 }));
    const agent = new BlockAllocator(ds, { contextTtlMs: 60_000 });
    const got = [];
    for (let i = 0; i < 8; i++) got.push((await agent.autoAssign({ handleId: `h${i}`, node: 'node-a', num4: 1, num6: 0, attrs: attrs(`p${i}`) })).ipv4[0]!);
    await rejectsCode(agent.autoAssign({ handleId: 'h-full', node: 'node-a', num4: 1, num6: 0, attrs: attrs('full') }), 'BlockLimit');
    // Another process (tabbyctl ipam release, GC) frees one of them.
    await new BlockAllocator(ds).releaseByHandle('h5');
    const r = await agent.autoAssign({ handleId: 'h-next', node: 'node-a', num4: 1, num6: 0, attrs: attrs('next') });
    assert.equal(r.ipv4[0]!.ip, got[5]!.ip);
  });

  it('stops claiming at maxBlocksPerHost', async () => {
    const { ds, ipam } = await setup({ p: { cidr: '10.6.0.0/24', blockSize: 30 } });
    await ds.put(IPAM_CONFIG_KEY, encodeIpamConfig({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 2 }));
    await ipam.autoAssign({ handleId: 'a', node: 'n', num4: 8, num6: 0, attrs: {} });
    await rejectsCode(ipam.autoAssign({ handleId: 'b', node: 'n', num4: 1, num6: 0, attrs: {} }), 'BlockLimit', /holds 2 IPv4 blocks.*strict affinity/);
  });

  it('finishes a claim that crashed after writing the pending affinity', async () => {
    const { ds, ipam } = await setup({ p: { cidr: '10.6.0.0/24', blockSize: 26 } });
    const cidr = parseCIDR('10.6.0.128/26');
    await ds.create(affinityKey('node-a', cidr), { state: 'pending', deleted: false });
    const r = await ipam.autoAssign({ handleId: 'h', node: 'node-a', num4: 1, num6: 0, attrs: {} });
    assert.equal(r.ipv4[0]!.blockCidr.split('/')[1], '26');
    assert.ok(parseIP(r.ipv4[0]!.ip).value >= parseIP('10.6.0.128').value, 'used the block it had started to claim');
    assert.equal(decodeAffinity((await ds.get(affinityKey('node-a', cidr)))!.value).state, 'confirmed');
  });

  it('drops a pending affinity for a block another node owns and claims elsewhere', async () => {
    const { ds, ipam } = await setup({ p: { cidr: '10.6.0.0/24', blockSize: 26 } });
    const cidr = parseCIDR('10.6.0.0/26');
    await ds.create(blockKey(cidr), encodeBlock(newBlock(cidr, 'node-b', new Date())));
    await ds.create(affinityKey('node-a', cidr), { state: 'pending', deleted: false });
    const r = await ipam.autoAssign({ handleId: 'h', node: 'node-a', num4: 1, num6: 0, attrs: {} });
    assert.ok(parseIP(r.ipv4[0]!.ip).value >= parseIP('10.6.0.64').value);
    assert.equal(await ds.get(affinityKey('node-a', cidr)), undefined);
  });

  it('gives nodes tunnel addresses under Calico’s handle ids, once', async () => {
    const { ds, ipam } = await setup({ p: { cidr: '10.6.0.0/24', vxlanMode: 'Always' }, v6: { cidr: 'fd00::/64', vxlanMode: 'Always' } });
    const t = await ipam.assignTunnelAddress('node-a', 4, 'vxlan');
    assert.deepEqual(await ipam.assignTunnelAddress('node-a', 4, 'vxlan'), t);
    assert.deepEqual(await ipam.addressesByHandle('vxlan-tunnel-addr-node-a'), [t.ip]);
    const t6 = await ipam.assignTunnelAddress('node-a', 6, 'vxlan');
    assert.deepEqual(await ipam.addressesByHandle('vxlan-v6-tunnel-addr-node-a'), [t6.ip]);
    const kv = await ds.get(blockKey(blockOf(t.blockCidr)));
    const b = decodeBlock(kv!.value, kv!.key);
    assert.deepEqual(b.attributes[0]?.secondary, { node: 'node-a', type: 'vxlanTunnelAddress' });
    await rejectsCode(ipam.assignTunnelAddress('node-a', 4, 'ipip'), 'NoQualifiedPool');
    await rejectsCode(ipam.assignTunnelAddress('node-a', 6, 'ipip'), 'InvalidRequest');
  });
});

describe('BlockAllocator when a pool’s block size changes', () => {
  it('never claims a new block overlapping an old one, for automatic or fixed addresses', async () => {
    const { ds, ipam } = await setup({ p: { cidr: '10.5.0.0/25', blockSize: 26 } });
    const first = await ipam.autoAssign({ handleId: 'a', node: 'node-a', num4: 1, num6: 0, attrs: {} });
    const old = blockOf(first.ipv4[0]!.blockCidr);
    await putPool(ds, 'p', { cidr: '10.5.0.0/25', blockSize: 28 });
    const other = new BlockAllocator(ds);
    const got = await other.autoAssign({ handleId: 'b', node: 'node-b', num4: 40, num6: 0, attrs: {} });
    for (const a of got.ipv4) {
      const b = blockOf(a.blockCidr);
      assert.ok(b.prefix === 28 ? !cidrContains(old, b) : formatCIDR(b) === formatCIDR(old), `${a.ip} in ${formatCIDR(b)} overlaps ${formatCIDR(old)}`);
    }
    // A fixed address inside the old /26 goes into the old block, not a new /28.
    const inOld = formatIP({ family: 4, value: old.base + 5n });
    const fixed = await other.assignIP({ ip: inOld, handleId: 'f', node: 'node-b', attrs: {} });
    assert.equal(fixed.blockCidr, `${inOld}/26`);
  });
});

describe('BlockAllocator retry budget', () => {
  it('gives up with RetriesExhausted after a bounded number of failed compare-and-swaps', async () => {
    const { ds } = await setup();
    let txns = 0;
    const hostile = new Proxy(ds, {
      get(t, p) {
        if (p === 'txn') {
          return async (ops: readonly TxnOp[]) => {
            txns++;
            // Let block claims through; make every allocation write lose its race.
            if (ops.some((o) => o.key.startsWith('/calico/ipam/v2/handle/'))) throw conflict(ops[0]!.key, 1, 2, 0);
            return t.txn(ops);
          };
        }
        const v = Reflect.get(t, p) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const ipam = new BlockAllocator(hostile, { retry: { attempts: 7, baseDelayMs: 0, maxDelayMs: 1 } });
    await rejectsCode(ipam.autoAssign({ handleId: 'h', node: 'n', num4: 1, num6: 0, attrs: {} }), 'RetriesExhausted', /after 7 attempts/);
    assert.ok(txns <= 7 + 2, `bounded: ${txns} transactions`);
  });
});
