import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembleMatrix, parsePortList, parseProbeProtocol, probeTarget } from './probe-plan.js';

const web = { id: 'a/web', ips: ['10.244.0.1', 'fd00:10:244::1'], ports: [{ port: 80, protocol: 'TCP' as const }, { port: 53, protocol: 'UDP' as const }] };
const dns = { id: 'b/dns', ips: ['10.244.0.2'], ports: [{ port: 53, protocol: 'UDP' as const }] };
const bare = { id: 'c/bare', ips: ['10.244.0.3'], ports: [] };

describe('probe targets', () => {
  it('uses the first declared port and its protocol by default', () => {
    assert.equal(probeTarget(web, {}), 'tcp:10.244.0.1:80');
    assert.equal(probeTarget(dns, {}), 'udp:10.244.0.2:53');
    assert.equal(probeTarget(bare, {}), undefined);
  });

  it('uses the given port and protocol, and the requested address family', () => {
    assert.equal(probeTarget(web, { port: 8080 }), 'tcp:10.244.0.1:8080');
    assert.equal(probeTarget(web, { protocol: 'UDP' }), 'udp:10.244.0.1:53');
    assert.equal(probeTarget(web, { family: 6, protocol: 'UDP', port: 53 }), 'udp:[fd00:10:244::1]:53');
    assert.equal(probeTarget(dns, { family: 6 }), undefined);
  });

  it('accepts only TCP and UDP', () => {
    assert.equal(parseProbeProtocol('udp'), 'UDP');
    assert.throws(() => parseProbeProtocol('SCTP'), /use TCP or UDP/);
  });
});

describe('--ports lists', () => {
  it('reads PORT/PROTOCOL pairs in order, protocol names in any case', () => {
    assert.deepEqual(parsePortList('80/TCP,81/udp, 80/UDP'), [
      { port: 80, protocol: 'TCP' },
      { port: 81, protocol: 'UDP' },
      { port: 80, protocol: 'UDP' },
    ]);
  });

  it('names the bad item: no protocol, a port out of range, SCTP, a pair given twice', () => {
    assert.throws(() => parsePortList('80'), /"80" is not PORT\/PROTOCOL/);
    assert.throws(() => parsePortList('80/TCP,70000/TCP'), /"70000\/TCP" is not PORT\/PROTOCOL with a port from 1 to 65535/);
    assert.throws(() => parsePortList('80/SCTP'), /use TCP or UDP/);
    assert.throws(() => parsePortList('80/TCP,80/tcp'), /80\/TCP is given twice/);
  });
});

describe('matrix assembly', () => {
  it('maps prober lines onto the defined targets and leaves undefined targets false', () => {
    const pods = [web, dns, bare];
    const targets = pods.map((p) => probeTarget(p, {}));
    const m = assembleMatrix(pods, targets, [['ok', 'fail timeout'], ['fail refused', 'ok'], ['ok', 'ok']]);
    assert.deepEqual(m, { pods: ['a/web', 'b/dns', 'c/bare'], matrix: [[true, false, false], [false, true, false], [true, true, false]] });
  });

  it('fails loudly when the prober answered fewer targets than asked', () => {
    assert.throws(() => assembleMatrix([web], ['tcp:10.244.0.1:80'], [[]]), /gave 0 answers for 1 targets/);
  });
});
