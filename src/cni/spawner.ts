// The agent's side of tabby-spawn (src/cni/shim/spawn.c): one small helper process runs every
// command the CNI path needs, so the agent itself never forks (fork copies the page tables of
// the whole 60+ MB agent and blocks its JavaScript thread for milliseconds; the helper uses
// posix_spawn). Requests and answers are frames as in the shim protocol, matched by id.
//
// If the helper is missing the caller spawns directly. If it dies, commands in flight fail (the
// CNI request fails with code 102 and the runtime retries) and the next command starts a new
// helper.

import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../util/log.js';
import type { CommandResult } from './exec.js';
import { FrameReader, encodeFrames } from './protocol.js';

export class Spawner {
  private proc?: ChildProcess;
  private reader = new FrameReader();
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (r: CommandResult) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly helperPath: string,
    private readonly log: Logger,
  ) {}

  private helper(): ChildProcess {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return this.proc;
    const proc = spawn(this.helperPath, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.reader = new FrameReader();
    proc.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.on('error', (err) => this.fail(proc, err));
    proc.on('exit', (code, signal) => this.fail(proc, new Error(`tabby-spawn exited (${signal ?? `code ${code}`})`)));
    proc.stdin!.on('error', () => {});
    this.proc = proc;
    return proc;
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    const frames = this.reader.frames;
    while (frames.length >= 4) {
      const [id, status, stdout, stderr] = frames.splice(0, 4) as [Buffer, Buffer, Buffer, Buffer];
      const p = this.pending.get(id.toString());
      if (!p) continue;
      this.pending.delete(id.toString());
      p.resolve({ code: Number(status.toString()), stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
    }
  }

  private fail(proc: ChildProcess, err: Error): void {
    if (this.proc !== proc) return;
    delete this.proc;
    if (this.pending.size > 0) this.log.warn('tabby-spawn went away; failing the commands it was running', { error: err, commands: this.pending.size });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  run(argv: readonly string[], input?: string): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const id = String(this.nextId++);
      this.pending.set(id, { resolve, reject });
      this.helper().stdin!.write(encodeFrames([id, argv.map((a) => `${a}\0`).join(''), input ?? '']));
    });
  }

  /** Closes the helper's input; it exits once its commands are answered. */
  close(): void {
    this.proc?.stdin?.end();
  }
}
