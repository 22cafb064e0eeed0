// Kernel FIB sync for learned routes: desired state (the Loc-RIB's best learned paths) → diff
// against what we installed → one `ip -force -batch -` run → periodic full resync that reads
// the table back. Every route we install carries route protocol 81 (`tabby-bgp`); we list and
// remove only protocol-81 routes, in the one table we were given, so nothing else is touched.
//
// Invariants: one apply runs at a time; changes arriving meanwhile wait for the next one.
// `installed` mirrors the kernel as of the last apply/resync; a failed line is retried on the
// next resync (the listing shows it missing).

import { spawn } from 'node:child_process';
import { type CIDR, formatCIDR, formatIP, type IPAddr } from '../../ip/index.js';
import type { Logger } from '../../util/log.js';

export const BGP_ROUTE_PROTOCOL = 81;
/** Our routes' metric (BIRD's kernel protocol default). `ip route replace` matches on prefix and
 *  metric, so a metric of our own keeps us from replacing a connected or another owner's route
 *  for the same prefix; the lower metric (connected routes: 0) keeps winning. */
export const BGP_ROUTE_METRIC = 32;

export interface KernelRoute {
  readonly prefix: CIDR;
  readonly via: IPAddr;
}

const routeKey = (p: CIDR): string => formatCIDR(p);
const lineFor = (table: number, r: KernelRoute): string =>
  `route replace ${formatCIDR(r.prefix)} via ${formatIP(r.via)} proto ${BGP_ROUTE_PROTOCOL} metric ${BGP_ROUTE_METRIC} table ${table}`;

export function runIp(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => {}); // ip exited before reading everything: its status says why
    child.stdin.end(input ?? '');
  });
}

export class KernelRoutes {
  private readonly desired = new Map<string, KernelRoute>();
  private installed = new Map<string, string>();
  private applying: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** While true (graceful restart of this speaker), nothing is removed: old routes stay until the RIB is complete. */
  holdRemovals = false;
  applies = 0;
  failures = 0;

  constructor(private readonly table: number, private readonly log: Logger, private readonly resyncSeconds: number) {}

  /** Reads what protocol-81 routes the table holds (from a previous run, say). */
  async start(): Promise<number> {
    await this.readBack();
    this.resyncTimer = setInterval(() => void this.resync(), this.resyncSeconds * 1000);
    this.resyncTimer.unref();
    return this.installed.size;
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.resyncTimer);
  }

  set(prefix: CIDR, via: IPAddr | undefined): void {
    const k = routeKey(prefix);
    if (via) this.desired.set(k, { prefix, via });
    else this.desired.delete(k);
    this.schedule();
  }

  get installedCount(): number {
    return this.installed.size;
  }

  schedule(delayMs = 50): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.apply();
    }, delayMs);
  }

  /** Diff desired against installed and apply the difference in one batch. */
  async apply(): Promise<void> {
    if (this.applying) {
      this.again = true;
      return this.applying;
    }
    this.applying = this.applyOnce().finally(() => {
      this.applying = undefined;
      if (this.again) {
        this.again = false;
        this.schedule(0);
      }
    });
    return this.applying;
  }

  /** Withdraw everything we installed (shutdown without graceful restart). */
  async removeAll(): Promise<void> {
    this.desired.clear();
    this.holdRemovals = false;
    await this.apply();
  }

  private async applyOnce(): Promise<void> {
    const lines: string[] = [];
    const next = new Map<string, string>();
    for (const [k, r] of this.desired) {
      const line = lineFor(this.table, r);
      next.set(k, line);
      if (this.installed.get(k) !== line) lines.push(line);
    }
    for (const [k, line] of this.installed) {
      if (next.has(k)) continue;
      if (this.holdRemovals) next.set(k, line);
      else lines.push(`route del ${k} proto ${BGP_ROUTE_PROTOCOL} metric ${BGP_ROUTE_METRIC} table ${this.table}`);
    }
    if (lines.length === 0) return;
    this.applies++;
    const r = await runIp(['-force', '-batch', '-'], lines.join('\n') + '\n');
    if (r.code !== 0) {
      this.failures++;
      this.log.warn('some kernel route changes failed; the next resync retries them', { table: this.table, lines: lines.length, stderr: r.stderr.trim().slice(0, 2000) });
      await this.readBack();
    } else this.installed = next;
  }

  /** Full pass: read the table back, then apply the diff. */
  async resync(): Promise<void> {
    try {
      await this.readBack();
      await this.apply();
    } catch (e) {
      this.log.warn('kernel route resync failed', { error: e as Error });
    }
  }

  private async readBack(): Promise<void> {
    const seen = new Map<string, string>();
    for (const fam of ['-4', '-6']) {
      const r = await runIp(['-j', fam, 'route', 'show', 'table', String(this.table), 'proto', String(BGP_ROUTE_PROTOCOL)]);
      if (r.code !== 0) throw new Error(`ip route show table ${this.table} failed: ${r.stderr.trim()}`);
      const rows = JSON.parse(r.stdout || '[]') as { dst: string; gateway?: string; metric?: number }[];
      for (const row of rows) {
        if ((row.metric ?? 0) !== BGP_ROUTE_METRIC) {
          // Ours by protocol but not by metric (an older run, a hand-made route): still ours to remove.
          await runIp(['route', 'del', row.dst, 'proto', String(BGP_ROUTE_PROTOCOL), 'metric', String(row.metric ?? 0), 'table', String(this.table)]);
          continue;
        }
        const dst = row.dst.includes('/') ? row.dst : `${row.dst}/${fam === '-4' ? 32 : 128}`;
        const want = this.desired.get(dst);
        // Reconstruct the line we would have written, so a matching route counts as installed.
        seen.set(dst, row.gateway ? `route replace ${dst} via ${row.gateway} proto ${BGP_ROUTE_PROTOCOL} metric ${BGP_ROUTE_METRIC} table ${this.table}` : `?${dst}`);
        if (want && formatIP(want.via) !== row.gateway) seen.set(dst, `?${dst}`);
      }
    }
    this.installed = seen;
  }
}
