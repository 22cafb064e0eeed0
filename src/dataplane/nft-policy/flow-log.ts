// Denied-flow logs: the renderer puts a rate-limited `log group N prefix "tby:D:<digest>"` before
// every deny (rule, end of tier, no profile) and `tby:L:<digest>` on Calico Log rules;
// DeniedFlowLog runs tabby-nflog (src/dataplane/nft-policy/nflog, a small C reader of the NFLOG
// group over netlink) in the node's network namespace, maps each packet's prefix back to tier,
// policy and rule through the renderer (the same table's state), and hands out JSON-ready records.
//
// Lifecycle: start() resolves once the reader has bound the group (packets logged before that
// are not seen); stop() ends it. A reader that dies unexpectedly is reported through onError;
// the caller decides whether to start again. Prefixes the renderer no longer knows (a policy
// removed a moment before its last packet was read, or a foreign rule on the same group) are
// counted in `unknown` and not emitted.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { protocolName } from '../../policy/index.js';
import { LOG_PREFIX_HEAD } from './names.js';
import type { NftPolicyRenderer } from './renderer.js';

export interface DeniedFlowRecord {
  /** ISO 8601, when the reader received the packet. */
  readonly time: string;
  /** The policy's tier, `__PROFILE__` for a profile rule, null for an endpoint's own final drop. */
  readonly tier: string | null;
  /** Policy or profile ID (`knp/ns/name`, `gnp/name`, `pro/kns.ns`), null for end-of-tier and no-profile drops. */
  readonly policy: string | null;
  /** Rule index within the policy's ingress or egress rules, or `end-of-tier` / `no-profile-allowed` / `missing-profile`. */
  readonly rule: number | string;
  readonly direction: 'ingress' | 'egress';
  /** deny: the packet was dropped; log: a Calico Log rule matched (the packet went on). */
  readonly action: 'deny' | 'log';
  readonly src: string;
  readonly dst: string;
  /** TCP, UDP, ICMP, … (protocolName), or the number. */
  readonly proto: string;
  readonly sport?: number;
  readonly dport?: number;
  /** The endpoint's interface: the pod's cali… for workloads, the host interface for host endpoints. */
  readonly iface: string;
  readonly inIface?: string;
  readonly outIface?: string;
}

export interface DeniedFlowLogOptions {
  /** The renderer whose table logs (its NFLOG group, its prefixes). */
  readonly renderer: NftPolicyRenderer;
  readonly onRecord: (record: DeniedFlowRecord) => void;
  /** The reader died or printed something unexpected. */
  readonly onError?: (err: Error) => void;
  /** Run the reader in this named network namespace (`ip netns exec`); default: this process's. */
  readonly netns?: string;
  /** Path of tabby-nflog; default: found beside the running entry point (dist/bin). */
  readonly binary?: string;
}

export class FlowLogError extends Error {
  override readonly name = 'FlowLogError';
}

/** dist/bin/tabby-nflog as seen from the running entry point (bundle in dist/bin, or dist/src/…). */
export function findNflogBinary(entry: string = process.argv[1] ?? ''): string | undefined {
  const here = dirname(entry);
  for (const dir of [here, join(here, '..', '..', 'bin'), join(here, '..', 'bin')]) {
    const p = join(dir, 'tabby-nflog');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** One `pkt` line of tabby-nflog → a record, or undefined when the prefix is not one of ours / unknown. */
export function parseReaderLine(line: string, renderer: Pick<NftPolicyRenderer, 'logEntry'>): DeniedFlowRecord | 'unknown' | undefined {
  const f = line.split('\t');
  if (f[0] !== 'pkt' || f.length < 11) return undefined;
  const [, prefix, inIf, outIf, , proto, src, dst, sport, dport, ms] = f as [string, string, string, string, string, string, string, string, string, string, string];
  if (!prefix.startsWith(LOG_PREFIX_HEAD)) return 'unknown';
  const entry = renderer.logEntry(prefix);
  if (entry === undefined) return 'unknown';
  const inIface = inIf === '-' ? undefined : inIf;
  const outIface = outIf === '-' ? undefined : outIf;
  const isWorkload = (i: string | undefined): boolean => i !== undefined && i.startsWith('cali');
  // Ingress to a pod leaves by its cali… (out); a host endpoint's ingress arrives on it (in).
  const iface = entry.direction === 'ingress' ? (isWorkload(outIface) ? outIface : (inIface ?? outIface)) : isWorkload(inIface) ? inIface : (outIface ?? inIface);
  const protoNum = Number(proto);
  return {
    time: new Date(Number(ms)).toISOString(),
    tier: entry.tier,
    policy: entry.policy,
    rule: entry.rule,
    direction: entry.direction,
    action: entry.action,
    src,
    dst,
    proto: protoNum >= 0 ? protocolName(protoNum) : '?',
    ...(sport === '-' ? {} : { sport: Number(sport) }),
    ...(dport === '-' ? {} : { dport: Number(dport) }),
    iface: iface ?? '-',
    ...(inIface === undefined ? {} : { inIface }),
    ...(outIface === undefined ? {} : { outIface }),
  };
}

export class DeniedFlowLog {
  private proc: ChildProcess | undefined;
  private stopping = false;
  /** Records emitted. */
  records = 0;
  /** Packets whose prefix the renderer does not know (not emitted). */
  unknown = 0;
  /** Times the kernel reported dropped log messages (the reader's socket was full). */
  lost = 0;

  constructor(private readonly options: DeniedFlowLogOptions) {}

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Starts the reader; resolves once it has bound the renderer's NFLOG group. */
  start(): Promise<void> {
    if (this.proc !== undefined) return Promise.resolve();
    const binary = this.options.binary ?? findNflogBinary();
    if (binary === undefined) return Promise.reject(new FlowLogError('tabby-nflog not found beside the entry point (dist/bin): run make build, or pass binary'));
    const args = ['--group', String(this.options.renderer.nflogGroup)];
    const [cmd, argv] = this.options.netns === undefined ? [binary, args] : ['ip', ['netns', 'exec', this.options.netns, binary, ...args]];
    this.stopping = false;
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      let pending = '';
      proc.stdout!.on('data', (d: Buffer) => {
        pending += d.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!ready && line.startsWith('ready\t')) {
            ready = true;
            resolve();
          } else this.line(line);
        }
      });
      proc.on('error', (err) => {
        this.proc = undefined;
        const e = new FlowLogError(`cannot run ${cmd}: ${err.message}`);
        if (!ready) reject(e);
        else this.options.onError?.(e);
      });
      proc.on('exit', (code, signal) => {
        this.proc = undefined;
        const e = new FlowLogError(`tabby-nflog (group ${this.options.renderer.nflogGroup}${this.options.netns === undefined ? '' : `, netns ${this.options.netns}`}) exited ${signal ?? `with code ${code}`}: ${stderr.trim() || 'no message'}`);
        if (!ready) reject(e);
        else if (!this.stopping) this.options.onError?.(e);
      });
    });
  }

  private line(line: string): void {
    if (line === '') return;
    if (line.startsWith('lost\t')) {
      this.lost++;
      return;
    }
    const r = parseReaderLine(line, this.options.renderer);
    if (r === 'unknown') this.unknown++;
    else if (r !== undefined) {
      this.records++;
      this.options.onRecord(r);
    } else this.options.onError?.(new FlowLogError(`tabby-nflog printed an unexpected line: ${JSON.stringify(line.slice(0, 200))}`));
  }

  /** Stops the reader (no-op when not running); resolves once it has exited. */
  stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return Promise.resolve();
    this.stopping = true;
    return new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }
}
