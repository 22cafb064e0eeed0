import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { BgpConfigError, parseSpeakerConfig } from './config.js';

const json = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
const ok = `
asNumber: 65001
routerID: 198.18.0.1
originate: [10.1.0.0/24, 2001:db8:1::/64]
kernel: { table: 100 }
filters:
  f1:
    exportV4: [{ action: Accept, matchOperator: In, cidr: 10.1.0.0/16, prefixLength: { min: 24 } }, { action: Reject }]
peers:
  - { peerIP: 198.18.0.2, asNumber: 65002, filters: [f1] }
  - { peerIP: "2001:db8::2", asNumber: 65001, routeReflectorClient: true, passive: true, holdTime: 30 }
`;

function problems(text: string): string[] {
  try {
    parseSpeakerConfig(text, 'bgp.yaml');
  } catch (e) {
    assert.ok(e instanceof BgpConfigError);
    return [...e.problems];
  }
  assert.fail('expected a BgpConfigError');
}

describe('speaker configuration', () => {
  it('reads a valid file with Calico field names and defaults', () => {
    const c = parseSpeakerConfig(ok, 'bgp.yaml');
    assert.equal(c.asNumber, 65001);
    assert.equal(c.routerID, 0xc6120001);
    assert.equal(c.routeReflectorClusterID, c.routerID, 'cluster ID defaults to the router ID');
    assert.equal(c.kernelTable, 100);
    assert.equal(c.listenPort, 179);
    assert.equal(c.statusSocket, '/run/tabby/bgp.sock');
    assert.equal(c.originate.length, 2);
    const [e, i] = c.peers;
    assert.deepEqual(e!.families, ['ipv4']);
    assert.equal(e!.holdTime, 90);
    assert.equal(e!.exportFilter.v4.length, 2);
    assert.deepEqual(i!.families, ['ipv6']);
    assert.equal(i!.routeReflectorClient, true);
    assert.equal(i!.holdTime, 30);
    assert.equal(parseSpeakerConfig('asNumber: 1\nrouterID: 1.1.1.1\nkernel: none\n', 'x').kernelTable, undefined);
  });

  it('names each problem with its field path', () => {
    const p = problems(`
asNumber: 65001
routerID: fd00::1
originate: [10.1.0.1/24]
peers:
  - { peerIP: 198.18.0.2, asNumber: 65002, filters: [missing], holdTime: 2 }
  - { peerIP: 198.18.0.2, asNumber: 65002 }
  - { peerIP: nonsense, asNumber: 65003 }
`);
    assert.ok(p.some((x) => x.startsWith('routerID: "fd00::1" must be an IPv4 address')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('originate[0]:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers[0].filters: no filter named "missing"')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers[0].holdTime:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers[1].peerIP: 198.18.0.2:179 is configured twice')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers[2].peerIP: "nonsense"')), p.join('\n'));
  });

  it('takes a TCP-MD5 password and GTSM hop count per peer; the password never shows in JSON, text or inspection', () => {
    const c = parseSpeakerConfig('asNumber: 1\nrouterID: 1.1.1.1\npeers:\n  - { peerIP: 198.18.0.2, asNumber: 2, password: s3cr3t-pw, ttlSecurity: 2 }\n  - { peerIP: 198.18.0.3, asNumber: 2, ttlSecurity: 0 }\n', 'bgp.yaml');
    const [a, b] = c.peers;
    assert.equal(a!.password?.reveal(), 's3cr3t-pw');
    assert.equal(a!.ttlSecurity, 2);
    assert.equal(b!.password, undefined);
    assert.equal(b!.ttlSecurity, undefined, 'ttlSecurity 0 is off, as in Calico');
    for (const shown of [json(c), String(a!.password), inspect(c, { depth: 10 })]) assert.ok(!shown.includes('s3cr3t'), shown);
  });

  it('refuses passwords the kernel cannot take, and two passwords for one address', () => {
    const long = 'x'.repeat(81);
    const p = problems(`asNumber: 1\nrouterID: 1.1.1.1\npeers:\n  - { peerIP: 198.18.0.2, asNumber: 2, password: "" }\n  - { peerIP: 198.18.0.3, asNumber: 2, password: ${long} }\n  - { peerIP: 198.18.0.4, asNumber: 2, password: a }\n  - { peerIP: 198.18.0.4, port: 1790, asNumber: 2, password: b }\n`);
    assert.ok(p.some((x) => x.startsWith('peers[0].password: must not be empty')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers[1].password: is 81 bytes; TCP-MD5 keys are at most 80 bytes')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers[3].password: peers[2] has the same peerIP 198.18.0.4 with a different password')), p.join('\n'));
    assert.ok(!p.join('\n').includes(long), 'the key is not echoed');
  });

  it('rejects unknown fields and wrong types, naming them', () => {
    const p = problems('asNumber: "x"\nrouterID: 1.1.1.1\nlistenPrt: 179\n');
    assert.ok(p.some((x) => x.startsWith('asNumber:')), p.join('\n'));
    assert.ok(p.some((x) => x.includes('listenPrt')), p.join('\n'));
  });

  it('reads the per-peer bfd option: true for the defaults, an object for chosen intervals', () => {
    const c = parseSpeakerConfig(`
asNumber: 65001
routerID: 198.18.0.1
peers:
  - { peerIP: 198.18.0.2, asNumber: 65002, bfd: true }
  - { peerIP: 198.18.0.3, asNumber: 65002, bfd: { minTxMs: 100, multiplier: 5 } }
  - { peerIP: 198.18.0.4, asNumber: 65002, bfd: false }
  - { peerIP: 198.18.0.5, asNumber: 65002 }
`, 'bgp.yaml');
    assert.deepEqual(c.peers.map((p) => p.bfd), [
      { minTxMs: 200, minRxMs: 200, multiplier: 3 },
      { minTxMs: 100, minRxMs: 200, multiplier: 5 },
      undefined,
      undefined,
    ]);
    const p = problems('asNumber: 1\nrouterID: 1.1.1.1\npeers:\n  - { peerIP: 198.18.0.2, asNumber: 2, bfd: { minTxMs: 1 } }\n  - { peerIP: 198.18.0.4, asNumber: 2, bfd: { echo: true } }\n');
    assert.ok(p.some((x) => x.startsWith('peers.0.bfd.minTxMs: Invalid value: Expected >=10')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('peers.1.bfd:')), p.join('\n'));
    const m = problems('asNumber: 1\nrouterID: 1.1.1.1\npeers:\n  - { peerIP: 198.18.0.3, asNumber: 2, multihop: 3, bfd: true }\n');
    assert.ok(m.some((x) => x.startsWith('peers[0].bfd: BFD here is single-hop')), m.join('\n'));
    const d = problems('asNumber: 1\nrouterID: 1.1.1.1\npeers:\n  - { peerIP: 198.18.0.3, asNumber: 2, bfd: true }\n  - { peerIP: 198.18.0.3, port: 1179, asNumber: 3, bfd: true }\n');
    assert.ok(d.some((x) => x.startsWith('peers[1].bfd: another peer at 198.18.0.3 has BFD already')), d.join('\n'));
  });
});
