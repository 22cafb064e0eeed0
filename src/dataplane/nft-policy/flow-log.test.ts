// tabby-nflog's lines → DeniedFlowLog records (pure part): the prefix maps through the renderer,
// the endpoint's interface is picked by direction, ports only when the reader saw them, and a
// prefix that is not ours or no longer known is "unknown".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LogEntry, parseReaderLine } from './index.js';

const entries: Record<string, LogEntry> = {
  'tby:D:aaaaaaaaaaaa': { tier: 'default', policy: 'knp/a/deny', rule: 0, direction: 'ingress', action: 'deny' },
  'tby:D:bbbbbbbbbbbb': { tier: null, policy: null, rule: 'no-profile-allowed', direction: 'egress', action: 'deny' },
  'tby:L:cccccccccccc': { tier: 'sec', policy: 'gnp/sec.log', rule: 2, direction: 'ingress', action: 'log' },
};
const renderer = { logEntry: (p: string): LogEntry | undefined => entries[p] };
const line = (...f: string[]): string => ['pkt', ...f].join('\t');

describe('DeniedFlowLog: reader lines to records', () => {
  it('a denied packet to a pod: tier, policy, rule, the flow and the pod interface (where it was going)', () => {
    const r = parseReaderLine(line('tby:D:aaaaaaaaaaaa', 'cali111', 'cali222', '4', '6', '10.0.0.1', '10.0.0.2', '40000', '80', '1796221224294'), renderer);
    assert.deepEqual(r, { time: '2026-12-02T14:20:24.294Z', tier: 'default', policy: 'knp/a/deny', rule: 0, direction: 'ingress', action: 'deny', src: '10.0.0.1', dst: '10.0.0.2', proto: 'TCP', sport: 40000, dport: 80, iface: 'cali222', inIface: 'cali111', outIface: 'cali222' });
  });

  it('egress of a pod names the interface it came from; a host endpoint its own; ICMP has no ports', () => {
    const egress = parseReaderLine(line('tby:D:bbbbbbbbbbbb', 'cali111', 'eth0', '6', '58', 'fd00::1', 'fd00::2', '-', '-', '0'), renderer);
    assert.ok(egress !== undefined && egress !== 'unknown');
    assert.equal(egress.iface, 'cali111');
    assert.equal(egress.proto, 'ICMPv6');
    assert.ok(!('sport' in egress) && !('dport' in egress));
    const host = parseReaderLine(line('tby:L:cccccccccccc', 'eth0', '-', '4', '17', '198.18.0.1', '198.18.0.2', '53', '53', '0'), renderer);
    assert.ok(host !== undefined && host !== 'unknown');
    assert.deepEqual([host.iface, host.action, host.rule, host.outIface], ['eth0', 'log', 2, undefined]);
  });

  it('foreign or forgotten prefixes are unknown; other lines are not records', () => {
    assert.equal(parseReaderLine(line('someone-else', 'eth0', '-', '4', '6', 'a', 'b', '1', '2', '0'), renderer), 'unknown');
    assert.equal(parseReaderLine(line('tby:D:000000000000', 'eth0', '-', '4', '6', 'a', 'b', '1', '2', '0'), renderer), 'unknown');
    assert.equal(parseReaderLine('ready\t20', renderer), undefined);
    assert.equal(parseReaderLine('pkt\ttoo\tshort', renderer), undefined);
  });
});
