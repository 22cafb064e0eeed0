import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseVersion, configCandidates, parseCniError, parseNetworkConfig, podCniArgs, requestConfig, resultAddresses } from './cni-config.js';

const conflist = JSON.stringify({
  name: 'k8s-pod-network',
  cniVersion: '1.0.0',
  cniVersions: ['0.3.1', '1.1.0', '9.9.9'],
  plugins: [
    { type: 'tabby', ipam: { type: 'tabby-ipam' }, nodename: 'node-1' },
    { type: 'portmap', snat: true, capabilities: { portMappings: true, bandwidth: true } },
  ],
});

describe('runtime CNI configuration', () => {
  it('considers .conf, .conflist and .json files in lexical order', () => {
    assert.deepEqual(configCandidates(['b.conflist', 'README', '10-a.conf', 'x.json', 'y.conf.bak']), ['10-a.conf', 'b.conflist', 'x.json']);
  });

  it('picks the highest version both the file and the runtime support', () => {
    assert.equal(parseNetworkConfig(conflist, 'f').cniVersion, '1.1.0');
    assert.equal(chooseVersion({ cniVersion: '0.3.1' }, 'f'), '0.3.1');
    assert.throws(() => chooseVersion({ cniVersion: '2.0.0' }, 'f.conflist'), /f\.conflist offers versions \["2\.0\.0"\]/);
  });

  it('derives request configs: name and version inserted, capabilities removed, runtimeConfig only for supplied capabilities, prevResult as given', () => {
    const net = parseNetworkConfig(conflist, 'f');
    assert.deepEqual(requestConfig({ network: net, pluginIndex: 0 }), {
      type: 'tabby',
      ipam: { type: 'tabby-ipam' },
      nodename: 'node-1',
      cniVersion: '1.1.0',
      name: 'k8s-pod-network',
    });
    const prev = { cniVersion: '1.1.0', ips: [{ address: '10.244.0.1/32' }] };
    assert.deepEqual(requestConfig({ network: net, pluginIndex: 1, prevResult: prev, capabilityArgs: { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] } }), {
      type: 'portmap',
      snat: true,
      cniVersion: '1.1.0',
      name: 'k8s-pod-network',
      runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] },
      prevResult: prev,
    });
  });

  it('turns a single-plugin .conf into a one-plugin list and rejects configs without plugins', () => {
    const net = parseNetworkConfig(JSON.stringify({ name: 'n', cniVersion: '0.4.0', type: 'bridge' }), 'n.conf');
    assert.equal(net.plugins.length, 1);
    assert.throws(() => parseNetworkConfig(JSON.stringify({ name: 'n', cniVersion: '1.0.0', plugins: [] }), 'e.conflist'), /e\.conflist has no plugins/);
    assert.throws(() => parseNetworkConfig('{', 'bad.conflist'), /bad\.conflist is not JSON/);
  });

  it('builds kubelet CNI_ARGS and reads results and errors', () => {
    assert.equal(podCniArgs('ns', 'web', 'abc', 'u-1'), 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1');
    assert.deepEqual(resultAddresses({ ips: [{ address: 'fd00::1/128' }, { address: '10.0.0.1/32' }] }), ['10.0.0.1', 'fd00::1']);
    assert.deepEqual(parseCniError('{"cniVersion":"1.1.0","code":7,"msg":"bad","details":"why"}'), { code: 7, msg: 'bad', details: 'why' });
    assert.equal(parseCniError('garbage'), undefined);
  });
});
