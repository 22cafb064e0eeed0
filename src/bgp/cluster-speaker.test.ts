import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseIP } from '../ip/index.js';
import type { ClusterPeer, NodeBgpConfig, SecretRef } from './cluster/index.js';
import { clusterSpeakerConfig, readPasswords } from './cluster-speaker.js';

const json = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
const peer = (name: string, extra: Partial<ClusterPeer>): ClusterPeer => ({
  name, peerType: 'global', source: name, address: parseIP('198.18.0.9'), port: 179, asNumber: 65010, passive: false, routeReflectorClient: false,
  nextHopMode: 'Auto', maxRestartTime: 120, keepaliveTime: 0, importFilter: { v4: [], v6: [] }, exportFilter: { v4: [], v6: [] }, filters: [], bfd: false, ...extra,
});
const node = (peers: ClusterPeer[]): NodeBgpConfig => ({ enabled: true, asNumber: 64512, routerID: '198.18.0.1', listenPort: 179, logSeverityScreen: 'Info', peers, refused: [], originate: [], problems: [] });

describe('cluster speaker: passwords from secrets, ttlSecurity', () => {
  const secrets: Record<string, string> = { 'bgp/good': 'mesh-pw', 'bgp/long': 'y'.repeat(81) };
  const read = (r: SecretRef): string => {
    const v = secrets[`${r.name}/${r.key}`];
    if (v === undefined) throw new Error(`no file ${r.name}/${r.key}`);
    return v;
  };

  it('gives each peer the password its secret holds, and its GTSM hop count', () => {
    const { config, passwords } = readPasswords(node([peer('a', { password: { name: 'bgp', key: 'good' }, ttlSecurity: 1 }), peer('b', {})]), read);
    const sc = clusterSpeakerConfig(config, { passwords });
    const [a, b] = sc.peers;
    assert.equal(a!.password?.reveal(), 'mesh-pw');
    assert.equal(a!.ttlSecurity, 1);
    assert.equal(b!.password, undefined);
    assert.equal(b!.ttlSecurity, undefined);
    assert.ok(!inspect(sc, { depth: 10 }).includes('mesh-pw') && !json(sc).includes('mesh-pw'));
  });

  it('refuses a peer whose secret is missing, unusable or not a plain name, naming the secret and never the key', () => {
    const { config, passwords } = readPasswords(node([
      peer('missing', { password: { name: 'bgp', key: 'nope' } }),
      peer('long', { password: { name: 'bgp', key: 'long' } }),
      peer('escape', { password: { name: '..', key: 'etc' } }),
      peer('fine', {}),
    ]), read);
    assert.deepEqual(config.peers.map((p) => p.name), ['fine']);
    assert.equal(passwords.size, 0);
    const why = Object.fromEntries(config.refused.map((r) => [r.name, r.reason]));
    assert.match(why.missing!, /^BGPPeer missing password secret bgp key nope cannot be read: no file bgp\/nope$/);
    assert.match(why.long!, /secret bgp key long is 81 bytes; TCP-MD5 keys are at most 80 bytes/);
    assert.match(why.escape!, /is not a valid secret name and key/);
    assert.ok(!json(config).includes('yyyy'));
  });
});
