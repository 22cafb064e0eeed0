// Test and bench support (root only): a "node" network namespace with `cali…` veth pairs to pod
// namespaces, wired as Tabby's CNI wires them (pod /32, 169.254.1.1 gateway, proxy ARP, host
// /32 route dev cali… scope link), tabby-probe servers in the pods, and probes between them.
// Everything is named with the caller's prefix and removed by `destroy()`, also after failures.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** dist/bin/<name> (tabby-probe, tabby-nflog), built by `make build`. */
export function distBinary(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'bin', name);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(`${name} not found under dist/bin: run make build`);
}

export const probeBinary = (): string => distBinary('tabby-probe');

export interface TestPod {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly iface: string;
}

export class Testbed {
  readonly node: string;
  readonly pods: TestPod[] = [];
  private readonly servers: ChildProcess[] = [];
  private readonly others: string[] = [];

  constructor(readonly prefix: string) {
    this.node = `${prefix}n`;
    ip('netns', 'add', this.node);
    try {
      this.wireNode();
    } catch (err) {
      tryIp('netns', 'del', this.node);
      throw err;
    }
  }

  private wireNode(): void {
    ip('-n', this.node, 'link', 'set', 'lo', 'up');
    execFileSync('ip', ['netns', 'exec', this.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // A real node has a default route; proxy ARP for the pods' 169.254.1.1 gateway needs one.
    ip('-n', this.node, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink1');
    ip('-n', this.node, 'link', 'set', 'uplink1', 'up');
    ip('-n', this.node, 'link', 'set', 'uplink', 'up');
    ip('-n', this.node, 'route', 'add', 'default', 'dev', 'uplink');
  }

  /** A pod namespace joined to the node by `iface` (a cali… name), with `podIp`/32. */
  addPod(name: string, podIp: string, iface: string): TestPod {
    const netns = `${this.prefix}${this.pods.length}`;
    ip('netns', 'add', netns);
    const pod = { name, netns, ip: podIp, iface };
    this.pods.push(pod);
    ip('-n', this.node, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    ip('-n', this.node, 'link', 'set', iface, 'up');
    execFileSync('ip', ['netns', 'exec', this.node, 'sysctl', '-qw', `net.ipv4.conf.${iface}.proxy_arp=1`, `net.ipv4.neigh.${iface}.proxy_delay=0`, `net.ipv4.conf.${iface}.forwarding=1`]);
    ip('-n', this.node, 'route', 'add', `${podIp}/32`, 'dev', iface, 'scope', 'link');
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    ip('-n', netns, 'link', 'set', 'eth0', 'up');
    ip('-n', netns, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0');
    ip('-n', netns, 'route', 'add', '169.254.1.1/32', 'dev', 'eth0', 'scope', 'link');
    ip('-n', netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
    return pod;
  }

  /**
   * A host interface `iface` of the node (address `nodeIp`/24) to an "outside" namespace
   * (`outsideIp`/24, default route via the node): traffic arriving on a host endpoint.
   * Returns the outside peer (probe from it) and the node's side (probe from the node).
   */
  addOutside(iface: string, nodeIp: string, outsideIp: string): { outside: TestPod; node: TestPod } {
    const netns = `${this.prefix}x${this.others.length}`;
    ip('netns', 'add', netns);
    this.others.push(netns);
    ip('-n', this.node, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    ip('-n', this.node, 'addr', 'add', `${nodeIp}/24`, 'dev', iface);
    ip('-n', this.node, 'link', 'set', iface, 'up');
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    ip('-n', netns, 'addr', 'add', `${outsideIp}/24`, 'dev', 'eth0');
    ip('-n', netns, 'link', 'set', 'eth0', 'up');
    ip('-n', netns, 'route', 'add', 'default', 'via', nodeIp);
    return { outside: { name: 'outside', netns, ip: outsideIp, iface: 'eth0' }, node: { name: 'node', netns: this.node, ip: nodeIp, iface } };
  }

  /** `tabby-probe serve` in one namespace on these ports; resolves once it is ready. */
  serveIn(netns: string, tcp: readonly number[], udp: readonly number[] = []): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const args = [...tcp.flatMap((p) => ['--tcp', String(p)]), ...udp.flatMap((p) => ['--udp', String(p)])];
      const s = spawn('ip', ['netns', 'exec', netns, probeBinary(), 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      this.servers.push(s);
      s.on('error', reject);
      s.stdout!.once('data', () => resolve());
    });
  }

  /** Starts `tabby-probe serve` in every pod (TCP and UDP ports) and waits for each "ready". */
  async serve(tcp: number, udp: number): Promise<void> {
    await Promise.all(
      this.pods.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            const s = spawn('ip', ['netns', 'exec', p.netns, probeBinary(), 'serve', '--tcp', String(tcp), '--udp', String(udp)], { stdio: ['ignore', 'pipe', 'inherit'] });
            this.servers.push(s);
            s.on('error', reject);
            s.stdout!.once('data', () => resolve());
          }),
      ),
    );
  }

  /** From `src`, one line per target ("ok" or "fail …"): targets like tcp:IP:PORT. */
  probe(src: TestPod, targets: readonly string[], timeoutMs = 500): boolean[] {
    const out = execFileSync('ip', ['netns', 'exec', src.netns, probeBinary(), 'connect', '--timeout-ms', String(timeoutMs), ...targets], { encoding: 'utf8' });
    return out.trim().split('\n').map((l) => l === 'ok');
  }

  destroy(): void {
    for (const s of this.servers) s.kill('SIGTERM');
    for (const p of this.pods) tryIp('netns', 'del', p.netns);
    for (const n of this.others) tryIp('netns', 'del', n);
    tryIp('netns', 'del', this.node);
  }
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}
