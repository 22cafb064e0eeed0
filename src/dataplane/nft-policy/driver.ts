// The only part of the policy dataplane that touches the kernel: `nft -f -` per change (one
// atomic transaction each), `nft -j list table inet tabby` for start and drift checks (only our
// table, never the whole ruleset), and per-chain listings for counters.
//
// PolicyDataplane is the reconciler: desired (the renderer) → diff → one apply → periodic resync.
// The hot path (apply) never reads the kernel back.

import { spawn } from 'node:child_process';
import type { GraphEvent, OverlayAllow } from '../../policy/index.js';
import { TABLE, TABLE_REF } from './names.js';
import { parseListing, repairScript } from './reconcile.js';
import type { NftPolicyRenderer } from './renderer.js';

export class NftError extends Error {
  override readonly name = 'NftError';
}

export interface NftRunner {
  /** Runs nft with args, stdin; resolves stdout; rejects NftError with stderr. */
  run(args: readonly string[], stdin?: string): Promise<string>;
}

/** nft in this process's network namespace, or in a named one (`ip netns exec NAME nft`). */
export function nftRunner(opts: { netns?: string; nft?: string } = {}): NftRunner {
  const nft = opts.nft ?? 'nft';
  const [cmd, pre] = opts.netns === undefined ? [nft, []] : ['ip', ['netns', 'exec', opts.netns, nft]];
  return {
    run: (args, stdin) =>
      new Promise((resolve, reject) => {
        const p = spawn(cmd, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        p.stdout.on('data', (d: Buffer) => out.push(d));
        p.stderr.on('data', (d: Buffer) => err.push(d));
        p.on('error', (e) => reject(new NftError(`cannot run ${cmd}: ${e.message}`)));
        p.on('close', (code) => {
          if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
          else reject(new NftError(`nft ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8').trim().slice(0, 2000)}`));
        });
        p.stdin.on('error', () => undefined);
        p.stdin.end(stdin ?? '');
      }),
  };
}

export interface ApplyRecord {
  readonly kind: 'delta' | 'full' | 'repair';
  readonly script: string;
}

export interface RuleCounter {
  readonly chain: string;
  readonly comment: string;
  readonly packets: number;
  readonly bytes: number;
}

export class PolicyDataplane {
  /** Every script applied, newest last (tests inspect the transactions; bounded). */
  readonly applied: ApplyRecord[] = [];

  constructor(
    readonly renderer: NftPolicyRenderer,
    private readonly nft: NftRunner,
  ) {}

  private async exec(kind: ApplyRecord['kind'], script: string): Promise<void> {
    if (script === '') return;
    await this.nft.run(['-f', '-'], script);
    this.applied.push({ kind, script });
    if (this.applied.length > 100) this.applied.shift();
  }

  /** Reads only table inet tabby; undefined when it does not exist. */
  async listTable(): Promise<string | undefined> {
    try {
      return await this.nft.run(['-j', 'list', 'table', 'inet', TABLE]);
    } catch (err) {
      if (err instanceof NftError && /No such file or directory|does not exist/.test(err.message)) return undefined;
      throw err;
    }
  }

  /**
   * Start and drift check: compares the table with the desired state and applies only the
   * repair (nothing when the table is right: a restarted agent keeps enforcing, no flush).
   * Returns the script applied ("" for none).
   */
  async sync(): Promise<string> {
    const listing = await this.listTable();
    if (listing === undefined) {
      const script = this.renderer.fullScript();
      await this.exec('full', script);
      return script;
    }
    const script = repairScript(this.renderer.state, parseListing(listing));
    await this.exec('repair', script);
    return script;
  }

  /** One batch of graph events → one `nft -f` transaction with the delta. */
  async apply(events: readonly GraphEvent[]): Promise<string> {
    const { script } = this.renderer.apply(events);
    await this.exec('delta', script);
    return script;
  }

  /**
   * The host's interfaces and addresses changed (or were read for the first time): host
   * endpoints are resolved again; one transaction with what changed hands ("" for nothing).
   */
  async setHostInterfaces(interfaces: ReadonlyMap<string, readonly string[]>): Promise<string> {
    const { script } = this.renderer.setHostInterfaces(interfaces);
    await this.exec('delta', script);
    return script;
  }

  /** VXLAN between nodes ahead of host endpoint policy changed: one transaction ("" for nothing). */
  async setOverlay(overlay: OverlayAllow | undefined): Promise<string> {
    const { script } = this.renderer.setOverlay(overlay);
    await this.exec('delta', script);
    return script;
  }

  /** Per-rule counters of some chains (each listed alone, never the whole ruleset). */
  async counters(chains: readonly string[]): Promise<RuleCounter[]> {
    const out: RuleCounter[] = [];
    for (const chain of chains) {
      const doc = JSON.parse(await this.nft.run(['-j', 'list', 'chain', ...TABLE_REF.split(' '), chain])) as { nftables: Record<string, { comment?: string; expr?: Record<string, { packets: number; bytes: number }>[] }>[] };
      for (const item of doc.nftables) {
        const r = item['rule'];
        const c = r?.expr?.find((e) => e['counter'] !== undefined)?.['counter'];
        if (r !== undefined && c !== undefined) out.push({ chain, comment: r.comment ?? '', packets: c.packets, bytes: c.bytes });
      }
    }
    return out;
  }

  /** Removes the table (agent uninstall, tests). */
  async remove(): Promise<void> {
    if ((await this.listTable()) !== undefined) await this.nft.run(['delete', 'table', 'inet', TABLE]);
  }
}
