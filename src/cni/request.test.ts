// The request-parsing layer: environment, configuration, versions and results, with the CNI
// error codes each failure must carry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConfigObject, parseNetConf } from './config.js';
import { k8sIdentity, parseCniEnv } from './env.js';
import { CniError } from './errors.js';
import { formatResult, parseResult } from './result.js';
import { compareVersions, requireOperationAllowed, requireSupported, versionReply } from './versions.js';

function code(f: () => unknown): number {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof CniError, `expected a CniError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error');
}

const full = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

describe('CNI environment (libcni skel rules)', () => {
  it('parses a complete ADD environment and CNI_ARGS', () => {
    const env = parseCniEnv({ ...full, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc' });
    assert.equal(env.command, 'ADD');
    assert.deepEqual(env.path, ['/opt/cni/bin']);
    assert.deepEqual(k8sIdentity(env.args), { namespace: 'ns1', pod: 'web', infraContainerId: 'abc' });
    assert.equal(k8sIdentity(parseCniEnv(full).args), undefined);
  });

  it('names every missing variable with code 4', () => {
    const err = (() => {
      try {
        parseCniEnv({ CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' });
      } catch (e) {
        return e as CniError;
      }
      return undefined;
    })();
    assert.equal(err?.code, 4);
    assert.equal(err?.details, 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_PATH] missing');
  });

  it('needs no netns for DEL, and only CNI_PATH for GC and STATUS', () => {
    assert.equal(parseCniEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0', CNI_PATH: '/x' }).netns, '');
    assert.equal(parseCniEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/x' }).command, 'GC');
    assert.equal(parseCniEnv({ CNI_COMMAND: 'VERSION' }).command, 'VERSION');
    assert.equal(code(() => parseCniEnv({ CNI_COMMAND: 'STATUS' })), 4);
  });

  it('rejects unknown commands, bad container IDs, bad interface names and bad CNI_ARGS with code 4', () => {
    assert.equal(code(() => parseCniEnv({})), 4);
    assert.equal(code(() => parseCniEnv({ ...full, CNI_COMMAND: 'FOO' })), 4);
    assert.equal(code(() => parseCniEnv({ ...full, CNI_CONTAINERID: '-abc' })), 4);
    assert.equal(code(() => parseCniEnv({ ...full, CNI_CONTAINERID: 'a/b' })), 4);
    for (const bad of ['a'.repeat(16), '.', '..', 'a/b', 'a:b', 'a b']) assert.equal(code(() => parseCniEnv({ ...full, CNI_IFNAME: bad })), 4, bad);
    assert.equal(code(() => parseCniEnv({ ...full, CNI_ARGS: 'novalue' })), 4);
  });
});

describe('network configuration', () => {
  const conf = (o: Record<string, unknown>) => parseNetConf(decodeConfigObject(JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'tabby', ipam: { type: 'tabby-ipam' }, ...o })), { ipamPlugin: false });

  it('reads Calico keys with their defaults', () => {
    const c = conf({ mtu: 1400, nodename: 'n1', policy: { type: 'k8s' }, ipam: { type: 'calico-ipam', assign_ipv6: 'true', ipv4_pools: ['p1'] } });
    assert.equal(c.mtu, 1400);
    assert.equal(c.nodename, 'n1');
    assert.equal(c.policyType, 'k8s');
    assert.deepEqual(c.ipam, { type: 'calico-ipam', assignIpv4: true, assignIpv6: true, ipv4Pools: ['p1'], ipv6Pools: [] });
  });

  it('accepts both GC attachment keys', () => {
    const a = [{ containerID: 'c1', ifname: 'eth0' }];
    assert.deepEqual(conf({ 'cni.dev/valid-attachments': a }).validAttachments, a);
    assert.deepEqual(conf({ 'cni.dev/attachments': a }).validAttachments, a);
  });

  it('gives code 6 for input that is not a JSON object', () => {
    assert.equal(code(() => decodeConfigObject('{nope')), 6);
    assert.equal(code(() => decodeConfigObject('[1]')), 6);
    assert.equal(code(() => decodeConfigObject('')), 6);
  });

  it('gives code 1 for a missing or unsupported version, 7 for a bad name or key, 2 for unsupported features', () => {
    assert.equal(code(() => conf({ cniVersion: undefined })), 1);
    assert.equal(code(() => conf({ cniVersion: '0.2.0' })), 1);
    assert.equal(code(() => conf({ cniVersion: '9.9.9' })), 1);
    assert.equal(code(() => conf({ name: '' })), 7);
    assert.equal(code(() => conf({ name: 'bad/name' })), 7);
    assert.equal(code(() => conf({ mtu: 'big' })), 7);
    assert.equal(code(() => conf({ ipam: { type: 'tabby-ipam', assign_ipv4: 'maybe' } })), 7);
    assert.equal(code(() => conf({ ipam: { type: 'tabby-ipam', assign_ipv4: 'false' } })), 7);
    assert.equal(code(() => conf({ ipam: { type: 'host-local' } })), 2);
    assert.equal(code(() => conf({ feature_control: { floating_ips: true } })), 2);
  });

  it('lets tabby-ipam serve another main plugin', () => {
    const c = parseNetConf(decodeConfigObject('{"cniVersion":"0.4.0","name":"br","type":"bridge","ipam":{"type":"tabby-ipam"}}'), { ipamPlugin: true });
    assert.equal(c.type, 'bridge');
  });
});

describe('versions', () => {
  it('orders versions and gates operations like skel', () => {
    assert.ok(compareVersions('0.4.0', '1.0.0') < 0);
    assert.ok(compareVersions('1.10.0', '1.9.0') > 0);
    assert.equal(code(() => requireOperationAllowed('CHECK', requireSupported('0.3.1'))), 1);
    assert.equal(code(() => requireOperationAllowed('GC', requireSupported('1.0.0'))), 1);
    assert.equal(code(() => requireOperationAllowed('STATUS', requireSupported('1.0.0'))), 1);
    requireOperationAllowed('CHECK', requireSupported('0.4.0'));
    requireOperationAllowed('GC', requireSupported('1.1.0'));
    assert.equal(code(() => requireSupported('1.0')), 6);
  });

  it('answers VERSION with the input version and everything supported', () => {
    assert.deepEqual(versionReply('0.4.0'), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    assert.equal(versionReply(undefined).cniVersion, '1.1.0');
  });
});

describe('results', () => {
  const result = parseResult({
    cniVersion: '1.1.0',
    interfaces: [{ name: 'cali1' }, { name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1400, sandbox: '/run/netns/p' }],
    ips: [{ address: '10.0.0.5/32', interface: 1 }, { address: 'fd00::5/128', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', scope: 0, mtu: 0 }],
    dns: { nameservers: ['10.0.0.10'] },
  });

  it('uses ips[].version before 1.0.0 and drops 1.1.0-only fields', () => {
    const old = formatResult(result, '0.3.1');
    assert.deepEqual(old.ips, [
      { version: '4', interface: 1, address: '10.0.0.5/32' },
      { version: '6', interface: 1, address: 'fd00::5/128' },
    ]);
    assert.deepEqual(old.interfaces, [{ name: 'cali1' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/p' }]);
    assert.deepEqual(old.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    assert.equal(old.cniVersion, '0.3.1');
    const v1 = formatResult(result, '1.0.0');
    assert.deepEqual(v1.ips, [{ interface: 1, address: '10.0.0.5/32' }, { interface: 1, address: 'fd00::5/128' }]);
    assert.equal((v1.interfaces as { mtu?: number }[])[1]!.mtu, undefined);
  });

  it('keeps the 1.1.0 fields in 1.1.0', () => {
    const v11 = formatResult(result, '1.1.0');
    assert.equal((v11.interfaces as { mtu?: number }[])[1]!.mtu, 1400);
    assert.deepEqual(v11.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1', scope: 0 }]);
    assert.deepEqual(v11.dns, { nameservers: ['10.0.0.10'] });
  });

  it('reads a 0.4.0 prevResult and rejects a malformed one with code 6', () => {
    const r = parseResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.5/32' }] });
    assert.deepEqual(r.ips, [{ address: '10.0.0.5/32' }]);
    assert.equal(code(() => parseResult({ ips: [{ address: 'nope' }] })), 6);
    assert.equal(code(() => parseResult({ ips: [{ address: '10.0.0.5/32', interface: 3 }] })), 6);
    assert.equal(code(() => parseResult('x')), 6);
  });
});
