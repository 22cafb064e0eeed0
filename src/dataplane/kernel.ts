// The kernel side of the route reconciler: reads what the kernel holds of ours (routes with
// protocol 80, permanent neighbours and FDB entries on the VXLAN devices, the devices, the NAT
// table's marker) and runs plans as batches: one `ip -force -batch`, one `bridge -force -batch`,
// one `nft -f`. `-force` keeps a batch going past a failed line; the failed lines are returned so
// the reconciler retries them on its next full resync instead of assuming they took.
//
// Commands go through an injected runner (the agent's tabby-spawn, or a plain spawn in tests),
// optionally inside a named network namespace (tests and the benchmark).

import type { IPAddr } from '../ip/index.js';
import { formatIP, tryParseIP } from '../ip/index.js';
import type { HostFacts } from './core/desired.js';
import { type ActualDevice, type ApplyPlan, type KernelState, OWNED_DEVICES, ROUTE_PROTOCOL, parseDevice, parseFdb, parseNeighbours, parseRoutes } from './core/kernel-state.js';
import { NAT_FAMILY, NAT_TABLE, parseNatComment } from './core/nat.js';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
export type CommandRunner = (argv: readonly string[], input?: string) => Promise<CommandResult>;

export class KernelCommandError extends Error {
  override readonly name = 'KernelCommandError';
  readonly code = 'KernelCommandFailed';
}

export interface FailedLine {
  readonly line: string;
  readonly error: string;
}

export class KernelDriver {
  constructor(
    private readonly run: CommandRunner,
    /** Run inside this network namespace (tests, benchmark); undefined = the current one. */
    readonly netns?: string,
  ) {}

  private ip(args: readonly string[], input?: string) {
    return this.run(this.netns ? ['ip', '-n', this.netns, ...args] : ['ip', ...args], input);
  }
  private bridge(args: readonly string[], input?: string) {
    return this.run(this.netns ? ['bridge', '-n', this.netns, ...args] : ['bridge', ...args], input);
  }
  private nft(args: readonly string[], input?: string) {
    return this.run(this.netns ? ['ip', 'netns', 'exec', this.netns, 'nft', ...args] : ['nft', ...args], input);
  }

  private async json(r: Promise<CommandResult>, what: string): Promise<unknown> {
    const res = await r;
    if (res.code !== 0) throw new KernelCommandError(`${what} failed (status ${res.code}): ${res.stderr.trim()}`);
    return res.stdout.trim() === '' ? [] : JSON.parse(res.stdout);
  }

  private async device(name: string): Promise<{ dev?: ActualDevice; fdb: KernelState['fdb'] }> {
    const r = await this.ip(['-j', '-d', 'addr', 'show', 'dev', name]);
    if (r.code !== 0) {
      if (/does not exist|Cannot find device/i.test(r.stderr)) return { fdb: [] };
      throw new KernelCommandError(`ip addr show dev ${name} failed: ${r.stderr.trim()}`);
    }
    const dev = parseDevice(JSON.parse(r.stdout));
    if (!dev) return { fdb: [] };
    return { dev, fdb: parseFdb(await this.json(this.bridge(['-j', 'fdb', 'show', 'dev', name]), `bridge fdb show dev ${name}`), name) };
  }

  /** Everything of ours the kernel holds now. */
  async read(): Promise<KernelState> {
    const proto = String(ROUTE_PROTOCOL);
    const [r4, r6, neigh, ...devs] = await Promise.all([
      this.json(this.ip(['-4', '-j', 'route', 'show', 'table', 'main', 'proto', proto]), 'ip route show'),
      this.json(this.ip(['-6', '-j', 'route', 'show', 'table', 'main', 'proto', proto]), 'ip -6 route show'),
      this.json(this.ip(['-j', 'neigh', 'show', 'nud', 'permanent']), 'ip neigh show'),
      ...OWNED_DEVICES.map((d) => this.device(d)),
    ]);
    return {
      routes: [...parseRoutes(r4, 4), ...parseRoutes(r6, 6)],
      neighbours: parseNeighbours(neigh),
      devices: devs.flatMap((d) => (d.dev ? [d.dev] : [])),
      fdb: devs.flatMap((d) => d.fdb),
    };
  }

  /** The interfaces holding these underlay addresses, with their MTUs. */
  async hostFacts(ipv4?: IPAddr, ipv6?: IPAddr): Promise<HostFacts> {
    const links = (await this.json(this.ip(['-j', 'addr', 'show']), 'ip addr show')) as { ifname?: string; mtu?: number; addr_info?: { local?: string }[] }[];
    const find = (a?: IPAddr) => {
      if (!a) return undefined;
      const want = formatIP(a);
      const l = links.find((x) => (x.addr_info ?? []).some((i) => i.local !== undefined && tryParseIP(i.local) && formatIP(tryParseIP(i.local)!) === want));
      return l?.ifname && l.mtu ? { dev: l.ifname, mtu: l.mtu } : undefined;
    };
    const u4 = find(ipv4);
    const u6 = find(ipv6);
    return { ...(u4 ? { underlay4: u4 } : {}), ...(u6 ? { underlay6: u6 } : {}) };
  }

  /** Runs a plan: devices, then FDB, then neighbours and routes. Returns the lines that failed. */
  async apply(plan: ApplyPlan): Promise<FailedLine[]> {
    const failed: FailedLine[] = [];
    if (plan.deviceLines.length > 0) failed.push(...(await this.batch('ip', plan.deviceLines)));
    if (plan.fdbLines.length > 0) failed.push(...(await this.batch('bridge', plan.fdbLines)));
    if (plan.ipLines.length > 0) failed.push(...(await this.batch('ip', plan.ipLines)));
    return failed;
  }

  private async batch(tool: 'ip' | 'bridge', lines: readonly string[]): Promise<FailedLine[]> {
    const args = ['-force', '-batch', '-'];
    const r = await (tool === 'ip' ? this.ip(args, lines.join('\n') + '\n') : this.bridge(args, lines.join('\n') + '\n'));
    if (r.code === 0) return [];
    // iproute2 prints the error, then "Command failed -:<line>" for each failed line.
    const failed: FailedLine[] = [];
    const errLines = r.stderr.split('\n');
    errLines.forEach((l, i) => {
      const m = /^Command failed -:(\d+)/.exec(l);
      if (m) failed.push({ line: lines[Number(m[1]) - 1] ?? `line ${m[1]}`, error: (errLines[i - 1] ?? '').trim() });
    });
    return failed.length > 0 ? failed : [{ line: `${tool} -batch (${lines.length} lines)`, error: r.stderr.trim() || `status ${r.code}` }];
  }

  /** The marker comment of Tabby's NAT table ('' when the table is absent). */
  async natComment(): Promise<string> {
    const r = await this.nft(['list', 'table', NAT_FAMILY, NAT_TABLE]);
    if (r.code !== 0) {
      if (/No such file|does not exist/i.test(r.stderr)) return '';
      throw new KernelCommandError(`nft list table ${NAT_FAMILY} ${NAT_TABLE} failed: ${r.stderr.trim()}`);
    }
    return parseNatComment(r.stdout);
  }

  /** Runs one `nft -f` transaction. */
  async applyNat(script: string): Promise<void> {
    const r = await this.nft(['-f', '-'], script);
    if (r.code !== 0) throw new KernelCommandError(`nft -f (table ${NAT_FAMILY} ${NAT_TABLE}) failed: ${r.stderr.trim()}`);
  }
}
