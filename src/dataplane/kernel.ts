// The kernel side of the route reconciler: reads what the kernel holds of ours (routes with
// protocol 80, permanent neighbours and FDB entries on the VXLAN devices, the devices, the NAT
// table's marker) and runs plans as batches: one `ip -force -batch`, one `bridge -force -batch`,
// one `nft -f`. `-force` keeps a batch going past a failed line; the failed lines are returned so
// the reconciler re-reads the kernel on its next pass instead of assuming they took. A delete
// whose target is already gone (deleted by hand since the reconciler last read the kernel) is not
// a failure: the kernel is as the line wanted it.
//
// Commands go through an injected runner (the agent's tabby-spawn, or a plain spawn in tests),
// optionally inside a named network namespace (tests and the benchmark).

import type { IPAddr } from '../ip/index.js';
import type { HostFacts } from './core/desired.js';
import { type ApplyPlan, type KernelState, ROUTE_PROTOCOL, hostFactsFrom, parseDevices, parseFdb, parseNeighbours, parseRoutes } from './core/kernel-state.js';
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
    // nsenter enters only the network namespace; `ip netns exec` also makes a mount namespace and
    // remounts /sys, which made this the slowest command of the start-up read.
    return this.run(this.netns ? ['nsenter', `--net=/run/netns/${this.netns}`, 'nft', ...args] : ['nft', ...args], input);
  }

  private async json(r: Promise<CommandResult>, what: string): Promise<unknown> {
    const res = await r;
    if (res.code !== 0) throw new KernelCommandError(`${what} failed (status ${res.code}): ${res.stderr.trim()}`);
    return res.stdout.trim() === '' ? [] : JSON.parse(res.stdout);
  }

  /**
   * Everything of ours the kernel holds now, and the links (for the facts about the underlay):
   * one `ip -d -j -batch` (IPv4 routes, neighbours, links with addresses and VXLAN details), one
   * `ip -6` route listing (a batch line cannot choose the family) and one `bridge -j fdb show`.
   */
  async read(): Promise<{ kernel: KernelState; links: unknown }> {
    const proto = String(ROUTE_PROTOCOL);
    const [batch, r6, fdb] = await Promise.all([
      this.ip(['-d', '-j', '-batch', '-'], `route show table main proto ${proto}\nneigh show nud permanent\naddr show\n`),
      this.json(this.ip(['-6', '-j', 'route', 'show', 'table', 'main', 'proto', proto]), 'ip -6 route show'),
      this.json(this.bridge(['-j', 'fdb', 'show']), 'bridge fdb show'),
    ]);
    const lines = batch.stdout.split('\n').filter((l) => l.trim() !== '');
    if (batch.code !== 0 || lines.length !== 3) throw new KernelCommandError(`ip -batch (routes, neighbours, addresses) failed (status ${batch.code}): ${batch.stderr.trim()}`);
    const [r4, neigh, links] = lines.map((l) => JSON.parse(l) as unknown) as [unknown, unknown, unknown];
    return {
      kernel: { routes: [...parseRoutes(r4, 4), ...parseRoutes(r6, 6)], neighbours: parseNeighbours(neigh), devices: parseDevices(links), fdb: parseFdb(fdb) },
      links,
    };
  }

  /** The interfaces holding these underlay addresses, with their MTUs. */
  async hostFacts(ipv4?: IPAddr, ipv6?: IPAddr): Promise<HostFacts> {
    return hostFactsFrom(await this.json(this.ip(['-j', 'addr', 'show']), 'ip addr show'), ipv4, ipv6);
  }

  /**
   * Runs a plan. When a device must be made (or remade) first, it goes at the head of the `ip`
   * batch and the FDB follows, since FDB entries need their device (and one process is saved on
   * a cold start). Otherwise the `bridge` batch (FDB) and the `ip` batch (neighbours, routes) run
   * at the same time: they touch different kernel tables, each takes the rtnl lock per line, and
   * no line of one batch can fail because of a line of the other (routes are onlink, a neighbour
   * needs only its device). The order only decides which packets in flight during the few
   * milliseconds of a batch find the path incomplete, and a packet to an entry being added had no
   * path before it either. Returns the lines that failed.
   */
  async apply(plan: ApplyPlan): Promise<FailedLine[]> {
    if (plan.deviceLines.length > 0) {
      const failed = await this.batch('ip', [...plan.deviceLines, ...plan.ipLines]);
      if (plan.fdbLines.length > 0) failed.push(...(await this.batch('bridge', plan.fdbLines)));
      return failed;
    }
    const [fdb, ip] = await Promise.all([
      plan.fdbLines.length > 0 ? this.batch('bridge', plan.fdbLines) : [],
      plan.ipLines.length > 0 ? this.batch('ip', plan.ipLines) : [],
    ]);
    return [...fdb, ...ip];
  }

  private async batch(tool: 'ip' | 'bridge', lines: readonly string[]): Promise<FailedLine[]> {
    const args = ['-force', '-batch', '-'];
    const r = await (tool === 'ip' ? this.ip(args, lines.join('\n') + '\n') : this.bridge(args, lines.join('\n') + '\n'));
    if (r.code === 0) return [];
    // iproute2 prints the error, then "Command failed -:<line>" for each failed line.
    const failed: FailedLine[] = [];
    let reported = 0;
    const errLines = r.stderr.split('\n');
    errLines.forEach((l, i) => {
      const m = /^Command failed -:(\d+)/.exec(l);
      if (!m) return;
      reported++;
      const f = { line: lines[Number(m[1]) - 1] ?? `line ${m[1]}`, error: (errLines[i - 1] ?? '').trim() };
      if (!alreadyGone(f)) failed.push(f);
    });
    // A failure without a line number (a tool that gave up on the whole batch) fails it all.
    if (reported === 0) return [{ line: `${tool} -batch (${lines.length} lines)`, error: r.stderr.trim() || `status ${r.code}` }];
    return failed;
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

/** A delete whose target was not there: the kernel is as the line wanted it (idempotent delete). */
function alreadyGone(f: FailedLine): boolean {
  return /^(route|fdb|link|addr) del /.test(f.line) && /No such process|No such file or directory|Cannot find device|Cannot assign requested address|FIB table does not exist/.test(f.error);
}
