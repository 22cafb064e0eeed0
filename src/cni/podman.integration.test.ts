// A real container runtime on the `tabby` network: Debian's podman 4.3 with its CNI backend runs a
// container whose network comes from our conflist, our plugin executables and a real `tabby
// node`. The container gets an address from Tabby IPAM and a WorkloadEndpoint while it runs;
// both are gone after `podman rm`.
//
// Podman creates container namespaces from the root namespace, so this agent runs there too; it
// programs only the veth it creates (and its host route), in a test-only pool (10.199.77.0/26).
// Podman itself is fully isolated: its own storage root, run root, tmp dir, network config dir
// and containers.conf (CONTAINERS_CONF), a local image imported from a tarball holding a static
// busybox (no registry access). Everything is removed at the end: container, image, network
// config, storage, agent, etcd, WorkloadEndpoint, routes, and the agent's nftables table
// `inet tabby` (an agent enforces policy in the namespace it runs in; the test refuses to start
// when a table of that name is already in the root namespace, which would be a real node's).
// The agent's socket is not the default one here, and podman's cleanup process (which runs the
// DEL when a container stops) does not inherit our environment: the plugin finds the agent
// through the conflist's "tabby_socket", which is what this test relies on.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdDatastore } from '../datastore/index.js';
import { BlockAllocator } from '../ipam/index.js';
import { putPool } from '../testing/resources.js';
import { type EtcdFixture, startEtcd } from '../testing/etcd.js';
import { mustRun, runCommand } from './exec.js';
import { DIST } from './testing/test-node.js';
import { WEP_PREFIX } from './workload-endpoint.js';

const BUSYBOX = '/bin/busybox';
const IMAGE = 'localhost/tabby-test-busybox:latest';
const POOL = '10.199.77.0/26';

let dir: string;
let etcd: EtcdFixture;
let ds: EtcdDatastore;
let agent: ChildProcess | undefined;
let agentLog = '';

const podmanArgs = (): string[] => [
  '--root', join(dir, 'root'),
  '--runroot', join(dir, 'runroot'),
  '--tmpdir', join(dir, 'libpod'),
  '--storage-driver', 'vfs',
  '--runtime', 'runc',
  '--cgroup-manager=cgroupfs',
  '--events-backend', 'none',
  '--network-backend', 'cni',
  '--network-config-dir', join(dir, 'net.d'),
];

function podman(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', [...podmanArgs(), ...args], { env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function mustPodman(args: string[]): Promise<string> {
  const r = await podman(args);
  assert.equal(r.code, 0, `podman ${args.join(' ')}: ${r.stderr}\nagent log:\n${agentLog.slice(-3000)}`);
  return r.stdout;
}

let madePolicyTable = false;

