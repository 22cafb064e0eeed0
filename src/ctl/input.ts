// Reading `-f FILE|DIR|-`: which texts a command works on, and where each came from.
//
// A directory means every *.yaml, *.yml and *.json file directly inside it, sorted by name (no
// recursion, like calicoctl and kubectl without -R). `-` is standard input, read once. Each text
// keeps its source name so that every later message can say "file x.yaml, document 2, line 14".
// An unreadable path is an InputError (exit code 1) naming the path and what was wrong.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code = 'Input';
}

export interface SourceText {
  /** File path as the user wrote it (joined with the directory for DIR), or "<stdin>". */
  readonly source: string;
  readonly text: string;
}

export const STDIN_SOURCE = '<stdin>';
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Read every `-f` argument in order; `readStdin` is called at most once. */
export function readSources(paths: readonly string[], readStdin: () => string): SourceText[] {
  if (paths.length === 0) throw new InputError('no input: give -f FILE, -f DIR or -f - (standard input)');
  const out: SourceText[] = [];
  let stdinUsed = false;
  for (const path of paths) {
    if (path === '-') {
      if (stdinUsed) throw new InputError('-f - (standard input) can be given only once');
      stdinUsed = true;
      out.push({ source: STDIN_SOURCE, text: readStdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      throw new InputError(`cannot read ${path}: ${systemReason(err)}`, { cause: err });
    }
    const files = isDir ? manifestFilesIn(path) : [path];
    for (const file of files) out.push({ source: file, text: readText(file) });
  }
  return out;
}

function manifestFilesIn(dir: string): string[] {
  const names = readdirSync(dir)
    .filter((n) => MANIFEST_FILE.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile());
  if (names.length === 0) throw new InputError(`directory ${dir} holds no .yaml, .yml or .json files`);
  return names;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${systemReason(err)}`, { cause: err });
  }
}

function systemReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}
