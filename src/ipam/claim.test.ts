import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDatastore } from '../datastore/index.js';
import { parseCIDR } from '../ip/index.js';
import { BlockClaimer } from './claim.js';
import { affineNode, newBlock } from './core/block.js';
import { affinityKey, blockKey, decodeBlock, encodeBlock, decodeAffinity } from '../model/index.js';
import { IpamStore } from './store.js';
import { nullLogger } from '../util/log.js';

const cidr = parseCIDR('10.9.0.64/26');
const now = () => new Date('2026-01-01T00:00:00Z');

function setup() {
  const ds = new MemoryDatastore();
  return { ds, claimer: new BlockClaimer(ds, new IpamStore(ds), now, nullLogger) };
}

describe('BlockClaimer.claimFresh', () => {
  it('creates the block and its confirmed affinity in one transaction, returning both as stored', async () => {
    const { ds, claimer } = setup();
    const before = ds.revision;
    const c = await claimer.claimFresh(cidr, 'node-a');
    assert.equal(c.outcome, 'claimed');
    assert.equal(ds.revision, before + 1, 'one write');
    const block = await ds.get(blockKey(cidr));
    const aff = await ds.get(affinityKey('node-a', cidr));
    assert.equal(affineNode(decodeBlock(block!.value, block!.key)), 'node-a');
    assert.equal(decodeAffinity(aff!.value).state, 'confirmed');
    assert.equal(c.block?.revision, block!.revision);
    assert.equal(c.affinity?.revision, aff!.revision);
    assert.equal(c.affinity?.affinity.state, 'confirmed');
  });

  it('reports a subnet another node already holds as taken and writes nothing', async () => {
    const { ds, claimer } = setup();
    await ds.create(blockKey(cidr), encodeBlock(newBlock(cidr, 'node-b', now())));
    const before = ds.revision;
    const c = await claimer.claimFresh(cidr, 'node-a');
    assert.equal(c.outcome, 'taken');
    assert.equal(ds.revision, before);
    assert.equal(await ds.get(affinityKey('node-a', cidr)), undefined);
  });

  it('finishes a claim a crash left pending (affinity key exists, no block) through the two-phase path', async () => {
    const { ds, claimer } = setup();
    await ds.create(affinityKey('node-a', cidr), { state: 'pending', deleted: false });
    const c = await claimer.claimFresh(cidr, 'node-a');
    assert.equal(c.outcome, 'claimed');
    assert.equal(c.block, undefined, 'the two-phase path does not hand back what it wrote: callers re-read');
    const block = await ds.get(blockKey(cidr));
    assert.equal(affineNode(decodeBlock(block!.value, block!.key)), 'node-a');
    assert.equal(decodeAffinity((await ds.get(affinityKey('node-a', cidr)))!.value).state, 'confirmed');
  });
});
