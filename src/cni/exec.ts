// Running a short-lived command (ip, nsenter) with input on stdin and its output collected.
// The CNI path runs a few of these per request, so this stays minimal: no shell, explicit
// argument vectors, and an error that carries the command, exit status and stderr.
// By default the command is spawned from this process; the agent switches the whole process to
// its tabby-spawn helper (spawner.ts) with useCommandRunner, because forking a large Node
// process blocks its JavaScript thread for milliseconds.

import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly code = 'CommandFailed';
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
    readonly input?: string,
  ) {
    super(`\`${argv.join(' ')}\` exited with status ${result.code}: ${result.stderr.trim() || result.stdout.trim() || '(no output)'}`);
  }
}

export type CommandRunner = (argv: readonly string[], input?: string) => Promise<CommandResult>;

let runner: CommandRunner = spawnCommand;

/** Makes every later runCommand in this process go through `r` (the agent's tabby-spawn). */
export function useCommandRunner(r: CommandRunner): void {
  runner = r;
}

/** Runs argv[0] with the rest as arguments; resolves with whatever status it exits with. */
export function runCommand(argv: readonly string[], input?: string): Promise<CommandResult> {
  return runner(argv, input);
}

/** The plain way: spawn from this process. */
export function spawnCommand(argv: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {}); // the command may exit without reading all of its input
    child.stdin.end(input ?? '');
  });
}

/** Like runCommand, but a non-zero status is a CommandError. */
export async function mustRun(argv: readonly string[], input?: string): Promise<CommandResult> {
  const r = await runCommand(argv, input);
  if (r.code !== 0) throw new CommandError(argv, r, input);
  return r;
}
