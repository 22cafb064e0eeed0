// Integration: the full mesh signed with TCP-MD5 from BGPConfiguration's nodeMeshPassword, the
// password read from the secret's file on each node (TABBY_BGP_SECRETS_DIR, here the node's
// /var/lib/tabby/bgp-secrets), live: setting the password restarts the mesh sessions signed; a
// node whose secret holds another password never establishes (the other node's kernel counts the
// bad signatures); fixing the file brings the session back without touching the datastore, and
// pods reach each other across the nodes again. Needs root and a `make build`.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labDown } from './down.js';
import { podYaml as pod, tabbyOk } from './testing.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LAB = 'tbmd5';
const ok = (args: string[]) => tabbyOk(args, 300_000);

type Status = { peers: { name: string; state: string; lastError: string }[]; refused: { name: string; reason: string }[] };

async function until<T>(get: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined && check(v)) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('BGP in the cluster: the mesh signed with TCP-MD5 (nodeMeshPassword from a secret file)', { timeout: 600_000 }, () => {
  let workdir = '';
  const exec = (target: string, ...argv: string[]) => ok(['lab', 'exec', '--name', LAB, target, '--', ...argv]);
  const status = async (node: string) => JSON.parse(await exec(node, process.execPath, join(repo, 'dist/bin/tabby.cjs'), 'bgp', 'status', '-o', 'json')) as Status;
  const mesh4 = (s: Status) => s.peers.find((p) => p.name === 'Mesh_198_18_0_12' || p.name === 'Mesh_198_18_0_11');
  const secretFile = (node: string) => `/run/tabby/lab/${LAB}/nodes/${node}/var-lib-tabby/bgp-secrets/bgp-mesh/password`;
  const writeSecret = (node: string, text: string) => {
    mkdirSync(dirname(secretFile(node)), { recursive: true });
    writeFileSync(secretFile(node), text);
  };
  const md5Failures = async (node: string) => {
    const lines = (await exec(node, 'cat', '/proc/net/netstat')).split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0]!.split(/\s+/);
    return Number(lines[1]!.split(/\s+/)[names.indexOf('TCPMD5Failure')]);
  };
  const reach = async () => {
    const m = JSON.parse(await ok(['lab', 'probe', '--name', LAB, '-o', 'json'])) as { matrix: boolean[][] };
    return m.matrix.every((row) => row.every(Boolean));
  };

  before(async () => {
    await labDown(LAB);
    workdir = mkdtempSync(join(tmpdir(), `tb-${LAB}-`));
    writeFileSync(join(workdir, 'pods.yaml'), pod('p1', 'node-1') + pod('p2', 'node-2'));
    await ok(['lab', 'up', '--name', LAB, '--nodes', '2', '--encapsulation', 'None', '-f', join(workdir, 'pods.yaml')]);
  });
  after(async () => {
    await labDown(LAB);
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('nodeMeshPassword: the mesh comes back signed; a node with another password never establishes; fixing its file heals it', async () => {
    await until(() => status('node-1'), (s) => mesh4(s)?.state === 'Established');
    writeSecret('node-1', 'mesh-pw-1');
    writeSecret('node-2', 'mesh-pw-1');
    writeFileSync(join(workdir, 'cfg.yaml'), `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeMeshPassword: {secretKeyRef: {name: bgp-mesh, key: password}}}
`);
    await ok(['lab', 'apply', '--name', LAB, '-f', join(workdir, 'cfg.yaml')]);
    await until(() => status('node-1'), (s) => mesh4(s)?.state === 'Established' && s.refused.length === 0);
    await until(reach, Boolean);

    // node-2's secret now holds another password: its sessions restart with it and fail.
    const before = await md5Failures('node-1');
    writeSecret('node-2', 'mesh-pw-2');
    await until(() => md5Failures('node-1'), (n) => n > before);
    const s1 = await status('node-1');
    const s2 = await status('node-2');
    process.stdout.write(`# node-1's namespace TCPMD5Failure ${before} → ${await md5Failures('node-1')}\n`);
    assert.notEqual(mesh4(s1)?.state, 'Established');
    assert.notEqual(mesh4(s2)?.state, 'Established');
    for (const node of ['node-1', 'node-2']) {
      const log = readFileSync(`/run/tabby/lab/${LAB}/nodes/${node}/tabby-node.log`, 'utf8');
      assert.ok(!log.includes('mesh-pw-'), `${node}'s log never shows the password`);
    }
    assert.ok(!JSON.stringify(s1).includes('mesh-pw-') && !JSON.stringify(s2).includes('mesh-pw-'), 'status never shows the password');

    // Fixed on disk only: the file check renders again and the session comes back.
    writeSecret('node-2', 'mesh-pw-1');
    await until(() => status('node-2'), (s) => mesh4(s)?.state === 'Established');
    await until(reach, Boolean);

    // A secret that is not there: the peering is refused with the reason, never run unsigned.
    rmSync(secretFile('node-2'));
    const refused = await until(() => status('node-2'), (s) => s.refused.some((r) => r.name === 'Mesh_198_18_0_11'));
    assert.match(refused.refused.find((r) => r.name === 'Mesh_198_18_0_11')!.reason, /password secret bgp-mesh key password cannot be read: .*ENOENT/);
  });
});
