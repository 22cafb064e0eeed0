// The host's interfaces and their addresses, read from the kernel (`ip -j addr show`), for
// resolving address-only host endpoints onto interfaces (policy's resolveHostInterfaces). A
// watcher follows `ip monitor address link` and reads again on every change (debounced), so an
// address added, moved or removed re-resolves within a moment; the agent also reads on every
// periodic resync. Only reading: nothing here changes the kernel.

import { type ChildProcess, execFile, spawn } from 'node:child_process';

/** Interface name → its addresses (plain text, no prefix length), from `ip -j addr show`. */
export type HostInterfaces = ReadonlyMap<string, readonly string[]>;

export class HostInterfaceError extends Error {
  override readonly name = 'HostInterfaceError';
  readonly code = 'HostInterfacesUnreadable';
}

/** Parses `ip -j addr show` (pure). */
export function parseAddrJson(json: string): Map<string, string[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new HostInterfaceError(`ip -j addr show printed no JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new HostInterfaceError('ip -j addr show printed no list of interfaces');
  const out = new Map<string, string[]>();
  for (const link of doc as { ifname?: unknown; addr_info?: { local?: unknown }[] }[]) {
    if (typeof link.ifname !== 'string') continue;
    const addrs = (link.addr_info ?? []).map((a) => a.local).filter((a): a is string => typeof a === 'string');
    out.set(link.ifname, addrs.sort());
  }
  return out;
}

const ipArgs = (netns: string | undefined, args: readonly string[]): string[] => (netns === undefined ? [...args] : ['-n', netns, ...args]);

/** Reads the interfaces and addresses of this (or a named) network namespace. */
export function readHostInterfaces(netns?: string): Promise<Map<string, string[]>> {
  return new Promise((resolve, reject) => {
    execFile('ip', ipArgs(netns, ['-j', 'addr', 'show']), { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new HostInterfaceError(`ip -j addr show${netns === undefined ? '' : ` in ${netns}`} failed: ${(stderr || err.message).trim()}`, { cause: err }));
      else {
        try {
          resolve(parseAddrJson(stdout));
        } catch (e) {
          reject(e as Error);
        }
      }
    });
  });
}

/** Same interfaces and addresses? */
export function sameHostInterfaces(a: HostInterfaces | undefined, b: HostInterfaces): boolean {
  if (a === undefined || a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || w.length !== v.length || w.some((x, i) => x !== v[i])) return false;
  }
  return true;
}

export interface HostInterfaceWatcherOptions {
  readonly netns?: string;
  /** Called (serially) after each change `ip monitor` reports; the callback reads again. */
  readonly onChange: () => void;
  readonly onError?: (err: Error) => void;
  /** Debounce of monitor lines (default 100 ms). */
  readonly debounceMs?: number;
}

/**
 * Runs `ip monitor` so that it never outlives this process: a shell holds it and waits on its
 * stdin, our pipe; when we go (even SIGKILLed) the pipe closes and the shell ends the monitor
 * (it would otherwise linger, keeping a deleted network namespace alive until the next event).
 */
const MONITOR_SCRIPT = '"$@" & m=$!; cat >/dev/null; kill $m 2>/dev/null; wait $m 2>/dev/null; exit 0';

/** `ip monitor address link`: any line means "read again" (restarted after 5 s if it dies). */
export class HostInterfaceWatcher {
  private proc: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private restart: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: HostInterfaceWatcherOptions) {}

  start(): void {
    if (this.stopped || this.proc !== undefined) return;
    // Its own process group, so stop() ends the shell, the monitor and cat together.
    const p = spawn('sh', ['-c', MONITOR_SCRIPT, 'sh', 'ip', ...ipArgs(this.opts.netns, ['-o', 'monitor', 'address', 'link'])], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    this.proc = p;
    p.stdin!.on('error', () => undefined);
    p.stdout!.on('data', () => {
      if (this.timer !== undefined) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.stopped) this.opts.onChange();
      }, this.opts.debounceMs ?? 100);
    });
    const gone = (why: string): void => {
      if (this.proc !== p) return;
      this.proc = undefined;
      if (this.stopped) return;
      this.opts.onError?.(new HostInterfaceError(`ip monitor address link ${why}; starting it again in 5 s`));
      this.restart = setTimeout(() => {
        this.restart = undefined;
        this.start();
        this.opts.onChange();
      }, 5000);
      this.restart.unref();
    };
    p.on('error', (e) => gone(`could not run: ${e.message}`));
    p.on('exit', (code, signal) => gone(`ended (${signal ?? code})`));
  }

  /** Process group of the running monitor (tests check it ends with us). */
  get processGroup(): number | undefined {
    return this.proc?.pid;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.restart !== undefined) clearTimeout(this.restart);
    const p = this.proc;
    this.proc = undefined;
    if (p?.pid !== undefined) {
      p.stdin?.end();
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}
