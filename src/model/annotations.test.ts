import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIP } from '../ip/index.js';
import { parseIpAddrsAnnotation, parsePoolsAnnotation, resolveIpamAnnotations } from './annotations.js';

describe('IPAM annotations', () => {
  it('parses pool lists by name or CIDR and rejects the wrong family or bad JSON with the owner named', () => {
    assert.deepEqual(parsePoolsAnnotation('["pool-a", "10.1.0.0/16"]', 4, 'pod default/web'), ['pool-a', '10.1.0.0/16']);
    assert.throws(() => parsePoolsAnnotation('["fd00::/48"]', 4, 'pod default/web'), /ipv4pools on pod default\/web: "fd00::\/48" is an IPv6 CIDR/);
    assert.throws(() => parsePoolsAnnotation('pool-a', 4, 'pod default/web'), /is not JSON/);
    assert.throws(() => parsePoolsAnnotation('{"a":1}', 6, 'pod x'), /ipv6pools on pod x: expected a JSON list/);
    assert.throws(() => parsePoolsAnnotation('[""]', 4, 'pod x'), /entry 0/);
  });

  it('parses fixed addresses, one per family', () => {
    assert.deepEqual(parseIpAddrsAnnotation('["10.1.0.7", "fd00::7"]', 'pod x').map(formatIP), ['10.1.0.7', 'fd00::7']);
    assert.throws(() => parseIpAddrsAnnotation('["10.1.0.7", "10.1.0.8"]', 'pod x'), /more than one IPv4 address/);
    assert.throws(() => parseIpAddrsAnnotation('["10.1.0.300"]', 'pod x'), /ipAddrs on pod x: invalid IP address "10.1.0.300"/);
    assert.throws(() => parseIpAddrsAnnotation('[]', 'pod x'), /empty/);
  });

  it('prefers the pod annotation, then the namespace annotation, then the CNI config', () => {
    const podAnn = { 'cni.projectcalico.org/ipv4pools': '["from-pod"]' };
    const nsAnn = { 'cni.projectcalico.org/ipv4pools': '["from-ns"]', 'cni.projectcalico.org/ipv6pools': '["v6-ns"]' };
    const conf = { ipv4Pools: ['from-conf'], ipv6Pools: ['v6-conf'] };
    assert.deepEqual(resolveIpamAnnotations(podAnn, 'pod', nsAnn, 'ns', conf), { ipv4Pools: ['from-pod'], ipv6Pools: ['v6-ns'] });
    assert.deepEqual(resolveIpamAnnotations({}, 'pod', {}, 'ns', conf), { ipv4Pools: ['from-conf'], ipv6Pools: ['v6-conf'] });
    assert.deepEqual(resolveIpamAnnotations(undefined, 'pod', undefined, 'ns'), {});
    // An empty value is no annotation at all: the next source in line decides.
    const empty = { 'cni.projectcalico.org/ipv4pools': '', 'cni.projectcalico.org/ipAddrs': '' };
    assert.deepEqual(resolveIpamAnnotations(empty, 'pod', nsAnn, 'ns', conf), { ipv4Pools: ['from-ns'], ipv6Pools: ['v6-ns'] });
  });
});
