// CNI ADD and DEL latency: Tabby's plugin (C shim → agent: IPAM in etcd, veth, routes,
// WorkloadEndpoint) against Debian's reference plugins (`bridge` + `host-local`, /usr/lib/cni),
// measured in the same run, in the same kind of setup: each plugin's node is a network namespace
// made here, every pod gets a fresh namespace, and each call is one exec of the plugin binary
// under `nsenter --net=<node>` with the real CNI environment, timed from spawn to exit.
// Sequential (one call at a time) and 20 at a time. Final line: our sequential ADD p50 against the
// reference's (goal: ratio ≤ 1.5).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../src/cni/exec.js';
import { type TestNode, type TestPod, createTestNode, uniqueName } from '../src/cni/testing/test-node.js';

const SEQUENTIAL = 30;
const CONCURRENT = 20;
const WAVES = 2;

interface Plugin {
  readonly name: string;
  readonly nodeNetns: string;
  readonly exe: string;
  readonly env: Record<string, string>;
  readonly conf: string;
  readonly args: (i: number) => string;
}

function exec(p: Plugin, command: string, pod: TestPod, cid: string, i: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/run/netns/${p.nodeNetns}`, p.exe], {
      env: { PATH: process.env.PATH, ...p.env, CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: pod.netns, CNI_IFNAME: 'eth0', CNI_ARGS: p.args(i) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${p.name} ${command} ${cid} exited ${code}: ${out}`));
      else resolve(ms);
    });
    child.stdin.end(p.conf);
  });
}

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))]!;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

interface Figures {
  addSeq: number[];
  delSeq: number[];
  addConc: number[];
  delConc: number[];
}

async function makePods(node: TestNode, n: number): Promise<TestPod[]> {
  return Promise.all(Array.from({ length: n }, () => node.addPod('b')));
}

async function measure(p: Plugin, node: TestNode, tag: string): Promise<Figures> {
  const f: Figures = { addSeq: [], delSeq: [], addConc: [], delConc: [] };
  // Warm-up: first ADD claims an IPAM block (ours) or creates the bridge (reference).
  const warm = await makePods(node, 3);
  for (const [i, pod] of warm.entries()) await exec(p, 'ADD', pod, `${tag}w${i}`, 1000 + i);
  for (const [i, pod] of warm.entries()) await exec(p, 'DEL', pod, `${tag}w${i}`, 1000 + i);
  for (const pod of warm) await node.removePod(pod);

  const seq = await makePods(node, SEQUENTIAL);
  for (const [i, pod] of seq.entries()) f.addSeq.push(await exec(p, 'ADD', pod, `${tag}s${i}`, i));
  for (const [i, pod] of seq.entries()) f.delSeq.push(await exec(p, 'DEL', pod, `${tag}s${i}`, i));
  for (const pod of seq) await node.removePod(pod);

  for (let w = 0; w < WAVES; w++) {
    const pods = await makePods(node, CONCURRENT);
    f.addConc.push(...(await Promise.all(pods.map((pod, i) => exec(p, 'ADD', pod, `${tag}c${w}x${i}`, 100 + w * CONCURRENT + i)))));
    f.delConc.push(...(await Promise.all(pods.map((pod, i) => exec(p, 'DEL', pod, `${tag}c${w}x${i}`, 100 + w * CONCURRENT + i)))));
    for (const pod of pods) await node.removePod(pod);
  }
  return f;
}

function report(name: string, f: Figures): void {
  const line = (what: string, xs: number[]) => `  ${what.padEnd(22)} p50 ${r2(pct(xs, 50)).toFixed(2).padStart(7)} ms   p99 ${r2(pct(xs, 99)).toFixed(2).padStart(7)} ms   (n=${xs.length})`;
  console.log(`${name}:`);
  console.log(line('ADD sequential', f.addSeq));
  console.log(line('DEL sequential', f.delSeq));
  console.log(line(`ADD ${CONCURRENT} at a time`, f.addConc));
  console.log(line(`DEL ${CONCURRENT} at a time`, f.delConc));
}

async function main(): Promise<void> {
  const ours = await createTestNode({ nodename: 'bench-node', etcdInNode: true });
  // The reference runs in a node namespace of the same make (its own etcd-less twin).
  const refNetns = uniqueName('ref');
  const refDir = mkdtempSync(join(tmpdir(), 'tabby-cni-bench-'));
  try {
    await ours.startAgent();
    await runCommand(['ip', 'netns', 'add', refNetns]);
    await runCommand(['ip', '-n', refNetns, 'link', 'set', 'lo', 'up']);
    await runCommand(['ip', 'netns', 'exec', refNetns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);

    const tabby: Plugin = {
      name: 'tabby (shim → agent, etcd)',
      nodeNetns: ours.netnsName,
      exe: join(ours.binDir, 'tabby'),
      env: { CNI_PATH: ours.binDir, TABBY_CNI_SOCKET: ours.socket },
      conf: JSON.stringify(ours.conf()),
      args: (i) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${i}`,
    };
    const reference: Plugin = {
      name: 'reference bridge + host-local',
      nodeNetns: refNetns,
      exe: '/usr/lib/cni/bridge',
      env: { CNI_PATH: '/usr/lib/cni' },
      conf: JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bench-ref',
        type: 'bridge',
        bridge: 'cni-bench0',
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16' }]], dataDir: join(refDir, 'host-local') },
      }),
      args: (i) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${i}`,
    };
    // Alternate the two so that load from anything else on the machine falls on both alike.
    const refNode = { addPod: (l: string) => ours.addPod(l), removePod: (p: TestPod) => ours.removePod(p) } as TestNode;
    const a1 = await measure(tabby, ours, 't');
    const b1 = await measure(reference, refNode, 'r');
    const a2 = await measure(tabby, ours, 'u');
    const b2 = await measure(reference, refNode, 's');
    const merge = (x: Figures, y: Figures): Figures => ({
      addSeq: [...x.addSeq, ...y.addSeq],
      delSeq: [...x.delSeq, ...y.delSeq],
      addConc: [...x.addConc, ...y.addConc],
      delConc: [...x.delConc, ...y.delConc],
    });
    const t = merge(a1, a2);
    const r = merge(b1, b2);
    report(tabby.name, t);
    report(reference.name, r);
    const ratios = {
      addSeqP50: r2(pct(t.addSeq, 50) / pct(r.addSeq, 50)),
      delSeqP50: r2(pct(t.delSeq, 50) / pct(r.delSeq, 50)),
      addConcP50: r2(pct(t.addConc, 50) / pct(r.addConc, 50)),
      delConcP50: r2(pct(t.delConc, 50) / pct(r.delConc, 50)),
    };
    console.log(`ratios tabby/reference (goal p50 ≤ 1.5): ${JSON.stringify(ratios)}`);
    console.log(
      JSON.stringify({
        bench: 'cni',
        metric: 'add_p50_sequential',
        value: r2(pct(t.addSeq, 50)),
        unit: 'ms',
        anchor: 'bridge+host-local',
        anchorValue: r2(pct(r.addSeq, 50)),
        ratio: ratios.addSeqP50,
      }),
    );
  } finally {
    await runCommand(['ip', 'netns', 'del', refNetns]);
    rmSync(refDir, { recursive: true, force: true });
    await ours.stop();
  }
}

await main();