before(async () => {
  const table = await runCommand(['nft', 'list', 'table', 'inet', 'tabby']);
  assert.notEqual(table.code, 0, 'table inet tabby already exists in the root namespace (a tabby node on this host?): this test runs its own node there and would share it');
  madePolicyTable = true;
  assert.ok(existsSync(BUSYBOX), `${BUSYBOX} is missing: install Debian's busybox-static (scripts/install-deps.sh does)`);
  dir = mkdtempSync(join(tmpdir(), 'tabby-podman-'));
  etcd = await startEtcd();
  ds = new EtcdDatastore({ endpoints: etcd.endpoints });
  await putPool(ds, 'podman-test-pool', { cidr: POOL, blockSize: 28, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()', allowedUses: ['Workload'], assignmentMode: 'Automatic' });

  for (const d of ['bin', 'net.d', 'state', 'img/bin']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(
    join(dir, 'containers.conf'),
    `[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["${join(dir, 'bin')}", "/usr/lib/cni"]\nnetwork_config_dir = "${join(dir, 'net.d')}"\n[engine]\nevents_logger = "none"\n`,
  );

  // `tabby node` in the root namespace, confined to the test's directories.
  agent = spawn(
    process.execPath,
    [
      join(DIST, 'src', 'tabby', 'main.js'), 'node',
      '--nodename', 'podman-test-node',
      '--ip', '198.18.254.1/32',
      '--etcd-endpoints', etcd.endpoints.join(','),
      '--cni-network-name', 'tabby',
      '--cni-conf-dir', join(dir, 'net.d'),
      '--cni-bin-dir', join(dir, 'bin'),
      '--cni-socket', join(dir, 'cni.sock'),
      '--state-dir', join(dir, 'state'),
      '--health-port', '0',
    ],
    { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent.stdout!.on('data', (c: Buffer) => (agentLog += c.toString()));
  agent.stderr!.on('data', (c: Buffer) => (agentLog += c.toString()));
  for (let i = 0; !agentLog.includes('dataplane agent ready to serve CNI'); i++) {
    if (i > 300 || agent.exitCode !== null) throw new Error(`tabby node did not start:\n${agentLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // A local image: a tarball with a static busybox, imported.
  mkdirSync(join(dir, 'img', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'img', 'bin', 'busybox'), readFileSync(BUSYBOX), { mode: 0o755 });
  await mustRun(['tar', '-C', join(dir, 'img'), '-cf', join(dir, 'img.tar'), '.']);
  await mustPodman(['import', join(dir, 'img.tar'), IMAGE]);
});

after(async () => {
  if (dir) {
    await podman(['rm', '-f', '-a']);
    await podman(['rmi', '-f', '-a']);
  }
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
  }
  // Should a DEL have gone missing (a failed run), remove what the agent made in the root
  // namespace for this test: host links routed to the test-only pool.
  const left = await runCommand(['ip', '-j', 'route', 'show', 'root', POOL]);
  for (const r of JSON.parse(left.stdout || '[]') as { dev?: string }[]) {
    if (r.dev?.startsWith('cali')) await runCommand(['ip', 'link', 'del', r.dev]);
  }
  if (madePolicyTable) await runCommand(['nft', 'delete', 'table', 'inet', 'tabby']);
  await ds?.close();
  await etcd?.stop();
  if (dir) {
    await runCommand(['umount', '-R', join(dir, 'root')]);
    rmSync(dir, { recursive: true, force: true });
  }
});

async function weps(): Promise<{ spec: Record<string, unknown> }[]> {
  return (await ds.list(WEP_PREFIX)).items.map((i) => i.value as { spec: Record<string, unknown> });
}

describe('podman with its CNI backend on the tabby network', () => {
  it('gives a running container a Tabby address and WorkloadEndpoint, and removes both with the container', async () => {
    const networks = await mustPodman(['network', 'ls', '--format', '{{.Name}}']);
    assert.ok(networks.split('\n').includes('tabby'), `podman sees the tabby network: ${networks}`);

    const id = (await mustPodman(['run', '-d', '--name', 'tabby-podman-test', '--network', 'tabby', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', IMAGE, '/bin/busybox', 'sleep', '300'])).trim();
    const ip = (await mustPodman(['inspect', '--format', '{{(index .NetworkSettings.Networks "tabby").IPAddress}}', 'tabby-podman-test'])).trim();
    assert.match(ip, /^10\.199\.77\.\d+$/);
    const inside = await mustPodman(['exec', 'tabby-podman-test', '/bin/busybox', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.match(inside, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/32`));
    const routes = await mustPodman(['exec', 'tabby-podman-test', '/bin/busybox', 'ip', 'route']);
    assert.match(routes, /default via 169\.254\.1\.1 dev eth0/);

    const running = await weps();
    assert.equal(running.length, 1);
    const wep = running[0]!.spec;
    assert.equal(wep.containerID, id);
    assert.equal(wep.node, 'podman-test-node');
    assert.deepEqual(wep.ipNetworks, [`${ip}/32`]);
    const veth = wep.interfaceName as string;
    assert.match(veth, /^cali[0-9a-f]{11}$/);
    assert.match((await mustRun(['ip', 'route', 'show', `${ip}/32`])).stdout, new RegExp(`dev ${veth} scope link`));
    const ipam = new BlockAllocator(ds);
    assert.deepEqual(await ipam.addressesByHandle(`tabby.${id}`), [ip]);

    const rm = await mustPodman(['rm', '-f', 'tabby-podman-test']);
    assert.deepEqual(await weps(), [], `WorkloadEndpoint left after podman rm (${rm.trim()}); agent log:\n${agentLog.slice(-4000)}`);
    assert.deepEqual(await ipam.addressesByHandle(`tabby.${id}`), []);
    assert.equal((await mustRun(['ip', 'route', 'show', `${ip}/32`])).stdout.trim(), '');
    assert.equal((await runCommand(['ip', 'link', 'show', veth])).code, 1, `${veth} is gone`);
  });
});
