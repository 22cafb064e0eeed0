// tabbyctl node status as text: calicoctl's peer tables per family from the node's BGP daemon.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type NodeBgpStatus, formatNodeStatus } from './node.js';

const peer = (name: string, address: string, state: string, since: string) => ({
  name, address, port: 179, asNumber: 64512, type: 'ibgp', state, since, uptimeSeconds: 5, remoteRouterID: '', holdTime: 90, families: [], stale: false,
  prefixes: { received: 2, accepted: 2, advertised: 1 }, messages: { received: 0, sent: 0 }, updates: { received: 0, sent: 0 }, notifications: { received: 0, sent: 0 },
  malformedUpdatesSurvived: 0, lastError: state === 'Established' ? '' : 'connection refused', bfd: null,
});

describe('tabbyctl node status: BGP', () => {
  it('prints one table per family with calicoctl\'s peer types, the time of day as SINCE, prefixes in/out, and refused peerings', () => {
    const bgp: NodeBgpStatus = {
      routerID: '198.18.0.11', asNumber: 64512, listenPort: 179, restarting: false, uptimeSeconds: 9, routes: { ipv4: 3, ipv6: 0, attributeSets: 2 }, kernel: null, bfd: null,
      peers: [peer('Mesh_198_18_0_12', '198.18.0.12', 'Established', '2026-12-02T10:11:12.000Z'), peer('Global_198_18_0_4', '198.18.0.4', 'Active', '2026-12-01T09:00:00.000Z')],
      peerTypes: { Mesh_198_18_0_12: 'node-to-node mesh', Global_198_18_0_4: 'global' },
      refused: [{ name: 'Node_198_18_0_9', peerType: 'node specific', address: '198.18.0.9', reason: 'BGPPeer md5 sets a password: TCP-MD5 (RFC 2385) needs the TCP_MD5SIG socket option' }],
      problems: [],
    };
    const text = formatNodeStatus({ ready: true, children: [] }, bgp, new Date('2026-12-02T12:00:00Z'));
    assert.match(text, /IPv4 BGP status\n\+-+/);
    assert.match(text, /\| 198\.18\.0\.12 +\| node-to-node mesh \| up +\| 10:11:12 +\| Established +\| 2\/1 +\|/);
    assert.match(text, /\| 198\.18\.0\.4 +\| global +\| start +\| 2026-12-01 \| Active connection refused +\| 2\/1 +\|/);
    assert.match(text, /\| 198\.18\.0\.9 +\| node specific +\| refused \| +\| BGPPeer md5 sets a password: TCP-MD5 \(RFC 2385\) needs the\.\.\. \| - +\|/);
    assert.match(text, /IPv6 BGP status\nNo IPv6 peers found\./);
    assert.match(formatNodeStatus({ ready: true, children: [] }, undefined), /No BGP daemon runs on this node\./);
    // A peer with BFD says its BFD state in INFO.
    const withBfd = { ...bgp, peers: [{ ...bgp.peers[0]!, bfd: { state: 'Up', remoteState: 'Up', diagnostic: 'none', localDiscriminator: 1, remoteDiscriminator: 2, detectionTimeMs: 600, txIntervalMs: 200, since: '', upTransitions: 1, downTransitions: 0, packetsIn: 1, packetsOut: 1 } }] } as NodeBgpStatus;
    assert.match(formatNodeStatus({ ready: true, children: [] }, withBfd, new Date('2026-12-02T12:00:00Z')), /\| Established \(BFD Up\) +\|/);
  });
});
